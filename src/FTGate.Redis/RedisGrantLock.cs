using System.Collections.Concurrent;
using FTGate.OAuth;
using FTGate.Redis.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace FTGate.Redis;

/// <summary>
/// The farm's <see cref="IGrantLock"/>: one node at a time refreshes a grant. The lock is a Redis key set with
/// <c>SET NX PX</c> holding a random owner value and a fencing number (a counter that grows with every hand-over); it is
/// renewed every third of <see cref="RedisOptions.GrantLockTime"/> while held and released by a compare-and-delete script,
/// so a node that dies mid-refresh blocks the grant for at most that time. Waiters wake on a pub/sub message when the lock
/// is released (and poll as a fallback), then read the holder's result from the token store.
/// </summary>
/// <remarks>
/// The lock serializes refreshes; correctness of the stored grant does not depend on it alone: the token store's
/// compare-and-set refuses a write based on an outdated read, so even a holder that paused past its lock time cannot
/// overwrite a newer refresh token.
/// </remarks>
public sealed class RedisGrantLock : IGrantLock
{
    private const string AcquireScript =
        "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return redis.call('INCR', KEYS[2]) end return 0";

    private const string RenewScript =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

    private const string ReleaseScript =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) redis.call('PUBLISH', ARGV[2], ARGV[3]) return 1 end return 0";

    private readonly RedisConnection _redis;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _released = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _local = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _subscribeLock = new(1, 1);
    private volatile bool _subscribed;

    internal RedisGrantLock(RedisConnection redis, TimeProvider time, ILogger<RedisGrantLock>? logger)
    {
        _redis = redis;
        _time = time;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    /// <exception cref="RedisUnavailableException">Redis cannot be reached, or the lock was not free within <see cref="RedisOptions.GrantLockWaitTimeout"/>.</exception>
    public async Task<IAsyncDisposable> AcquireAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        // Callers in this process queue locally first, so only one of them at a time contends in Redis.
        SemaphoreSlim local = _local.GetOrAdd(key, static _ => new SemaphoreSlim(1, 1));
        if (!await local.WaitAsync(_redis.Options.GrantLockWaitTimeout, cancellationToken).ConfigureAwait(false))
        {
            throw new RedisUnavailableException(
                $"Grant '{key}': another caller in this process has held its refresh lock for longer than {_redis.Options.GrantLockWaitTimeout.TotalSeconds:0} s (FTGate:Redis:GrantLockWaitTimeout).");
        }

        try
        {
            return await AcquireInRedisAsync(key, local, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            local.Release();
            throw;
        }
    }

    private async Task<IAsyncDisposable> AcquireInRedisAsync(string key, SemaphoreSlim local, CancellationToken cancellationToken)
    {
        await SubscribeAsync(cancellationToken).ConfigureAwait(false);
        RedisKey lockKey = _redis.GrantLockKey(key);
        RedisKey fenceKey = _redis.GrantFenceKey(key);
        string owner = _redis.Options.NodeName + "/" + Guid.NewGuid().ToString("N");
        long ttl = (long)_redis.Options.GrantLockTime.TotalMilliseconds;
        long deadline = _time.GetTimestamp();
        TimeSpan poll = TimeSpan.FromMilliseconds(20);
        bool logged = false;
        while (true)
        {
            // Register for the release message before trying, so a release between the try and the wait is not missed.
            TaskCompletionSource released = _released.GetOrAdd(key, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            long fence = (long)await _redis.RunAsync(
                "taking a grant's refresh lock",
                db => db.ScriptEvaluateAsync(AcquireScript, [lockKey, fenceKey], [owner, ttl]),
                cancellationToken).ConfigureAwait(false);
            if (fence > 0)
            {
                return new Held(this, key, lockKey, owner, fence, local);
            }

            if (!logged)
            {
                Log.GrantLockWait(_logger, key);
                logged = true;
            }

            if (_time.GetElapsedTime(deadline) > _redis.Options.GrantLockWaitTimeout)
            {
                throw new RedisUnavailableException(
                    $"Grant '{key}': another node has held its refresh lock in Redis at {_redis.Endpoints} for longer than {_redis.Options.GrantLockWaitTimeout.TotalSeconds:0} s.");
            }

            try
            {
                await released.Task.WaitAsync(poll, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // No release message (lost, or the holder died and the lock expired): try again.
            }

            poll = TimeSpan.FromMilliseconds(Math.Min(poll.TotalMilliseconds * 2, 500));
        }
    }

    /// <summary>The fencing number of a held lock (grows with every hand-over of the grant's lock).</summary>
    /// <param name="held">A lock returned by <see cref="AcquireAsync"/>.</param>
    /// <returns>The fencing number.</returns>
    public static long GetFencingToken(IAsyncDisposable held) =>
        held is Held h ? h.FencingToken : throw new ArgumentException("Not a lock taken by RedisGrantLock.", nameof(held));

    private async Task SubscribeAsync(CancellationToken cancellationToken)
    {
        if (_subscribed)
        {
            return;
        }

        await _subscribeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_subscribed)
            {
                return;
            }

            ConnectionMultiplexer multiplexer = await _redis.GetMultiplexerAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await multiplexer.GetSubscriber().SubscribeAsync(_redis.GrantReleasedChannel, (_, message) => Signal((string?)message)).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisConnection.IsUnavailable(ex))
            {
                throw _redis.Unavailable("subscribing to grant-lock releases", ex);
            }

            _subscribed = true;
        }
        finally
        {
            _subscribeLock.Release();
        }
    }

    private void Signal(string? key)
    {
        if (key is not null && _released.TryRemove(key, out TaskCompletionSource? waiters))
        {
            waiters.TrySetResult();
        }
    }

    private sealed class Held : IAsyncDisposable
    {
        private readonly RedisGrantLock _owner;
        private readonly string _key;
        private readonly RedisKey _lockKey;
        private readonly string _value;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _renewal;
        private readonly SemaphoreSlim _local;
        private int _disposed;

        public Held(RedisGrantLock owner, string key, RedisKey lockKey, string value, long fence, SemaphoreSlim local)
        {
            _local = local;
            _owner = owner;
            _key = key;
            _lockKey = lockKey;
            _value = value;
            FencingToken = fence;
            _renewal = RenewAsync();
        }

        public long FencingToken { get; }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            await _stop.CancelAsync().ConfigureAwait(false);
            await _renewal.ConfigureAwait(false);
            _stop.Dispose();
            try
            {
                await _owner._redis.RunAsync(
                    "releasing a grant's refresh lock",
                    db => db.ScriptEvaluateAsync(ReleaseScript, [_lockKey], [_value, _owner._redis.Prefix + "grantlock-released", _key]),
                    CancellationToken.None).ConfigureAwait(false);
            }
            catch (RedisUnavailableException)
            {
                // The lock expires on its own after GrantLockTime; waiters poll.
            }
            finally
            {
                _local.Release();
            }

            // Wake this process's own waiters at once (the pub/sub message may come later, or not at all).
            _owner.Signal(_key);
        }

        private async Task RenewAsync()
        {
            TimeSpan every = _owner._redis.Options.GrantLockTime / 3;
            long ttl = (long)_owner._redis.Options.GrantLockTime.TotalMilliseconds;
            while (true)
            {
                try
                {
                    await Task.Delay(every, _owner._time, _stop.Token).ConfigureAwait(false);
                    await _owner._redis.RunAsync(
                        "renewing a grant's refresh lock",
                        db => db.ScriptEvaluateAsync(RenewScript, [_lockKey], [_value, ttl]),
                        _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (RedisUnavailableException)
                {
                    // Try again at the next tick; the version check of the token store still guards the grant.
                }
            }
        }
    }
}
