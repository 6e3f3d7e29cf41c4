using System.Text.Json;
using System.Text.Json.Serialization;

namespace FTGate.OAuth.Internal;

/// <summary>
/// The tokens of one user at one provider as the SDK persists them in the <see cref="ITokenStore"/> (key
/// <c>grant/&lt;provider&gt;/&lt;USER&gt;</c>). Every field but the timestamps and scopes is a secret.
/// </summary>
internal sealed class StoredGrant
{
    public required string UserName { get; set; }

    public required string AccessToken { get; set; }

    public required DateTimeOffset AccessTokenExpiresOn { get; set; }

    public string? RefreshToken { get; set; }

    /// <summary>When the current refresh token was issued (authorization time, or the last rotation).</summary>
    public DateTimeOffset? RefreshTokenIssuedOn { get; set; }

    /// <summary>When the person authorized (Authorize Now or device flow).</summary>
    public DateTimeOffset? AuthorizedOn { get; set; }

    public List<string> Scopes { get; set; } = [];

    public string? TokenType { get; set; }

    /// <summary>
    /// The fingerprint of where the grant may be used (<see cref="GrantBinding"/>): provider, client id, endpoints, tenant.
    /// A grant whose binding differs from the configuration is never used or sent anywhere.
    /// </summary>
    public string? Binding { get; set; }

    /// <summary>
    /// The grant after a refresh. A rotated refresh token (a different one came back) replaces the old one and restarts its
    /// clock; otherwise the old refresh token is kept. <paramref name="scopes"/> <see langword="null"/> keeps the granted scopes.
    /// </summary>
    public StoredGrant AfterRefresh(string accessToken, TimeSpan lifetime, string? refreshToken, IReadOnlyList<string>? scopes, string? tokenType, DateTimeOffset now, out bool rotated)
    {
        rotated = !string.IsNullOrEmpty(refreshToken) && !string.Equals(refreshToken, RefreshToken, StringComparison.Ordinal);
        return new StoredGrant
        {
            UserName = UserName,
            AccessToken = accessToken,
            AccessTokenExpiresOn = now + lifetime,
            RefreshToken = rotated ? refreshToken : RefreshToken,
            RefreshTokenIssuedOn = rotated ? now : RefreshTokenIssuedOn,
            AuthorizedOn = AuthorizedOn,
            Scopes = scopes is null ? Scopes : [.. scopes],
            TokenType = tokenType ?? TokenType,
            Binding = Binding,
        };
    }

    public override string ToString() => $"StoredGrant(user={UserName}, expires={AccessTokenExpiresOn:u}, refresh={(RefreshToken is null ? "no" : "yes")})";
}

/// <summary>Reads and writes <see cref="StoredGrant"/>s with optimistic concurrency, and keeps the status record beside them.</summary>
internal sealed class GrantStore
{
    private static readonly JsonSerializerOptions s_json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private readonly ITokenStore _store;
    private readonly string _providerName;
    private readonly Func<string>? _binding;

    /// <param name="store">The token store.</param>
    /// <param name="providerName">The provider.</param>
    /// <param name="binding">The configuration's current <see cref="GrantBinding"/>; <see langword="null"/> reads and writes grants unchecked (tests, tools).</param>
    public GrantStore(ITokenStore store, string providerName, Func<string>? binding = null)
    {
        _store = store;
        _providerName = providerName;
        _binding = binding;
        Status = new ProviderStatusStore(store);
    }

    /// <summary>True when the grant was issued for the configuration as it is now (always, without a binding).</summary>
    public bool IsBound(StoredGrant grant) => _binding is null || string.Equals(grant.Binding, _binding(), StringComparison.Ordinal);

    /// <summary>The grant exists but belongs to another client, endpoint or tenant: it is not used and nothing is sent.</summary>
    public ReauthorizationRequiredException BindingChanged(string userName) => GrantBinding.Changed(_providerName, userName);

    public ProviderStatusStore Status { get; }

    public string Key(string userName) => $"grant/{_providerName}/{userName.ToUpperInvariant()}";

    public async Task<StoredGrant?> GetAsync(string userName, CancellationToken cancellationToken)
    {
        TokenStoreEntry? entry = await _store.GetAsync(Key(userName), cancellationToken).ConfigureAwait(false);
        return entry is null ? null : Deserialize(entry);
    }

