using System.Text;
using FTGate.OAuth;
using FTGate.Tests.Infrastructure;
using StackExchange.Redis;

namespace FTGate.Redis.Tests;

public sealed class RedisTokenStoreTests(RedisFixture redis)
{
    private static readonly byte[] s_secret = Encoding.UTF8.GetBytes("{\"refresh_token\":\"rt-very-secret-0123456789\"}");

    [Fact]
    public async Task SetAsync_ThenGetFromAnotherNode_ReturnsTheValueAndVersion_AndRedisHoldsNoPlainText()
    {
        redis.Require();
        string prefix = RedisFixture.NewPrefix();
        await using Node a = redis.NewNode(prefix);
        await using Node b = redis.NewNode(prefix);
        CancellationToken ct = TestContext.Current.CancellationToken;

        string version = await a.Tokens.SetAsync("grant/p/ALICE", s_secret, null, ct);
        TokenStoreEntry? read = await b.Tokens.GetAsync("grant/p/ALICE", ct);

        Assert.NotNull(read);
        Assert.Equal(version, read.Version);
        Assert.Equal(s_secret, read.Value.ToArray());
        await using ConnectionMultiplexer raw = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration);
        byte[] stored = (byte[])(await raw.GetDatabase().StringGetAsync(prefix + "token:{grant/p/ALICE}"))!;
        Assert.StartsWith("FTGT1\n", Encoding.ASCII.GetString(stored, 0, 6), StringComparison.Ordinal);
        Assert.DoesNotContain("rt-very-secret", Encoding.Latin1.GetString(stored), StringComparison.Ordinal);
        Assert.Null(await a.Tokens.GetAsync("grant/p/NOBODY", ct));
    }

    /// <summary>
    /// The file store's golden "FTGT1" envelope (FileTokenStoreTests: AES-256-GCM written with Python's cryptography package,
    /// key 00..1f): the Redis store reads the same bytes, so entries written before the envelope became one shared type still
    /// decrypt, and the two stores keep one format.
    /// </summary>
    [Fact]
    public async Task GetAsync_GoldenEnvelope_DecryptsToItsValueAndVersion()
    {
        redis.Require();
        const string Golden = "RlRHVDEKAnYxZGVmZ2hpamtsbW5vn2i1b9QmAYxQFIKdgQZP3DM5rAMfmzPtVj0rh7EABN944HR+pgucHsO0wmqG";
        string keyFile = Path.Combine(Infra.NewTempDirectory("ftg-rkey-golden"), "golden.key");
        await File.WriteAllBytesAsync(keyFile, Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), TestContext.Current.CancellationToken);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        string prefix = RedisFixture.NewPrefix();
        await using Node a = redis.NewNode(prefix, keyFile: keyFile);
        await using (ConnectionMultiplexer raw = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration))
        {
            await raw.GetDatabase().StringSetAsync(prefix + "token:{grant/p/ALICE}", Convert.FromBase64String(Golden));
        }

        TokenStoreEntry? entry = await a.Tokens.GetAsync("grant/p/ALICE", TestContext.Current.CancellationToken);

        Assert.NotNull(entry);
        Assert.Equal("v1", entry.Version);
        Assert.Equal("{\"refresh_token\":\"rt-golden\"}", Encoding.UTF8.GetString(entry.Value.Span));
        await using Node otherKey = redis.NewNode(prefix);
        await Assert.ThrowsAsync<TokenStoreCorruptedException>(() => otherKey.Tokens.GetAsync("grant/p/ALICE", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task SetAsync_WithStaleVersion_ThrowsConcurrencyAndKeepsTheNewerValue()
    {
        redis.Require();
        string prefix = RedisFixture.NewPrefix();
        await using Node a = redis.NewNode(prefix);
        await using Node b = redis.NewNode(prefix);
        CancellationToken ct = TestContext.Current.CancellationToken;
        string v1 = await a.Tokens.SetAsync("k", "one"u8.ToArray(), null, ct);
        string v2 = await b.Tokens.SetAsync("k", "rotated"u8.ToArray(), v1, ct);

        var stale = await Assert.ThrowsAsync<TokenStoreConcurrencyException>(() => a.Tokens.SetAsync("k", "stale"u8.ToArray(), v1, ct));
        var create = await Assert.ThrowsAsync<TokenStoreConcurrencyException>(() => a.Tokens.SetAsync("k", "again"u8.ToArray(), null, ct));

        Assert.Equal(v2, stale.ActualVersion);
        Assert.Equal(v2, create.ActualVersion);
        Assert.Equal("rotated"u8.ToArray(), (await a.Tokens.GetAsync("k", ct))!.Value.ToArray());
    }

    [Fact]
    public async Task RemoveAsync_ChecksTheVersion()
    {
        redis.Require();
        await using Node a = redis.NewNode(RedisFixture.NewPrefix());
        CancellationToken ct = TestContext.Current.CancellationToken;
        string v1 = await a.Tokens.SetAsync("k", "one"u8.ToArray(), null, ct);

        await Assert.ThrowsAsync<TokenStoreConcurrencyException>(() => a.Tokens.RemoveAsync("k", "not-the-version", ct));
        Assert.True(await a.Tokens.RemoveAsync("k", v1, ct));
        Assert.False(await a.Tokens.RemoveAsync("k", null, ct));
        Assert.Null(await a.Tokens.GetAsync("k", ct));
    }

    [Fact]
    public async Task UpdateAsync_FromThreeNodesAtOnce_LosesNoUpdate()
    {
        redis.Require();
        string prefix = RedisFixture.NewPrefix();
        Node[] nodes = [redis.NewNode(prefix), redis.NewNode(prefix), redis.NewNode(prefix)];
        CancellationToken ct = TestContext.Current.CancellationToken;
        try
        {
            // Each update increments a counter: a lost update (a stale write accepted) would leave it short.
            await Task.WhenAll(Enumerable.Range(0, 60).Select(i => Task.Run(
                () => nodes[i % 3].Tokens.UpdateAsync("counter", e => Encoding.ASCII.GetBytes(((e is null ? 0 : int.Parse(Encoding.ASCII.GetString(e.Value.Span), System.Globalization.CultureInfo.InvariantCulture)) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)), maxAttempts: 1000, cancellationToken: ct),
                ct)));

            Assert.Equal("60", Encoding.ASCII.GetString((await nodes[0].Tokens.GetAsync("counter", ct))!.Value.Span));
        }
        finally
        {
            foreach (Node node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task GetAsync_UnderAnotherKey_ReportsCorruptedNamingTheKey()
    {
        redis.Require();
        string prefix = RedisFixture.NewPrefix();
        await using Node a = redis.NewNode(prefix);
        string otherKeyFile = Path.Combine(Infra.NewTempDirectory("ftg-rkey2"), "other.key");
        RedisFixture.WriteKeyFile(otherKeyFile);
        await using Node wrongKey = redis.NewNode(prefix, keyFile: otherKeyFile);
        CancellationToken ct = TestContext.Current.CancellationToken;
        await a.Tokens.SetAsync("grant/p/BOB", s_secret, null, ct);

        var ex = await Assert.ThrowsAsync<TokenStoreCorruptedException>(() => wrongKey.Tokens.GetAsync("grant/p/BOB", ct));

        Assert.Contains("same FTGate:Redis encryption key", ex.Message, StringComparison.Ordinal);
        Assert.Contains(prefix + "token:{grant/p/BOB}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetAsync_PendingAuthorization_ExpiresInRedisAfterTheRetention()
    {
        redis.Require();
        string prefix = RedisFixture.NewPrefix();
        await using Node a = redis.NewNode(prefix);
        CancellationToken ct = TestContext.Current.CancellationToken;
        await a.Tokens.SetAsync("pending/p/state123", "{}"u8.ToArray(), null, ct);
        await a.Tokens.SetAsync("grant/p/CAROL", "{}"u8.ToArray(), null, ct);

        await using ConnectionMultiplexer raw = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration);
        TimeSpan? pendingTtl = await raw.GetDatabase().KeyTimeToLiveAsync(prefix + "token:{pending/p/state123}");
        TimeSpan? grantTtl = await raw.GetDatabase().KeyTimeToLiveAsync(prefix + "token:{grant/p/CAROL}");

        Assert.InRange(pendingTtl!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
        Assert.Null(grantTtl);
    }
}
