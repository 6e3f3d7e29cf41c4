using System.Text.Json;

namespace FTGate.OAuth.Internal;

/// <summary>
/// Reads the few facts the provider needs from MSAL's serialized v3 cache (sections <c>Account</c> and <c>RefreshToken</c>).
/// MSAL exposes no refresh token through its API, so "was a refresh token issued?" can only be answered here.
/// The blob is a secret: nothing read here is logged except account ids and names.
/// </summary>
internal static class MsalCacheBlob
{
    public sealed record Account(string HomeAccountId, string? UserName);

    public static IReadOnlyList<Account> Accounts(ReadOnlySpan<byte> blob)
    {
        var result = new List<Account>();
        if (blob.IsEmpty)
        {
            return result;
        }

        using JsonDocument doc = Parse(blob);
        if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("Account", out JsonElement accounts) && accounts.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty entry in accounts.EnumerateObject())
            {
                string? id = Str(entry.Value, "home_account_id");
                if (!string.IsNullOrEmpty(id))
                {
                    result.Add(new Account(id, Str(entry.Value, "username")));
                }
            }
        }

        return result;
    }

    /// <summary>True when the blob holds a refresh token with a non-empty secret (for the given account, when one is given).</summary>
    public static bool HasRefreshToken(ReadOnlySpan<byte> blob, string? homeAccountId)
    {
        if (blob.IsEmpty)
        {
            return false;
        }

        using JsonDocument doc = Parse(blob);
        if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("RefreshToken", out JsonElement tokens) || tokens.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        foreach (JsonProperty entry in tokens.EnumerateObject())
        {
            if (!string.IsNullOrEmpty(Str(entry.Value, "secret"))
                && (homeAccountId is null || string.Equals(Str(entry.Value, "home_account_id"), homeAccountId, StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }

    private static JsonDocument Parse(ReadOnlySpan<byte> blob)
    {
        var reader = new Utf8JsonReader(blob);
        return JsonDocument.ParseValue(ref reader);
    }

    private static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
