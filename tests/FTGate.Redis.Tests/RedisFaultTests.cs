using System.Text;
using FTGate.OAuth;
using FTGate.Tests.Infrastructure;

namespace FTGate.Redis.Tests;

public sealed class RedisFaultTests(RedisFixture redis)
{
    [Fact]
    public async Task Store_RedisDown_ThrowsRedisUnavailableNamingRedis_ThenWorksWhenItIsBack()
    {
        redis.Require();
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using RedisServer own = await RedisServer.StartNewAsync(ct);
        using var logs = new CapturingLoggerProvider();
        await using Node a = redis.NewNode(RedisFixture.NewPrefix(), own, logs: logs);
        string version = await a.Tokens.SetAsync("grant/p/ALICE", "v1"u8.ToArray(), null, ct);

        await own.KillAsync();
        var down = await Assert.ThrowsAsync<RedisUnavailableException>(() => a.Tokens.GetAsync("grant/p/ALICE", ct));
        await Assert.ThrowsAsync<RedisUnavailableException>(() => a.Uidls.MarkSeenAsync("alice", ["u1"], DateTimeOffset.UtcNow, ct));

        Assert.Equal(RedisErrorCodes.Unavailable, down.ErrorCode);
        Assert.Contains($"Redis at 127.0.0.1:{own.Port} is unavailable", down.Message, StringComparison.Ordinal);
        Assert.Contains("redis-server", down.Remedy, StringComparison.Ordinal);
        Assert.DoesNotContain("v1", down.Message, StringComparison.Ordinal);

        await own.StartAsync(ct);
        // The node's client reconnects on its own schedule and logs when it has (RedisConnectionRestored).
        await logs.WaitForAsync(l => l.Contains("is reachable again", StringComparison.Ordinal), ct);
        TokenStoreEntry? back = await a.Tokens.GetAsync("grant/p/ALICE", ct);
        Assert.Equal(version, back?.Version);
    }

    [Fact]
    public async Task Restart_AfterSigkill_WithTheAppendOnlyFile_LosesNoAcknowledgedWrite()
    {
        redis.Require();
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using RedisServer own = await RedisServer.StartNewAsync(ct);
        string prefix = RedisFixture.NewPrefix();
        await using Node a = redis.NewNode(prefix, own);
        var versions = new Dictionary<string, string>();
        for (int i = 0; i < 50; i++)
        {
            versions[$"grant/p/U{i}"] = await a.Tokens.SetAsync($"grant/p/U{i}", Encoding.ASCII.GetBytes($"rt-{i}"), null, ct);
        }

        await a.Uidls.MarkSeenAsync("alice", Enumerable.Range(0, 200).Select(i => $"uidl-{i}").ToList(), DateTimeOffset.UtcNow, ct);

        await own.KillAsync();
        await own.StartAsync(ct);

        // StartAsync returns once redis-server has loaded the append-only file and accepts connections.
        await using Node fresh = redis.NewNode(prefix, own);
        foreach ((string key, string version) in versions)
        {
            TokenStoreEntry? entry = await fresh.Tokens.GetAsync(key, ct);
            Assert.Equal(version, entry?.Version);
        }

        Assert.Equal(200, (await fresh.Uidls.GetSeenAsync("alice", ct)).Count);
    }

    [Fact]
    public void NewNode_WithoutAKey_FailsAtStartNamingTheSettingAndTheFix()
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        services.AddFTGate().AddSmartPop().UseRedis(o => o.Configuration = "127.0.0.1:1");
        using Microsoft.Extensions.DependencyInjection.ServiceProvider provider = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services);

        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(provider.ValidateFTGateConfiguration);

        Assert.Contains("FTGate:Redis:EncryptionKeyFile (or EncryptionKey) is required", ex.Message, StringComparison.Ordinal);
        Assert.Contains("openssl rand 32", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Store_KeyFileReadableByOthers_IsRefusedWithTheChmodThatFixesIt()
    {
        redis.Require();
        if (OperatingSystem.IsWindows())
        {
            return; // Unix permissions only
        }

        string keyFile = Path.Combine(Infra.NewTempDirectory("ftg-rkey3"), "open.key");
        RedisFixture.WriteKeyFile(keyFile);
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await using Node a = redis.NewNode(RedisFixture.NewPrefix(), keyFile: keyFile);

        var ex = await Assert.ThrowsAsync<FTGateConfigurationException>(() => a.Tokens.SetAsync("k", "v"u8.ToArray(), null, TestContext.Current.CancellationToken));

        Assert.Contains("can be read or written by other users", ex.Message, StringComparison.Ordinal);
        Assert.Equal($"Run: chmod 600 '{keyFile}' (owned by the service account), then start again.", ex.Remedy);
    }
}
