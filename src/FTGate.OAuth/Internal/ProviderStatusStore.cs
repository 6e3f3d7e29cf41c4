using System.Text.Json;
using System.Text.Json.Serialization;

namespace FTGate.OAuth.Internal;

/// <summary>What the SDK remembers about a user's grant besides the tokens: when it was authorized, and whether it died.</summary>
internal sealed class ProviderStatusRecord
{
    public DateTimeOffset? AuthorizedOn { get; set; }

    public DateTimeOffset? AccessTokenExpiresOn { get; set; }

    public List<string> Scopes { get; set; } = [];

    public bool ReauthorizationRequired { get; set; }

    public string? ErrorCode { get; set; }

    public string? Reason { get; set; }

    public string? Remedy { get; set; }

    /// <summary>The <see cref="GrantBinding"/> of the grant kept beside this record (Microsoft's MSAL blob carries none of its own).</summary>
    public string? Binding { get; set; }
}

/// <summary>Persists <see cref="ProviderStatusRecord"/>s in the <see cref="ITokenStore"/> (key <c>status/&lt;provider&gt;/&lt;user&gt;</c>).</summary>
internal sealed class ProviderStatusStore
{
    private static readonly JsonSerializerOptions s_json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private readonly ITokenStore _store;

    public ProviderStatusStore(ITokenStore store) => _store = store;

    public static string Key(string providerName, string userName) => $"status/{providerName}/{userName.ToUpperInvariant()}";

    public async Task<ProviderStatusRecord?> GetAsync(string providerName, string userName, CancellationToken cancellationToken)
    {
        string key = Key(providerName, userName);
        TokenStoreEntry? entry = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        try
        {
            return entry is null ? null : JsonSerializer.Deserialize<ProviderStatusRecord>(entry.Value.Span, s_json);
        }
        catch (JsonException ex)
        {
            throw new TokenStoreCorruptedException(key, "the token store", "the status record is not valid JSON", ex);
        }
    }

    public Task UpdateAsync(string providerName, string userName, Action<ProviderStatusRecord> update, CancellationToken cancellationToken) =>
        _store.UpdateAsync(
            Key(providerName, userName),
            current =>
            {
                ProviderStatusRecord record = current is null ? new ProviderStatusRecord() : ReadOrNew(current);
                update(record);
                return JsonSerializer.SerializeToUtf8Bytes(record, s_json);
            },
            cancellationToken: cancellationToken);

    /// <summary>A status record that cannot be read is replaced by the update (it holds no secret and is rebuilt from the grant).</summary>
    private static ProviderStatusRecord ReadOrNew(TokenStoreEntry entry)
    {
        try
        {
            return JsonSerializer.Deserialize<ProviderStatusRecord>(entry.Value.Span, s_json) ?? new ProviderStatusRecord();
        }
        catch (JsonException)
        {
            return new ProviderStatusRecord();
        }
    }

    public Task RemoveAsync(string providerName, string userName, CancellationToken cancellationToken) =>
        _store.RemoveAsync(Key(providerName, userName), cancellationToken: cancellationToken);

    public static AuthorizationStatus ToStatus(string providerName, string userName, ProviderStatusRecord? record, bool hasTokens, IReadOnlyList<string>? warnings = null)
    {
        warnings ??= [];
        if (record is { ReauthorizationRequired: true })
        {
            return new AuthorizationStatus(providerName, userName, AuthorizationState.ReauthorizationRequired)
            {
                ErrorCode = record.ErrorCode,
                Reason = record.Reason,
                Remedy = record.Remedy,
                AuthorizedOn = record.AuthorizedOn,
                Scopes = record.Scopes,
                Warnings = warnings,
            };
        }

        if (!hasTokens)
        {
            return new AuthorizationStatus(providerName, userName, AuthorizationState.NotAuthorized)
            {
                Remedy = "Run Authorize Now for this provider.",
                Warnings = warnings,
            };
        }

        return new AuthorizationStatus(providerName, userName, AuthorizationState.Authorized)
        {
            AuthorizedOn = record?.AuthorizedOn,
            AccessTokenExpiresOn = record?.AccessTokenExpiresOn,
            Scopes = record?.Scopes ?? [],
            Warnings = warnings,
        };
    }
}
