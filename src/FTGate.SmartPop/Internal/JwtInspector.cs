using System.Text;
using System.Text.Json;

namespace FTGate.SmartPop.Internal;

/// <summary>What the token inspection found. <see cref="Proven"/>: a Microsoft token whose audience, scope/role and user all checked out.</summary>
internal sealed record JwtFindings(bool IsJwt, string Summary, IReadOnlyList<string> Problems, bool AppOnly, bool IsMicrosoft = false, string? User = null)
{
    public bool Proven => IsJwt && IsMicrosoft && Problems.Count == 0;
}

/// <summary>
/// Decodes a JWT access token WITHOUT validating it (the mail server validates; this only explains) and checks what
/// Exchange Online POP needs: audience https://outlook.office.com, scope POP.AccessAsUser.All (or role POP.AccessAsApp
/// for app-only), and a signed-in user that matches the provider's authorized user (the token user of the shared-mailbox
/// rule: for a shared mailbox that is the delegate, not the mailbox).
/// </summary>
internal static class JwtInspector
{
    private static readonly string[] OutlookAudiences =
        ["https://outlook.office.com", "https://outlook.office365.com", "00000002-0000-0ff1-ce00-000000000000"];

    public static JwtFindings Inspect(string token, SmartPopAccount account) => Inspect(token, account, account.UserName);

    public static JwtFindings Inspect(string token, SmartPopAccount account, string tokenUser)
    {
        string[] parts = token.Split('.');
        if (parts.Length != 3 || !TryDecode(parts[1], out JsonElement claims))
        {
            return new JwtFindings(false, "The access token is opaque (not a JWT); only the server can check it.", [], false);
        }

        string? aud = Claim(claims, "aud");
        string? scp = Claim(claims, "scp");
        string? roles = Claim(claims, "roles");
        string? user = Claim(claims, "upn") ?? Claim(claims, "preferred_username") ?? Claim(claims, "unique_name") ?? Claim(claims, "email");
        bool appOnly = scp is null && roles is not null;
        var problems = new List<string>();
        bool microsoft = (aud is not null && (aud.Contains("outlook", StringComparison.OrdinalIgnoreCase) || aud.Contains("0ff1-ce00", StringComparison.OrdinalIgnoreCase)))
            || Claim(claims, "iss")?.Contains("microsoft", StringComparison.OrdinalIgnoreCase) == true
            || Claim(claims, "iss")?.Contains("sts.windows.net", StringComparison.OrdinalIgnoreCase) == true;

        if (microsoft)
        {
            if (aud is null || !OutlookAudiences.Any(a => aud.TrimEnd('/').StartsWith(a, StringComparison.OrdinalIgnoreCase)))
            {
                problems.Add($"audience is '{aud ?? "<none>"}', not https://outlook.office.com (the token was requested for another resource, e.g. Microsoft Graph): request the scope https://outlook.office.com/POP.AccessAsUser.All");
            }

            if (appOnly)
            {
                if (!Words(roles).Contains("POP.AccessAsApp", StringComparer.OrdinalIgnoreCase))
                {
                    problems.Add($"app-only token without the role POP.AccessAsApp (roles: {roles}): add the application permission POP.AccessAsApp (Office 365 Exchange Online) and grant admin consent");
                }
            }
            else if (!Words(scp).Contains("POP.AccessAsUser.All", StringComparer.OrdinalIgnoreCase))
            {
                problems.Add($"scope POP.AccessAsUser.All is missing (scp: {scp ?? "<none>"}): add the delegated permission and authorize again");
            }

            if (!appOnly && user is not null && !string.Equals(user, tokenUser, StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"the token was issued to '{user}' but provider '{account.AuthProvider}' is configured for '{tokenUser}': authorize the provider again signed in as {tokenUser} (use \"Use another account\" on Microsoft's account picker)");
            }
        }

        string summary = $"JWT: aud={aud ?? "<none>"}, " + (appOnly ? $"roles={roles}" : $"scp={scp ?? "<none>"}") + $", user={user ?? "<none>"}, exp={Expiry(claims)}";
        return new JwtFindings(true, summary, problems, appOnly, microsoft, user);
    }

    private static string Expiry(JsonElement claims) =>
        claims.TryGetProperty("exp", out JsonElement exp) && exp.TryGetInt64(out long seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds).ToString("u", System.Globalization.CultureInfo.InvariantCulture)
            : "<none>";

    private static string[] Words(string? value) => value?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];

    private static string? Claim(JsonElement claims, string name)
    {
        if (!claims.TryGetProperty(name, out JsonElement value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Array => string.Join(' ', value.EnumerateArray().Select(v => v.ToString())),
            _ => value.ToString(),
        };
    }

    private static bool TryDecode(string segment, out JsonElement claims)
    {
        claims = default;
        try
        {
            string padded = segment.Replace('-', '+').Replace('_', '/');
            padded = padded.PadRight(padded.Length + ((4 - (padded.Length % 4)) % 4), '=');
            byte[] json = Convert.FromBase64String(padded);
            using JsonDocument document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            claims = document.RootElement.Clone();
            return true;
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return false;
        }
    }
}
