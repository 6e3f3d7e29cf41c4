using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace FTGate.OAuth.Internal;

/// <summary>
/// The <see cref="IGrantLock"/> of stores that live in one process (the in-memory store, a host's own store without a lock of
/// its own): one semaphore per grant key.
/// </summary>
internal sealed class InProcessGrantLock : IGrantLock
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    public async Task<IAsyncDisposable> AcquireAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        SemaphoreSlim gate = _locks.GetOrAdd(key, static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Held(gate);
    }

    private sealed class Held(SemaphoreSlim gate) : IAsyncDisposable
    {
        private int _released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }

            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>
/// The grant lock that fits a token store: a <see cref="FileTokenStore"/> gets the lock file beside its entries (several
/// processes on one machine), every other store an in-process lock. One lock object per store, so every provider (and a host
/// that rebuilds its providers) shares it.
/// </summary>
internal static class GrantLocks
{
    private static readonly ConditionalWeakTable<ITokenStore, IGrantLock> s_byStore = [];

    public static IGrantLock For(ITokenStore store) =>
        s_byStore.GetValue(store, static s => s is FileTokenStore file ? new FileGrantLock(file) : new InProcessGrantLock());

    /// <summary>Takes a grant's lock; a lock that cannot be taken is a transient SDK error (no request was sent).</summary>
    public static async Task<IAsyncDisposable> AcquireAsync(IGrantLock grantLock, string key, string provider, string userName)
    {
        try
        {
            return await grantLock.AcquireAsync(key, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or IOException or UnauthorizedAccessException)
        {
            throw new TransientAuthorizationException(
                $"Provider '{provider}': the refresh lock of {userName}'s grant could not be taken ({ex.Message}); no request was sent and the stored authorization is kept.",
                provider,
                innerException: ex);
        }
    }
}
