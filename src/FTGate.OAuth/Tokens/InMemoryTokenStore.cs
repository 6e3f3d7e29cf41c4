using System.Collections.Concurrent;

namespace FTGate.OAuth;

/// <summary>
/// An <see cref="ITokenStore"/> that keeps entries in process memory: for tests, and for hosts that do not need tokens
/// to survive a restart. Thread-safe, with the same optimistic concurrency as every store.
/// </summary>
public sealed class InMemoryTokenStore : ITokenStore
{
    private readonly ConcurrentDictionary<string, TokenStoreEntry> _entries = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    /// <summary>The number of entries held.</summary>
    public int Count => _entries.Count;

    /// <inheritdoc />
    public Task<TokenStoreEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(_entries.TryGetValue(key, out TokenStoreEntry? entry) ? entry : null);
    }

    /// <inheritdoc />
    public Task<string> SetAsync(string key, ReadOnlyMemory<byte> value, string? expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            _entries.TryGetValue(key, out TokenStoreEntry? current);
            if (current?.Version != expectedVersion)
            {
                throw new TokenStoreConcurrencyException(key, expectedVersion, current?.Version);
            }

            string version = TokenStoreVersion.New();
            _entries[key] = new TokenStoreEntry(value.ToArray(), version);
            return Task.FromResult(version);
        }
    }

    /// <inheritdoc />
    public Task<bool> RemoveAsync(string key, string? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out TokenStoreEntry? current))
            {
                return expectedVersion is null
                    ? Task.FromResult(false)
                    : throw new TokenStoreConcurrencyException(key, expectedVersion, null);
            }

            if (expectedVersion is not null && current.Version != expectedVersion)
            {
                throw new TokenStoreConcurrencyException(key, expectedVersion, current.Version);
            }

            return Task.FromResult(_entries.TryRemove(key, out _));
        }
    }
}

internal static class TokenStoreVersion
{
    public static string New() => Guid.NewGuid().ToString("N");
}
