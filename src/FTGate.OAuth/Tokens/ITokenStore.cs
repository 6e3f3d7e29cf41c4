namespace FTGate.OAuth;

/// <summary>
/// A small asynchronous key → bytes store for token material, with optimistic concurrency: every entry has a
/// <see cref="TokenStoreEntry.Version"/>, and a write that names a stale version fails with
/// <see cref="TokenStoreConcurrencyException"/> instead of silently overwriting another writer's rotated refresh token.
/// </summary>
/// <remarks>
/// Values are opaque to the store and are secrets (refresh tokens, MSAL cache blobs): implementations must protect them
/// at rest and never log them. Implementations are thread-safe.
/// </remarks>
public interface ITokenStore
{
    /// <summary>Reads an entry.</summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The entry, or <see langword="null"/> when there is none.</returns>
    /// <exception cref="TokenStoreCorruptedException">The entry exists but cannot be read.</exception>
    Task<TokenStoreEntry?> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Writes an entry if it is still at the version the caller read.</summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="value">The new value.</param>
    /// <param name="expectedVersion">
    /// The <see cref="TokenStoreEntry.Version"/> the caller read, or <see langword="null"/> when the caller expects no entry
    /// (a create).
    /// </param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The new version.</returns>
    /// <exception cref="TokenStoreConcurrencyException">The entry is not at <paramref name="expectedVersion"/>.</exception>
    Task<string> SetAsync(string key, ReadOnlyMemory<byte> value, string? expectedVersion, CancellationToken cancellationToken = default);

    /// <summary>Removes an entry.</summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="expectedVersion">The version the caller read, or <see langword="null"/> to remove whatever is there.</param>
    /// <param name="cancellationToken">Cancels the removal.</param>
    /// <returns><see langword="true"/> when an entry was removed; <see langword="false"/> when there was none.</returns>
    /// <exception cref="TokenStoreConcurrencyException">The entry is not at <paramref name="expectedVersion"/>.</exception>
    Task<bool> RemoveAsync(string key, string? expectedVersion = null, CancellationToken cancellationToken = default);
}

/// <summary>One entry of an <see cref="ITokenStore"/>.</summary>
public sealed class TokenStoreEntry
{
    /// <summary>Creates an entry.</summary>
    /// <param name="value">The stored bytes.</param>
    /// <param name="version">The entry's version (an opaque ETag).</param>
    public TokenStoreEntry(ReadOnlyMemory<byte> value, string version)
    {
        ArgumentException.ThrowIfNullOrEmpty(version);
        Value = value;
        Version = version;
    }

    /// <summary>The stored bytes (a secret).</summary>
    public ReadOnlyMemory<byte> Value { get; }

    /// <summary>The entry's version, to pass back as <c>expectedVersion</c> when writing.</summary>
    public string Version { get; }

    /// <summary>Describes the entry without its value.</summary>
    /// <returns>Version and length.</returns>
    public override string ToString() => $"TokenStoreEntry(version={Version}, {Value.Length} bytes)";
}

/// <summary>Conveniences over <see cref="ITokenStore"/>.</summary>
public static class TokenStoreExtensions
{
    /// <summary>
    /// Reads an entry, lets <paramref name="update"/> compute the new value from the current one, and writes it with the
    /// version read; on a concurrent change it reads again and retries (up to <paramref name="maxAttempts"/> times).
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="key">The entry's key.</param>
    /// <param name="update">Computes the new value from the current one (<see langword="null"/> when absent); returning <see langword="null"/> leaves the entry unchanged.</param>
    /// <param name="maxAttempts">How many times to try before giving up.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The entry as written (or as found, when <paramref name="update"/> returned <see langword="null"/>).</returns>
    /// <exception cref="TokenStoreConcurrencyException">Every attempt lost a race.</exception>
    public static async Task<TokenStoreEntry?> UpdateAsync(
        this ITokenStore store,
        string key,
        Func<TokenStoreEntry?, byte[]?> update,
        int maxAttempts = 10,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(update);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        for (int attempt = 1; ; attempt++)
        {
            TokenStoreEntry? current = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            byte[]? next = update(current);
            if (next is null)
            {
                return current;
            }

            try
            {
                string version = await store.SetAsync(key, next, current?.Version, cancellationToken).ConfigureAwait(false);
                return new TokenStoreEntry(next, version);
            }
            catch (TokenStoreConcurrencyException) when (attempt < maxAttempts)
            {
                await Task.Delay(Random.Shared.Next(1, 5 * attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
