using FTGate.OAuth;
using FTGate.SmartPop;
using FTGate.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using System.Threading.Channels;

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
    /// <param name="time">The node's clock (default: the system's); a <see cref="StepClock"/> lets a test drive renewals.</param>
    /// <param name="logs">Receives the node's logs (a <see cref="CapturingLoggerProvider"/> turns a log line into a signal).</param>
    public Node NewNode(string prefix, RedisServer? server = null, TimeSpan? leaseTime = null, TimeSpan? lockTime = null, string? keyFile = null, string? name = null, TimeProvider? time = null, ILoggerProvider? logs = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["FTGate:Redis:Configuration"] = (server ?? Server).Configuration + ",connectTimeout=5000,syncTimeout=5000,asyncTimeout=5000",
            ["FTGate:Redis:KeyPrefix"] = prefix,
            ["FTGate:Redis:EncryptionKeyFile"] = keyFile ?? KeyFile,
            ["FTGate:Redis:LeaseTime"] = (leaseTime ?? TimeSpan.FromSeconds(30)).ToString("c"),
            ["FTGate:Redis:GrantLockTime"] = (lockTime ?? TimeSpan.FromSeconds(30)).ToString("c"),
            ["FTGate:Redis:NodeName"] = name ?? "node-" + Guid.NewGuid().ToString("N")[..6],
        };
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        if (logs is not null)
        {
            services.AddLogging(b => b.AddProvider(logs));
        }

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

/// <summary>
/// A node's clock the test moves by hand (a <see cref="FakeTimeProvider"/>) and that reports every timer the node creates, so
/// the test advances time only once the node waits on it (no advance is lost to a timer created a moment later).
/// </summary>
public sealed class StepClock : TimeProvider
{
    private readonly FakeTimeProvider _fake = new();
    private readonly Channel<TimeSpan> _timers = Channel.CreateUnbounded<TimeSpan>();

    public override long TimestampFrequency => _fake.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => _fake.LocalTimeZone;

    public override DateTimeOffset GetUtcNow() => _fake.GetUtcNow();

    public override long GetTimestamp() => _fake.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ITimer timer = _fake.CreateTimer(callback, state, dueTime, period);
        _timers.Writer.TryWrite(dueTime);
        return timer;
    }

    public void Advance(TimeSpan by) => _fake.Advance(by);

    /// <summary>Waits until the node creates a timer due after <paramref name="dueTime"/> (its renewal's wait).</summary>
    public async Task WaitForTimerAsync(TimeSpan dueTime, CancellationToken ct)
    {
        // Upper bound only for a real failure (the node stopped renewing); under load the timer comes within milliseconds to seconds.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            while (await _timers.Reader.ReadAsync(timeout.Token) != dueTime)
            {
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Assert.Fail($"the node created no {dueTime} timer within 60 s");
        }
    }
}

/// <summary>Keeps a node's log lines; a test waits for a line (a signal: the wait ends when the line is logged).</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource Done)> _waiters = [];

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public async Task<string> WaitForAsync(Func<string, bool> match, CancellationToken ct)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lines)
        {
            if (_lines.Any(match))
            {
                return string.Join("\n", _lines);
            }

            _waiters.Add((match, done));
        }

        await done.Task.WaitAsync(TimeSpan.FromSeconds(60), ct); // upper bound only for a real failure
        lock (_lines)
        {
            return string.Join("\n", _lines);
        }
    }

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        lock (_lines)
        {
            _lines.Add(line);
            foreach ((Func<string, bool> match, TaskCompletionSource done) in _waiters.Where(w => w.Match(line)))
            {
                done.TrySetResult();
            }
        }
    }

    private sealed class Logger(CapturingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add($"{logLevel} {eventId.Id} {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
    }
}

/// <summary>Moves a key's life on in Redis: its time to live shrinks as if <c>by</c> had passed on the server.</summary>
public static class ServerTime
{
    private const string AgeScript =
        "local t = redis.call('PTTL', KEYS[1]) if t < 0 then return t end local left = t - tonumber(ARGV[1]) "
        + "if left <= 0 then redis.call('DEL', KEYS[1]) return 0 end redis.call('PEXPIRE', KEYS[1], left) return left";

    /// <summary>Ages the key; returns its remaining time to live (0 when it has run out and is gone, negative when it was not there).</summary>
    public static async Task<long> AgeAsync(RedisServer server, string key, TimeSpan by)
    {
        await using StackExchange.Redis.ConnectionMultiplexer raw = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(server.Configuration);
        return (long)await raw.GetDatabase().ScriptEvaluateAsync(AgeScript, [key], [(long)by.TotalMilliseconds]);
    }

    /// <summary>The key's remaining time to live in Redis, in milliseconds (negative when it has none or is gone).</summary>
    public static async Task<long> TimeToLiveAsync(RedisServer server, string key)
    {
        await using StackExchange.Redis.ConnectionMultiplexer raw = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(server.Configuration);
        return (long)await raw.GetDatabase().ExecuteAsync("PTTL", key);
    }
}
