using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FTGate.OAuth.Internal;

/// <summary>A started "Authorize Now": what the callback must match, kept server-side.</summary>
internal sealed class PendingAuthorization
{
    public required string ProviderName { get; init; }

    public required string State { get; init; }

    public required string UserName { get; init; }

    public required string RedirectUri { get; init; }

    /// <summary>The PKCE code verifier (a secret until the code is redeemed).</summary>
    public required string CodeVerifier { get; init; }

    public required DateTimeOffset ExpiresOn { get; init; }

    public DateTimeOffset? ConsumedOn { get; set; }

    /// <summary>Provider-specific extras (for example a nonce).</summary>
    public Dictionary<string, string> Items { get; init; } = [];
}

/// <summary>
/// Keeps pending authorizations (state → PKCE verifier, redirect URI, expiry) in the <see cref="ITokenStore"/>, so they
/// survive across requests and processes and are encrypted at rest. A state can be consumed exactly once.
/// </summary>
internal sealed class PendingAuthorizationStore
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    private static readonly JsonSerializerOptions s_json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private readonly ITokenStore _store;
    private readonly TimeProvider _time;

    public PendingAuthorizationStore(ITokenStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
    }

    public static string NewState() => Base64Url(RandomNumberGenerator.GetBytes(32));

    /// <summary>A PKCE code verifier (RFC 7636: 43-128 characters of [A-Za-z0-9-._~]) and its S256 challenge.</summary>
    public static (string Verifier, string Challenge) NewPkce()
    {
        string verifier = Base64Url(RandomNumberGenerator.GetBytes(64));
        string challenge = Base64Url(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(verifier)));
        return (verifier, challenge);
    }

    public static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async Task<PendingAuthorization> CreateAsync(
        string providerName,
        string userName,
        Uri redirectUri,
        string codeVerifier,
        string? state = null,
        IReadOnlyDictionary<string, string>? items = null,
        CancellationToken cancellationToken = default)
    {
        var pending = new PendingAuthorization
        {
            ProviderName = providerName,
            State = state ?? NewState(),
            UserName = userName,
            RedirectUri = redirectUri.OriginalString,
            CodeVerifier = codeVerifier,
            ExpiresOn = _time.GetUtcNow() + Lifetime,
            Items = items is null ? [] : new Dictionary<string, string>(items),
        };
        await _store.SetAsync(Key(providerName, pending.State), JsonSerializer.SerializeToUtf8Bytes(pending, s_json), expectedVersion: null, cancellationToken)
            .ConfigureAwait(false);
        await IndexAsync(providerName, pending, cancellationToken).ConfigureAwait(false);
        return pending;
    }

    /// <summary>
    /// Removes every pending authorization of a provider (when the provider is deleted or its endpoints change), found through
    /// the provider's index.
    /// </summary>
    /// <returns>How many were removed.</returns>
    public static async Task<int> RemoveAllAsync(ITokenStore store, string providerName, CancellationToken cancellationToken)
    {
        string indexKey = IndexKey(providerName);
        TokenStoreEntry? index = await store.GetAsync(indexKey, cancellationToken).ConfigureAwait(false);
        int removed = 0;
        foreach (IndexEntry entry in ReadIndex(index))
        {
            if (await store.RemoveAsync(Key(providerName, entry.State), cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                removed++;
            }
        }

        await store.RemoveAsync(indexKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        return removed;
    }

    /// <summary>
    /// Records the state in the provider's index, and removes the pending authorizations that expired (a sign-in that was
    /// started and never finished leaves nothing behind for long).
    /// </summary>
    private async Task IndexAsync(string providerName, PendingAuthorization pending, CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        var expired = new List<string>();
        await _store.UpdateAsync(
            IndexKey(providerName),
            current =>
            {
                expired.Clear();
                List<IndexEntry> entries = ReadIndex(current);
                expired.AddRange(entries.Where(e => e.ExpiresOn < now).Select(e => e.State));
                entries.RemoveAll(e => e.ExpiresOn < now || e.State == pending.State);
                entries.Add(new IndexEntry(pending.State, pending.ExpiresOn));
                return JsonSerializer.SerializeToUtf8Bytes(entries, s_json);
            },
            cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (string state in expired)
        {
            await _store.RemoveAsync(Key(providerName, state), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private static List<IndexEntry> ReadIndex(TokenStoreEntry? entry)
    {
        if (entry is null)
        {
            return [];
        }

        try
        {
            return JsonSerializer.Deserialize<List<IndexEntry>>(entry.Value.Span, s_json) ?? [];
        }
        catch (JsonException)
        {
            // A damaged index only loses the clean-up of entries that expire by themselves anyway.
            return [];
        }
    }

    /// <summary>Validates and consumes the callback's state: unknown, expired and replayed states each raise their own error.</summary>
    public async Task<PendingAuthorization> ConsumeAsync(string providerName, string? state, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(state))
        {
            throw new AuthorizationException(
                FTGateErrorCodes.StateUnknown,
                $"Provider '{providerName}': the authorization callback carries no 'state' parameter, so it cannot be matched to an Authorize Now request.",
                "Start again with Authorize Now and complete the sign-in in the browser window it opens; do not bookmark or reuse callback URLs.",
                providerName);
        }

        string key = Key(providerName, state);
        TokenStoreEntry? entry = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        PendingAuthorization? pending = entry is null ? null : JsonSerializer.Deserialize<PendingAuthorization>(entry.Value.Span, s_json);
        if (entry is null || pending is null)
        {
            throw new AuthorizationException(
                FTGateErrorCodes.StateUnknown,
                $"Provider '{providerName}': the authorization callback's state matches no pending Authorize Now request (it was never started here, or was started for another provider).",
                "Start again with Authorize Now from this server, and make sure the redirect URI points at this server.",
                providerName);
        }

        if (pending.ConsumedOn is not null)
        {
            throw Replayed(providerName);
        }

        if (_time.GetUtcNow() > pending.ExpiresOn)
        {
            await _store.RemoveAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            throw new AuthorizationException(
                FTGateErrorCodes.StateExpired,
                $"Provider '{providerName}': the Authorize Now request expired (sign-in must finish within {Lifetime.TotalMinutes:0} minutes).",
                "Click Authorize Now again and complete the sign-in promptly.",
                providerName);
        }

        pending.ConsumedOn = _time.GetUtcNow();
        try
        {
            // Keep the consumed record until it would have expired, so a replay is recognised as such.
            await _store.SetAsync(key, JsonSerializer.SerializeToUtf8Bytes(pending, s_json), entry.Version, cancellationToken).ConfigureAwait(false);
        }
        catch (TokenStoreConcurrencyException)
        {
            throw Replayed(providerName);
        }

        return pending;
    }

    private static AuthorizationException Replayed(string providerName) => new(
        FTGateErrorCodes.StateReplayed,
        $"Provider '{providerName}': this authorization callback was already used.",
        "Each Authorize Now link works once. If the first attempt failed, click Authorize Now again.",
        providerName);

    private static string Key(string providerName, string state) => $"pending/{providerName}/{state}";

    private static string IndexKey(string providerName) => $"pending-index/{providerName}";

    private sealed record IndexEntry(string State, DateTimeOffset ExpiresOn);
}