    /// <summary>
    /// The grant to serve or refresh tokens from. Throws <see cref="FTGateErrorCodes.NotAuthorized"/> when there is none, and the
    /// persisted "re-authorization needed" error when the grant was found dead earlier (no network call is made for it).
    /// </summary>
    public async Task<StoredGrant> GetUsableAsync(string userName, string notAuthorizedRemedy, CancellationToken cancellationToken)
    {
        StoredGrant grant = await GetAsync(userName, cancellationToken).ConfigureAwait(false)
            ?? throw NotAuthorized(userName, notAuthorizedRemedy);
        ProviderStatusRecord? record = await Status.GetAsync(_providerName, userName, cancellationToken).ConfigureAwait(false);
        if (record is { ReauthorizationRequired: true })
        {
            throw new ReauthorizationRequiredException(
                record.ErrorCode ?? FTGateErrorCodes.ReauthorizationRequired,
                $"Provider '{_providerName}': re-authorization needed for {userName}: {record.Reason}",
                record.Remedy,
                _providerName,
                userName);
        }

        return IsBound(grant) ? grant : throw BindingChanged(userName);
    }

    /// <summary>The user has no grant (never authorized, or signed out).</summary>
    public ReauthorizationRequiredException NotAuthorized(string userName, string remedy) => new(
        FTGateErrorCodes.NotAuthorized,
        $"Provider '{_providerName}': {userName} has not been authorized (or was signed out).",
        remedy,
        _providerName,
        userName);

    /// <summary>The user's status from the stored grant and status record (no network call).</summary>
    public async Task<AuthorizationStatus> GetStatusAsync(string userName, Func<StoredGrant, IReadOnlyList<string>>? warnings, CancellationToken cancellationToken)
    {
        ProviderStatusRecord? record = await Status.GetAsync(_providerName, userName, cancellationToken).ConfigureAwait(false);
        StoredGrant? grant = await GetAsync(userName, cancellationToken).ConfigureAwait(false);
        if (grant is not null && !IsBound(grant))
        {
            return GrantBinding.ChangedStatus(_providerName, userName, grant.AuthorizedOn);
        }

        AuthorizationStatus status = ProviderStatusStore.ToStatus(_providerName, userName, record, grant is not null);
        return grant is null || status.State != AuthorizationState.Authorized
            ? status
            : new AuthorizationStatus(_providerName, userName, AuthorizationState.Authorized)
            {
                AccessTokenExpiresOn = grant.AccessTokenExpiresOn,
                AuthorizedOn = grant.AuthorizedOn ?? record?.AuthorizedOn,
                Scopes = grant.Scopes,
                Warnings = warnings?.Invoke(grant) ?? [],
            };
    }

    /// <summary>Stores a grant from a fresh authorization, replacing whatever was there, and clears any "re-authorization needed" mark.</summary>
    public async Task SaveAuthorizationAsync(StoredGrant grant, CancellationToken cancellationToken)
    {
        grant.Binding = _binding?.Invoke() ?? grant.Binding;
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(grant, s_json);
        await _store.UpdateAsync(Key(grant.UserName), _ => bytes, cancellationToken: cancellationToken).ConfigureAwait(false);
        await Status.UpdateAsync(
            _providerName,
            grant.UserName,
            r =>
            {
                r.ReauthorizationRequired = false;
                r.ErrorCode = null;
                r.Reason = null;
                r.Remedy = null;
                r.AuthorizedOn = grant.AuthorizedOn;
                r.AccessTokenExpiresOn = grant.AccessTokenExpiresOn;
                r.Scopes = grant.Scopes;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Persists the result of a successful refresh, but only while the stored grant still holds the refresh token that was
    /// used: if another process re-authorized or rotated it meanwhile, or the user signed out, its state wins.
    /// </summary>
    /// <returns><see langword="true"/> when written.</returns>
    public async Task<bool> SaveRefreshAsync(string userName, string? usedRefreshToken, StoredGrant refreshed, CancellationToken cancellationToken)
    {
        bool written = false;
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(refreshed, s_json);
        await _store.UpdateAsync(
            Key(userName),
            current =>
            {
                StoredGrant? stored = current is null ? null : Deserialize(current);
                if (stored is null || !string.Equals(stored.RefreshToken, usedRefreshToken, StringComparison.Ordinal))
                {
                    written = false;
                    return null;
                }

                written = true;
                return bytes;
            },
            cancellationToken: cancellationToken).ConfigureAwait(false);
        return written;
    }

    public Task MarkReauthorizationRequiredAsync(string userName, string errorCode, string reason, string? remedy, CancellationToken cancellationToken) =>
        Status.UpdateAsync(
            _providerName,
            userName,
            r =>
            {
                r.ReauthorizationRequired = true;
                r.ErrorCode = errorCode;
                r.Reason = reason;
                r.Remedy = remedy;
            },
            cancellationToken);

    public async Task RemoveAsync(string userName, CancellationToken cancellationToken)
    {
        await _store.RemoveAsync(Key(userName), cancellationToken: cancellationToken).ConfigureAwait(false);
        await Status.RemoveAsync(_providerName, userName, cancellationToken).ConfigureAwait(false);
    }

    private static StoredGrant? Deserialize(TokenStoreEntry entry)
    {
        try
        {
            return JsonSerializer.Deserialize<StoredGrant>(entry.Value.Span, s_json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

}
