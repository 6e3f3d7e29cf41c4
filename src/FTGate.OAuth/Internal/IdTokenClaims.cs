using System.Text.Json;

namespace FTGate.OAuth.Internal;

/// <summary>
/// Reads the claims of an id_token received directly from the token endpoint over TLS. OpenID Connect Core §3.1.3.7
/// allows the TLS server validation to stand in for the signature check in that case; the token is used only to learn
/// which account signed in, never as a credential.
/// </summary>
internal static class IdTokenClaims
{
    public static IReadOnlyDictionary<string, string> Read(string? idToken)
    {
        var claims = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(idToken))
        {
            return claims;
        }

        string[] parts = idToken.Split('.');
        if (parts.Length < 2)
        {
            return claims;
        }

        try
        {
            string payload = parts[1].Replace('-', '+').Replace('_', '/');
            payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
            using JsonDocument doc = JsonDocument.Parse(Convert.FromBase64String(payload));
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return claims; // a payload that is JSON but not an object has no claims (found by the property tests)
            }

            foreach (JsonProperty property in doc.RootElement.EnumerateObject())
            {
                claims[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() ?? string.Empty : property.Value.GetRawText();
            }
        }
        catch (FormatException)
        {
            claims.Clear();
        }
        catch (JsonException)
        {
            claims.Clear();
        }

        return claims;
    }

    /// <summary>The account name in the claims: <c>email</c>, else <c>preferred_username</c>, else <c>sub</c>.</summary>
    public static string? AccountName(IReadOnlyDictionary<string, string> claims)
    {
        foreach (string name in new[] { "email", "preferred_username", "sub" })
        {
            if (claims.TryGetValue(name, out string? value) && !string.IsNullOrWhiteSpace(value))
            {
                return value;
            }
        }

        return null;
    }
}
