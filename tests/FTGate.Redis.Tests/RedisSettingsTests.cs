using FTGate.OAuth;
using FTGate.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FTGate.Redis.Tests;

public sealed class RedisSettingsTests(RedisFixture redis)
{
    [Fact]
    public async Task Connect_ToARedisWithoutAofAndWithEviction_WarnsNamingBothSettings()
    {
        redis.Require();
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using RedisServer own = await RedisServer.StartNewAsync(ct);
        await own.CommandAsync("CONFIG SET appendonly no", ct);
        await own.CommandAsync("CONFIG SET maxmemory-policy allkeys-lru", ct);
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs));
        services.AddFTGate().UseRedis(o =>
        {
            o.Configuration = own.Configuration;
            o.EncryptionKeyFile = redis.KeyFile;
        });
        await using ServiceProvider provider = services.BuildServiceProvider();
        ITokenStore store = provider.GetRequiredService<ITokenStore>();

        await store.SetAsync("k", "v"u8.ToArray(), null, ct);
        await store.GetAsync("k", ct);
        string warnings = await logs.WaitForAsync(l => l.Contains("maxmemory-policy", StringComparison.Ordinal), ct);

        Assert.Contains("appendonly is 'no'", warnings, StringComparison.Ordinal);
        Assert.Contains("maxmemory-policy is 'allkeys-lru'", warnings, StringComparison.Ordinal);
    }
}
