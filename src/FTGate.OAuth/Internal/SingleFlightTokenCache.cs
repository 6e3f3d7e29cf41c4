using System.Collections.Concurrent;

namespace FTGate.OAuth.Internal;

/// <summary>
/// Keeps the current access token per key in memory and makes sure that, however many callers ask at once, a token that is
/// missing, expired or inside the refresh margin is refreshed exactly once (single flight). Providers use it around their
/// library's silent token call.
/// </summary>
internal sealed class SingleFlightTokenCache
{
    private readonly TimeProvider _time;
    // Keys are user names (e-mail addresses): case-insensitive, so callers need not normalise (and allocate) them.
    private readonly ConcurrentDictionary<string, Slot> _slots = new(StringComparer.OrdinalIgnoreCase);

    public SingleFlightTokenCache(TimeProvider time) => _time = time;

    /// <summary>Returns the cached token when it is valid for longer than <paramref name="margin"/>; otherwise refreshes once for all callers.</summary>
    public Task<AccessToken> GetAsync(
        string key,
        TimeSpan margin,
        Func<CancellationToken, Task<AccessToken>> acquire,
        CancellationToken cancellationToken) =>
        GetAsync(key, margin, acquire, static (a, ct) => a(ct), cancellationToken);

    /// <summary>
    /// As <see cref="GetAsync(string, TimeSpan, Func{CancellationToken, Task{AccessToken}}, CancellationToken)"/>, with the
    /// acquisition's state passed explicitly so a cache hit allocates nothing (no closure, and the completed task is reused).
    /// </summary>
    public Task<AccessToken> GetAsync<TState>(
        string key,
        TimeSpan margin,
        TState state,
        Func<TState, CancellationToken, Task<AccessToken>> acquire,
        CancellationToken cancellationToken)
    {
        if (!_slots.TryGetValue(key, out Slot? slot))
        {
            slot = _slots.GetOrAdd(key, static _ => new Slot());
        }

        lock (slot)
        {
            if (slot.Current is { } current && current.ExpiresOn - margin > _time.GetUtcNow())
            {
                return slot.CachedTask ??= Task.FromResult(current.AsCached());
            }

            return Refresh(slot, state, acquire).WaitAsync(cancellationToken);
        }
    }

    // The miss path lives in its own method: a lambda capturing parameters makes the compiler allocate its closure on entry
    // to the method that declares them, which would cost every cache hit an allocation (40 bytes).
    private static Task<AccessToken> Refresh<TState>(Slot slot, TState state, Func<TState, CancellationToken, Task<AccessToken>> acquire) =>
        JoinOrStart(slot, ct => acquire(state, ct));

    /// <summary>Forces a refresh, unless one is already under way (then joins it).</summary>
    public Task<AccessToken> RefreshAsync(string key, Func<CancellationToken, Task<AccessToken>> acquire, CancellationToken cancellationToken)
    {
        Slot slot = _slots.GetOrAdd(key, _ => new Slot());
        lock (slot)
        {
            return JoinOrStart(slot, acquire).WaitAsync(cancellationToken);
        }
    }

    /// <summary>Forgets the cached token (sign-out, re-authorization, dead grant).</summary>
    public void Invalidate(string key)
    {
        if (_slots.TryGetValue(key, out Slot? slot))
        {
            lock (slot)
            {
                slot.Current = null;
            }
        }
    }

    /// <summary>Seeds the cache with a token just obtained some other way (for example by Authorize Now).</summary>
    public void Set(string key, AccessToken token)
    {
        Slot slot = _slots.GetOrAdd(key, _ => new Slot());
        lock (slot)
        {
            slot.Current = token;
        }
    }

    private static Task<AccessToken> JoinOrStart(Slot slot, Func<CancellationToken, Task<AccessToken>> acquire)
    {
        if (slot.InFlight is { } running)
        {
            return running;
        }

        // The refresh is not tied to any one caller's token: a caller that gives up must not cancel it for the others.
        Task<AccessToken> task = Task.Run(() => acquire(CancellationToken.None));
        slot.InFlight = task;
        _ = task.ContinueWith(
            t =>
            {
                lock (slot)
                {
                    slot.InFlight = null;
                    if (t.IsCompletedSuccessfully)
                    {
                        slot.Current = t.Result;
                    }
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return task;
    }

    private sealed class Slot
    {
        private AccessToken? _current;

        /// <summary>The latest token; setting it drops the cached completed task.</summary>
        public AccessToken? Current
        {
            get => _current;
            set
            {
                _current = value;
                CachedTask = null;
            }
        }

        /// <summary>A completed task holding <see cref="Current"/> marked as cached, reused for every hit.</summary>
        public Task<AccessToken>? CachedTask { get; set; }

        public Task<AccessToken>? InFlight { get; set; }
    }
}
