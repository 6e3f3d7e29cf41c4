using Microsoft.Extensions.Logging;
using Microsoft.Identity.Client;

namespace FTGate.OAuth.Internal;

/// <summary>
/// Binds one MSAL token cache to one <see cref="ITokenStore"/> entry (one blob per provider and account). Before each cache
/// access the entry is read again (so a refresh token rotated by another process is used); after a change it is written
/// with the version that was read. When another writer got there first, the stored blob is loaded, this process's entries
/// are laid over it (they were issued last), and the write is retried: a rotated refresh token is never overwritten by a
/// stale copy.
/// </summary>
/// <remarks>MSAL serializes the before/after hooks of one cache with its own semaphore, so <see cref="_version"/> needs no lock.</remarks>
internal sealed class MsalTokenCacheBinding
{
    private const int MaxAttempts = 10;
    private readonly ITokenStore _store;
    private readonly string _key;
    private readonly string _provider;
    private readonly ILogger _logger;
    private string? _version;

    private MsalTokenCacheBinding(ITokenStore store, string key, string provider, ILogger logger)
    {
        _store = store;
        _key = key;
        _provider = provider;
        _logger = logger;
    }

    public static void Attach(ITokenCache cache, ITokenStore store, string key, string provider, ILogger logger)
    {
        var binding = new MsalTokenCacheBinding(store, key, provider, logger);
        cache.SetBeforeAccessAsync(binding.BeforeAccessAsync);
        cache.SetAfterAccessAsync(binding.AfterAccessAsync);
    }

    private async Task BeforeAccessAsync(TokenCacheNotificationArgs args)
    {
        TokenStoreEntry? entry = await _store.GetAsync(_key, args.CancellationToken).ConfigureAwait(false);
        args.TokenCache.DeserializeMsalV3(entry is null ? [] : entry.Value.ToArray(), shouldClearExistingCache: true);
        _version = entry?.Version;
    }

    private async Task AfterAccessAsync(TokenCacheNotificationArgs args)
    {
        if (!args.HasStateChanged)
        {
            return;
        }

        byte[] mine = args.TokenCache.SerializeMsalV3();
        string? expected = _version;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                _version = await _store.SetAsync(_key, mine, expected, CancellationToken.None).ConfigureAwait(false);
                return;
            }
            catch (TokenStoreConcurrencyException) when (attempt < MaxAttempts)
            {
                MicrosoftLog.CacheWriteConflict(_logger, _provider, attempt);
                TokenStoreEntry? current = await _store.GetAsync(_key, CancellationToken.None).ConfigureAwait(false);
                if (current is null)
                {
                    if (expected is not null)
                    {
                        // Another process signed the account out meanwhile: do not bring the tokens back.
                        MicrosoftLog.CacheWriteDroppedAfterSignOut(_logger, _provider);
                        args.TokenCache.DeserializeMsalV3([], shouldClearExistingCache: true);
                        _version = null;
                        return;
                    }

                    expected = null;
                    continue;
                }

                // Theirs first, ours on top: entries with the same key (the account's refresh token) take this process's value,
                // which was issued last; entries only they have (other scopes' access tokens) are kept.
                args.TokenCache.DeserializeMsalV3(current.Value.ToArray(), shouldClearExistingCache: true);
                args.TokenCache.DeserializeMsalV3(mine, shouldClearExistingCache: false);
                mine = args.TokenCache.SerializeMsalV3();
                expected = current.Version;
            }
        }
    }
}

/// <summary>Captures what MSAL writes into a scratch cache, so a new grant is stored only after it passed the checks.</summary>
internal sealed class MsalCacheCapture
{
    public byte[]? Blob { get; private set; }

    public static MsalCacheCapture Attach(ITokenCache cache)
    {
        var capture = new MsalCacheCapture();
        cache.SetAfterAccess(args =>
        {
            if (args.HasStateChanged)
            {
                capture.Blob = args.TokenCache.SerializeMsalV3();
            }
        });
        return capture;
    }
}
