using FTGate.OAuth;
using FTGate.SmartPop;
using FTGate.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

[assembly: AssemblyFixture(typeof(FTGate.Redis.Tests.RedisFixture))]

namespace FTGate.Redis.Tests;

/// <summary>One real redis-server for the assembly; tests isolate themselves by key prefix. Tests that crash Redis start their own.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private RedisServer? _server;

    public string? UnavailableReason { get; private set; }

    public RedisServer Server => _server ?? throw new InvalidOperationException(UnavailableReason);

    /// <summary>A 32-byte key file shared by every "node" of the tests.</summary>
    public string KeyFile { get; } = Path.Combine(Infra.NewTempDirectory("ftg-rkey"), "farm.key");

    public void Require() => Infra.Require(UnavailableReason);

    public async ValueTask InitializeAsync()
    {
        File.WriteAllBytes(KeyFile, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        UnavailableReason = RedisServer.UnavailableReason();
        if (UnavailableReason is null)
        {
            _server = await RedisServer.StartNewAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>A unique key prefix per test.</summary>
    public static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..10] + ":";

    /// <summary>One farm node: its own container and its own Redis connection, wired by UseRedis from configuration.</summary>
    public Node NewNode(string prefix, RedisServer? server = null, TimeSpan? leaseTime = null, TimeSpan? lockTime = null, string? keyFile = null, string? name = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["FTGate:Redis:Configuration"] = (server ?? Server).Configuration + ",connectTimeout=2000,syncTimeout=2000,asyncTimeout=2000",
            ["FTGate:Redis:KeyPrefix"] = prefix,
            ["FTGate:Redis:EncryptionKeyFile"] = keyFile ?? KeyFile,
            ["FTGate:Redis:LeaseTime"] = (leaseTime ?? TimeSpan.FromSeconds(30)).ToString("c"),
            ["FTGate:Redis:GrantLockTime"] = (lockTime ?? TimeSpan.FromSeconds(30)).ToString("c"),
            ["FTGate:Redis:NodeName"] = name ?? "node-" + Guid.NewGuid().ToString("N")[..6],
        };
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddFTGate(configuration.GetSection("FTGate")).AddSmartPop().UseRedis();
        ServiceProvider provider = services.BuildServiceProvider();
        provider.ValidateFTGateConfiguration();
        return new Node(provider);
    }
}

/// <summary>A farm node's view of the shared stores.</summary>
public sealed class Node(ServiceProvider services) : IAsyncDisposable
{
    public ServiceProvider Services { get; } = services;

    public ITokenStore Tokens => Services.GetRequiredService<ITokenStore>();

    public IGrantLock GrantLock => Services.GetRequiredService<IGrantLock>();

    public IUidlStore Uidls => Services.GetRequiredService<IUidlStore>();

    public IAccountLeases Leases => Services.GetRequiredService<IAccountLeases>();

    public RedisOptions Options => Services.GetRequiredService<IOptions<RedisOptions>>().Value;

    public ValueTask DisposeAsync() => Services.DisposeAsync();
}

/// <summary>Observes renewals of a key's expiry in Redis (its remaining time jumps back up).</summary>
public static class Renewals
{
    /// <summary>Waits until the key's TTL has been pushed back up <paramref name="count"/> times (or fails after <paramref name="timeout"/>).</summary>
    public static async Task WaitAsync(RedisServer server, string key, int count, TimeSpan timeout, CancellationToken ct)
    {
        await using StackExchange.Redis.ConnectionMultiplexer raw = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(server.Configuration);
        StackExchange.Redis.IDatabase db = raw.GetDatabase();
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        long last = long.MaxValue;
        int seen = 0;
        while (seen < count)
        {
            Assert.True(deadline.Elapsed < timeout, $"{seen} of {count} renewals of {key} within {timeout}");
            long ttl = (long)await db.ExecuteAsync("PTTL", key);
            Assert.True(ttl > 0, $"{key} expired (PTTL {ttl}) instead of being renewed");
            if (ttl > last)
            {
                seen++;
            }

            last = ttl;
            await Task.Delay(20, ct); // sampling Redis: the renewal itself gives no signal outside the node
        }
    }
}
