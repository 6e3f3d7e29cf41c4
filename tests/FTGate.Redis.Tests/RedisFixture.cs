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
        WriteKeyFile(KeyFile);
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

    /// <summary>Writes a new 32-byte key file, owner-only (the stores refuse a key file others can read).</summary>
    public static void WriteKeyFile(string path)
    {
        File.WriteAllBytes(path, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
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

/// <summary>Observes renewals of a key's expiry in Redis, through keyspace notifications (Redis signals each one).</summary>
public static class Renewals
{
    /// <summary>
    /// Waits until the key's expiry has been renewed (<c>PEXPIRE</c>) <paramref name="count"/> times; fails if the key expires
    /// first or after <paramref name="timeout"/>.
    /// </summary>
    public static async Task WaitAsync(RedisServer server, string key, int count, TimeSpan timeout, CancellationToken ct)
    {
        await using StackExchange.Redis.ConnectionMultiplexer raw = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(server.Configuration + ",allowAdmin=true");
        StackExchange.Redis.IDatabase db = raw.GetDatabase();

        // K: keyspace channel per key; g: generic commands (PEXPIRE publishes "expire"); x: "expired" when a key runs out.
        await db.ExecuteAsync("CONFIG", "SET", "notify-keyspace-events", "Kgx");
        int seen = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        StackExchange.Redis.ChannelMessageQueue events = await raw.GetSubscriber().SubscribeAsync(StackExchange.Redis.RedisChannel.Literal($"__keyspace@{db.Database}__:{key}"));
        events.OnMessage(message =>
        {
            if (message.Message == "expired")
            {
                done.TrySetException(new Xunit.Sdk.XunitException($"{key} expired after {Volatile.Read(ref seen)} renewals instead of being renewed"));
            }
            else if (message.Message == "expire" && Interlocked.Increment(ref seen) >= count)
            {
                done.TrySetResult();
            }
        });

        try
        {
            await done.Task.WaitAsync(timeout, ct);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{Volatile.Read(ref seen)} of {count} renewals of {key} within {timeout}");
        }
        finally
        {
            await events.UnsubscribeAsync();
        }
    }
}
