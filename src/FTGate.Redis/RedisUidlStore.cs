using System.Globalization;
using FTGate.Redis.Internal;
using FTGate.SmartPop;
using StackExchange.Redis;

namespace FTGate.Redis;

/// <summary>
/// An <see cref="IUidlStore"/> on Redis: one hash per account (UIDL → first-seen time in Unix milliseconds). Marking is
/// <c>HSETNX</c> (the first-seen time is kept), a batch is one script, and — while this node holds the account's lease from
/// <see cref="RedisAccountLeases"/> — the script first checks that the lease in Redis is still this node's, so a node that
/// lost its lease cannot record messages (fencing).
/// </summary>
/// <remarks>
/// A write is durable when Redis has it in its append-only file: run Redis with <c>appendonly yes</c> and
/// <c>appendfsync always</c> (see docs/farm.md). UIDLs are stored as the server sent them (any bytes are safe in a hash field).
/// </remarks>
public sealed class RedisUidlStore : IUidlStore
{
    // KEYS[1] hash, KEYS[2] lease key or the hash again; ARGV[1] lease value ('' = no check), ARGV[2] time, ARGV[3..] UIDLs.
    private const string MarkScript =
        "if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end " +
        "local n = 0 for i = 3, #ARGV do n = n + redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[2]) end return n";

    // KEYS as above; ARGV[1] lease value, ARGV[2..] fields to delete.
    private const string PruneScript =
        "if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end " +
        "local n = 0 for i = 2, #ARGV do n = n + redis.call('HDEL', KEYS[1], ARGV[i]) end return n";

    private readonly RedisConnection _redis;
    private readonly RedisAccountLeases? _leases;

    internal RedisUidlStore(RedisConnection redis, RedisAccountLeases? leases)
    {
        _redis = redis;
        _leases = leases;
    }

    /// <inheritdoc />
    /// <exception cref="RedisUnavailableException">Redis cannot be reached or is not ready.</exception>
    public async Task<IReadOnlyDictionary<string, DateTimeOffset>> GetSeenAsync(string accountName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        RedisKey key = _redis.UidlKey(accountName);
        HashEntry[] entries = await _redis.RunAsync("reading seen UIDLs", db => db.HashGetAllAsync(key), cancellationToken).ConfigureAwait(false);
        var seen = new Dictionary<string, DateTimeOffset>(entries.Length, StringComparer.Ordinal);
        foreach (HashEntry entry in entries)
        {
            long ms = long.TryParse((string?)entry.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long parsed) ? parsed : 0;
            seen[(string)entry.Name!] = DateTimeOffset.FromUnixTimeMilliseconds(ms); // a hash field name is never null
        }

        return seen;
    }

    /// <inheritdoc />
    /// <exception cref="RedisUnavailableException">Redis cannot be reached or is not ready; nothing was recorded.</exception>
    /// <exception cref="RedisLeaseLostException">This node lost the account's lease; nothing was recorded.</exception>
    public Task MarkSeenAsync(string accountName, string uidl, DateTimeOffset firstSeen, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(uidl);
        return MarkSeenAsync(accountName, [uidl], firstSeen, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="RedisUnavailableException">Redis cannot be reached or is not ready; nothing was recorded.</exception>
    /// <exception cref="RedisLeaseLostException">This node lost the account's lease; nothing was recorded.</exception>
    public async Task MarkSeenAsync(string accountName, IReadOnlyCollection<string> uidls, DateTimeOffset firstSeen, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        ArgumentNullException.ThrowIfNull(uidls);
        if (uidls.Count == 0)
        {
            return;
        }

        (RedisKey hash, RedisKey leaseKey, string leaseValue) = Keys(accountName);
        var args = new RedisValue[uidls.Count + 2];
        args[0] = leaseValue;
        args[1] = firstSeen.ToUnixTimeMilliseconds();
        int i = 2;
        foreach (string uidl in uidls)
        {
            args[i++] = uidl;
        }

        long result = (long)await _redis.RunAsync("recording seen UIDLs", db => db.ScriptEvaluateAsync(MarkScript, [hash, leaseKey], args), cancellationToken).ConfigureAwait(false);
        if (result < 0)
        {
            throw new RedisLeaseLostException(accountName);
        }
    }

    /// <inheritdoc />
    /// <exception cref="RedisUnavailableException">Redis cannot be reached or is not ready; nothing was forgotten.</exception>
    /// <exception cref="RedisLeaseLostException">This node lost the account's lease; nothing was forgotten.</exception>
    public async Task<int> PruneAsync(string accountName, IReadOnlyCollection<string> onServer, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        ArgumentNullException.ThrowIfNull(onServer);
        (RedisKey hash, RedisKey leaseKey, string leaseValue) = Keys(accountName);
        RedisValue[] fields = await _redis.RunAsync("reading seen UIDLs", db => db.HashKeysAsync(hash), cancellationToken).ConfigureAwait(false);
        var server = onServer as IReadOnlySet<string> ?? new HashSet<string>(onServer, StringComparer.Ordinal);
        var args = new List<RedisValue>(fields.Length + 1) { leaseValue };
        foreach (RedisValue field in fields)
        {
            if (!server.Contains((string)field!)) // a hash field name is never null
            {
                args.Add(field);
            }
        }

        if (args.Count == 1)
        {
            return 0;
        }

        long result = (long)await _redis.RunAsync("forgetting seen UIDLs", db => db.ScriptEvaluateAsync(PruneScript, [hash, leaseKey], [.. args]), cancellationToken).ConfigureAwait(false);
        return result < 0 ? throw new RedisLeaseLostException(accountName) : (int)result;
    }

    private (RedisKey Hash, RedisKey LeaseKey, string LeaseValue) Keys(string accountName)
    {
        RedisKey hash = _redis.UidlKey(accountName);
        return _leases is not null && _leases.Held.TryGetValue(accountName, out RedisAccountLeases.Lease? lease)
            ? (hash, lease.Key, lease.Value)
            : (hash, hash, "");
    }
}
