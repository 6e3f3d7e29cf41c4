using FTGate.OAuth;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FTGate.Redis.Internal;

/// <summary>
/// The one Redis connection of a process (a StackExchange.Redis multiplexer, connected on first use and reconnecting on its
/// own), the key layout, and the translation of the client's failures into <see cref="RedisUnavailableException"/>.
/// </summary>
internal sealed class RedisConnection : IAsyncDisposable, IDisposable
{
    private readonly ConfigurationOptions _configuration;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private ConnectionMultiplexer? _multiplexer;
    private int _settingsChecked;

    public RedisConnection(IOptions<RedisOptions> options, ILogger<RedisConnection>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Value;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        try
        {
            _configuration = ConfigurationOptions.Parse(Options.Configuration ?? throw new FTGateConfigurationException(
                "FTGate:Redis:Configuration is required.",
                "Set it to a StackExchange.Redis configuration string such as '127.0.0.1:6379'."));
        }
        catch (ArgumentException ex)
        {
            throw new FTGateConfigurationException(
                $"FTGate:Redis:Configuration is not a valid StackExchange.Redis configuration string: {ex.Message}",
                "Use 'host:port[,host:port…][,password=…][,ssl=true][,serviceName=…]'.",
                ex);
        }

        // Keep trying in the background instead of failing the first command for good; the caller sees a transient error.
        _configuration.AbortOnConnectFail = false;
        _configuration.ClientName ??= "ftgate-" + Options.NodeName.Replace(' ', '_');
        Endpoints = string.Join(",", _configuration.EndPoints.Select(e => e.ToString()));
        Prefix = Options.KeyPrefix;
        AesKey = new Lazy<byte[]>(() => TokenEnvelope.LoadKey(Options), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public RedisOptions Options { get; }

    /// <summary>The configured endpoints (never the password), for messages.</summary>
    public string Endpoints { get; }

    public string Prefix { get; }

    public Lazy<byte[]> AesKey { get; }

    /// <summary>The connected multiplexer (for tests and the subscriber).</summary>
    public async ValueTask<ConnectionMultiplexer> GetMultiplexerAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _multiplexer) is { } ready)
        {
            return ready;
        }

        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_multiplexer is { } raced)
            {
                return raced;
            }

            ConnectionMultiplexer multiplexer;
            try
            {
                multiplexer = await ConnectionMultiplexer.ConnectAsync(_configuration).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsUnavailable(ex))
            {
                throw Unavailable("connecting", ex);
            }

            multiplexer.ConnectionFailed += (_, e) =>
            {
                if (e.ConnectionType == ConnectionType.Interactive)
                {
                    Log.ConnectionFailed(_logger, Endpoints, e.FailureType.ToString());
                }
            };
            multiplexer.ConnectionRestored += (_, e) =>
            {
                if (e.ConnectionType == ConnectionType.Interactive)
                {
                    Log.ConnectionRestored(_logger, Endpoints);
                    Volatile.Write(ref _settingsChecked, 0);
                }
            };
            Volatile.Write(ref _multiplexer, multiplexer);
            return multiplexer;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    public async ValueTask<IDatabase> GetDatabaseAsync(CancellationToken cancellationToken)
    {
        ConnectionMultiplexer multiplexer = await GetMultiplexerAsync(cancellationToken).ConfigureAwait(false);
        IDatabase database = multiplexer.GetDatabase();
        if (Volatile.Read(ref _settingsChecked) == 0 && multiplexer.IsConnected && Interlocked.Exchange(ref _settingsChecked, 1) == 0)
        {
            _ = CheckSettingsAsync(database);
        }

        return database;
    }

    /// <summary>Runs one Redis operation; the client's connection failures become <see cref="RedisUnavailableException"/>.</summary>
    public async Task<T> RunAsync<T>(string what, Func<IDatabase, Task<T>> operation, CancellationToken cancellationToken)
    {
        IDatabase database = await GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await operation(database).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw Unavailable(what, ex);
        }
    }

    public RedisUnavailableException Unavailable(string what, Exception ex)
    {
        string reason = ex switch
        {
            RedisConnectionException c => "connection " + c.FailureType,
            RedisTimeoutException => "timed out",
            RedisServerException s => "server replied " + s.Message.Split(' ', 2)[0],
            _ => ex.GetType().Name,
        };
        return new RedisUnavailableException($"Redis at {Endpoints} is unavailable ({reason}) while {what}.", ex);
    }

    public static bool IsUnavailable(Exception ex) => ex switch
    {
        RedisConnectionException or RedisTimeoutException => true,
        // Not ready or not writable right now: loading the AOF after a restart, a busy script, a replica or a failover.
        RedisServerException s => s.Message.StartsWith("LOADING", StringComparison.Ordinal)
            || s.Message.StartsWith("BUSY", StringComparison.Ordinal)
            || s.Message.StartsWith("MASTERDOWN", StringComparison.Ordinal)
            || s.Message.StartsWith("READONLY", StringComparison.Ordinal)
            || s.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal)
            || s.Message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal)
            || s.Message.StartsWith("MISCONF", StringComparison.Ordinal)
            || s.Message.StartsWith("OOM", StringComparison.Ordinal),
        _ => false,
    };

    // Keys: one hash tag per account or grant, so the keys a script touches together live in one cluster slot.
    public RedisKey TokenKey(string key) => Prefix + "token:{" + key + "}";

    public RedisKey GrantLockKey(string key) => Prefix + "grantlock:{" + key + "}";

    public RedisKey GrantFenceKey(string key) => Prefix + "grantfence:{" + key + "}";

    public RedisChannel GrantReleasedChannel => RedisChannel.Literal(Prefix + "grantlock-released");

    public RedisKey LeaseKey(string account) => Prefix + "lease:{" + account + "}";

    public RedisKey LeaseFenceKey(string account) => Prefix + "leasefence:{" + account + "}";

    public RedisKey UidlKey(string account) => Prefix + "uidl:{" + account + "}";

    private async Task CheckSettingsAsync(IDatabase database)
    {
        try
        {
            // INFO through a script: the client library allows the INFO command itself only on admin connections.
            string persistence = (string?)await database.ScriptEvaluateAsync("return redis.call('INFO', ARGV[1])", values: ["persistence"]).ConfigureAwait(false) ?? "";
            string memory = (string?)await database.ScriptEvaluateAsync("return redis.call('INFO', ARGV[1])", values: ["memory"]).ConfigureAwait(false) ?? "";
            if (Field(persistence, "aof_enabled") is "0")
            {
                Log.SettingUnsafe(_logger, Endpoints, "appendonly", "no", "a Redis restart loses rotated refresh tokens (the grant is then dead) and seen UIDLs (messages collected again).", "'appendonly yes' and 'appendfsync always'");
            }

            if (Field(memory, "maxmemory_policy") is { } policy && policy != "noeviction")
            {
                Log.SettingUnsafe(_logger, Endpoints, "maxmemory-policy", policy, "Redis may evict grants, seen UIDLs or leases under memory pressure.", "'maxmemory-policy noeviction'");
            }
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException or RedisCommandException)
        {
            // INFO may be renamed or forbidden on managed Redis, or no primary is connected yet; the check is advice only.
            Volatile.Write(ref _settingsChecked, 1);
        }
    }

    private static string? Field(string info, string name)
    {
        foreach (string line in info.Split('\n'))
        {
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
            {
                return line[(name.Length + 1)..].Trim();
            }
        }

        return null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_multiplexer is { } multiplexer)
        {
            await multiplexer.CloseAsync().ConfigureAwait(false);
            await multiplexer.DisposeAsync().ConfigureAwait(false);
        }

        _connectLock.Dispose();
    }

    public void Dispose()
    {
        _multiplexer?.Dispose();
        _connectLock.Dispose();
    }
}
