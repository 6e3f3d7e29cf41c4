using System.Collections.Concurrent;
using FTGate.Redis.Internal;
using FTGate.SmartPop;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace FTGate.Redis;

/// <summary>
/// The farm's <see cref="IAccountLeases"/>: at most one node collects an account at a time. A lease is a Redis key set with
/// <c>SET NX PX</c> (<see cref="RedisOptions.LeaseTime"/>, default 30 s) holding this node's name and a random value, plus a
/// fencing number from a counter that grows with every hand-over. While held it is renewed every third of the lease time.
/// </summary>
/// <remarks>
/// <para><see cref="IAccountLease.Lost"/> is cancelled when a renewal finds the lease taken over, or when renewals have failed
/// (Redis unreachable, a long pause) for so long that the lease might expire in Redis: the node stops collecting one fifth of
/// the lease time <em>before</em> another node can take over.</para>
/// <para>Fencing: while this node holds an account's lease, <see cref="RedisUidlStore"/> writes that account's seen UIDLs only
/// if the lease in Redis is still this node's, in the same script; a node that lost its lease cannot record (and so never
/// deletes) messages.</para>
/// </remarks>
public sealed class RedisAccountLeases : IAccountLeases
{
    private const string AcquireScript =
        "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return redis.call('INCR', KEYS[2]) end return 0";

    private const string RenewScript =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

    private const string ReleaseScript =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

    private readonly RedisConnection _redis;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    internal RedisAccountLeases(RedisConnection redis, TimeProvider time, ILogger<RedisAccountLeases>? logger)
    {
        _redis = redis;
        _time = time;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The leases this process holds now, by account (the UIDL store's fencing reads them).</summary>
    internal ConcurrentDictionary<string, Lease> Held { get; } = new(StringComparer.Ordinal);

    /// <inheritdoc />
    /// <exception cref="RedisUnavailableException">Redis cannot be reached or is not ready.</exception>
    public async Task<IAccountLease?> TryAcquireAsync(string accountName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        string value = _redis.Options.NodeName + "/" + Guid.NewGuid().ToString("N");
        long ttl = (long)_redis.Options.LeaseTime.TotalMilliseconds;
        long started = _time.GetTimestamp();
        RedisKey leaseKey = _redis.LeaseKey(accountName);
        long fence = (long)await _redis.RunAsync(
            "taking an account's poll lease",
            db => db.ScriptEvaluateAsync(AcquireScript, [leaseKey, _redis.LeaseFenceKey(accountName)], [value, ttl]),
            cancellationToken).ConfigureAwait(false);
        if (fence <= 0)
        {
            return null;
        }

        var lease = new Lease(this, accountName, leaseKey, value, fence, started);
        Held[accountName] = lease;
        Log.LeaseAcquired(_logger, accountName, _redis.Options.NodeName, fence);
        return lease;
    }

    /// <summary>A held lease.</summary>
    internal sealed class Lease : IAccountLease
    {
        private readonly RedisAccountLeases _owner;
        private readonly CancellationTokenSource _lost;
        private readonly CancellationTokenSource _stop = new();
        private readonly TimeSpan _localValidity;
        private readonly Task _renewal;
        private string? _lostReason;
        private int _disposed;

        public Lease(RedisAccountLeases owner, string accountName, RedisKey key, string value, long fence, long validFrom)
        {
            _owner = owner;
            AccountName = accountName;
            Key = key;
            Value = value;
            FencingToken = fence;
            // Given up locally a fifth of the lease time before Redis could hand the lease to another node: the deadline
            // runs on its own timer, so a renewal stuck on an unreachable Redis cannot delay it.
            TimeSpan leaseTime = owner._redis.Options.LeaseTime;
            _localValidity = leaseTime - (leaseTime / 5);
            _lost = new CancellationTokenSource(Remaining(validFrom), owner._time);
            Lost = _lost.Token;
            Lost.Register(() => Log.LeaseLost(_owner._logger, AccountName, _lostReason ?? $"not renewed within {_localValidity.TotalSeconds:0.#} s"));
            _renewal = RenewAsync();
        }

        public string AccountName { get; }

        public long FencingToken { get; }

        public CancellationToken Lost { get; }

        public RedisKey Key { get; }

        /// <summary>The value the lease key holds while this node has it.</summary>
        public string Value { get; }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            _owner.Held.TryRemove(new KeyValuePair<string, Lease>(AccountName, this));
            await _stop.CancelAsync().ConfigureAwait(false);
            await _renewal.ConfigureAwait(false);
            try
            {
                // Also after a local loss: the script deletes the key only if it still holds this lease's value.
                await _owner._redis.RunAsync(
                    "releasing an account's poll lease",
                    db => db.ScriptEvaluateAsync(ReleaseScript, [Key], [Value]),
                    CancellationToken.None).ConfigureAwait(false);
            }
            catch (RedisUnavailableException)
            {
                // It expires on its own after LeaseTime.
            }

            _stop.Dispose();
            _lost.Dispose();
        }

        private TimeSpan Remaining(long since)
        {
            TimeSpan remaining = _localValidity - _owner._time.GetElapsedTime(since);
            return remaining > TimeSpan.Zero ? remaining : TimeSpan.FromTicks(1);
        }

        private async Task RenewAsync()
        {
            TimeSpan every = _owner._redis.Options.LeaseTime / 3;
            long ttl = (long)_owner._redis.Options.LeaseTime.TotalMilliseconds;
            using CancellationTokenSource both = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, Lost);
            while (true)
            {
                try
                {
                    await Task.Delay(every, _owner._time, both.Token).ConfigureAwait(false);
                    long sent = _owner._time.GetTimestamp();
                    long renewed = (long)await _owner._redis.RunAsync(
                        "renewing an account's poll lease",
                        db => db.ScriptEvaluateAsync(RenewScript, [Key], [Value, ttl]),
                        both.Token).ConfigureAwait(false);
                    if (renewed != 1)
                    {
                        _lostReason = "taken over by another node";
                        await _lost.CancelAsync().ConfigureAwait(false);
                        return;
                    }

                    _lost.CancelAfter(Remaining(sent));
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
                catch (RedisUnavailableException)
                {
                    // Retry at the next tick; the local deadline keeps running meanwhile.
                }
            }
        }
    }
}
