using System.Security.Cryptography;
using System.Text;

namespace FTGate.OAuth.Internal;

/// <summary>
/// Binds a stored grant to where it may be used (issue 17): a fingerprint of the provider kind and name, the client id, the
/// endpoints (authority, token endpoint, discovery URL) and the tenant. It is not secret (a hash of configuration values).
/// After an edit of any of them the grant is unusable: no refresh, no revocation, nothing secret sent to the new endpoint,
/// until someone authorizes again.
/// </summary>
internal static class GrantBinding
{
    public static string Of(AuthProviderKind kind, string providerName, string? clientId, params string?[] endpoints)
    {
        var text = new StringBuilder("ftgate-grant-binding-v1");
        foreach (string? part in (string?[])[kind.ToString(), providerName, clientId, .. endpoints])
        {
            // Length-prefixed, so no value can shift into the next one.
            string value = (part ?? string.Empty).Trim().TrimEnd('/');
            text.Append('\n').Append(value.Length).Append(':').Append(value.ToLowerInvariant());
        }

        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..32];
    }

    /// <summary>The grant exists but belongs to another client, endpoint or tenant: it is not used and nothing is sent.</summary>
    public static ReauthorizationRequiredException Changed(string providerName, string userName) => new(
        FTGateErrorCodes.GrantBindingChanged,
        $"Provider '{providerName}': re-authorization needed for {userName}: the stored grant was issued for another client id, endpoint (authority, token endpoint or discovery URL) or tenant than configured now, so it is not used and neither it nor the client secret is sent anywhere.",
        Remedy(userName),
        providerName,
        userName);

    public static string Remedy(string userName) =>
        $"If the change of the client id, endpoint or tenant was intended, run Authorize Now again as {userName} (and enter the client secret again if it belongs to the new client); if nobody meant to change it, restore the previous values and check who edited the configuration.";

    public static AuthorizationStatus ChangedStatus(string providerName, string userName, DateTimeOffset? authorizedOn) =>
        new(providerName, userName, AuthorizationState.ReauthorizationRequired)
        {
            ErrorCode = FTGateErrorCodes.GrantBindingChanged,
            Reason = "Re-authorization needed because the provider's client id, endpoint or tenant changed since the grant was issued; the grant is not used and nothing secret is sent to the new endpoint.",
            Remedy = Remedy(userName),
            AuthorizedOn = authorizedOn,
        };
}
