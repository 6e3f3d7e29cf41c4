namespace FTGate.OAuth.Internal;

/// <summary>
/// The token store as providers use it: a store that fails with an operating-system error (permissions, a full disk, a
/// lock timeout) fails with the SDK's <see cref="FTGateConfigurationException"/> naming the entry and what to check, never
/// with a raw <see cref="IOException"/> / <see cref="UnauthorizedAccessException"/> / <see cref="TimeoutException"/>.
/// </summary>
internal sealed class GuardedTokenStore : ITokenStore
{
    private readonly ITokenStore _inner;

    private GuardedTokenStore(ITokenStore inner) => _inner = inner;

    public static ITokenStore Wrap(ITokenStore store) => store is GuardedTokenStore ? store : new GuardedTokenStore(store);

    public async Task<TokenStoreEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            return await _inner.GetAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsSystemFailure(ex))
        {
            throw Failure("read", key, ex);
        }
    }

    public async Task<string> SetAsync(string key, ReadOnlyMemory<byte> value, string? expectedVersion, CancellationToken cancellationToken = default)
    {
        try
        {
            return await _inner.SetAsync(key, value, expectedVersion, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsSystemFailure(ex))
        {
            throw Failure("written", key, ex);
        }
    }

    public async Task<bool> RemoveAsync(string key, string? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        try
        {
            return await _inner.RemoveAsync(key, expectedVersion, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsSystemFailure(ex))
        {
            throw Failure("removed", key, ex);
        }
    }

    private static bool IsSystemFailure(Exception ex) => ex is IOException or UnauthorizedAccessException or TimeoutException;

    private FTGateConfigurationException Failure(string what, string key, Exception ex) => new(
        $"Token store: the entry '{key}' could not be {(what == "read" ? "read" : what)} ({ex.Message}).",
        _inner is FileTokenStore file
            ? $"Check that the folder '{file.Directory}' exists, belongs to this service's account (mode 0700) and has free space; another process may also hold its lock for too long."
            : "Check the token store's backend (permissions, space, availability).",
        ex);
}
