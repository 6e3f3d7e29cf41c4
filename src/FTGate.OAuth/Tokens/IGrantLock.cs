namespace FTGate.OAuth;

/// <summary>
/// Serializes the refresh of one grant across every process or node that shares the <see cref="ITokenStore"/>, so that
/// a rotating refresh token is redeemed once per expiry and never lost: a provider takes the grant's lock, reads the
/// grant again (another holder may have refreshed it meanwhile), refreshes only if it is still due, persists the
/// result and then releases the lock.
/// </summary>
/// <remarks>
/// Implementations: in-process (with the in-memory store), a lock file beside the file token store (several processes
/// on one machine) and a Redis lock (a farm). A lock held by a process that died must expire or be released by the
/// operating system, never block the grant for ever.
/// </remarks>
public interface IGrantLock
{
    /// <summary>Waits for and takes the lock of one grant.</summary>
    /// <param name="key">The grant's token-store key.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The held lock; dispose it to release the lock.</returns>
    Task<IAsyncDisposable> AcquireAsync(string key, CancellationToken cancellationToken = default);
}
