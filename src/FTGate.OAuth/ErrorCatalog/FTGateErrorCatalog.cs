using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace FTGate.OAuth;

/// <summary>
/// Cause and fix for the error codes Microsoft Entra (AADSTS numbers) and Google show on their sign-in pages, in redirects
/// (<c>error=</c>, <c>error_description=</c>) and in token responses. Hosts show it next to a failed Authorize Now; the
/// <c>ftgate explain CODE</c> command prints it; docs/troubleshooting.md lists the same entries.
/// </summary>
/// <remarks>
/// Microsoft documents that AADSTS texts change over time: the entries rely on the number only, and the provider's own text
/// should still be shown beside the explanation.
/// </remarks>
public static partial class FTGateErrorCatalog
{
    private const string Microsoft = "Microsoft";
    private const string Google = "Google";
    private const string OAuth = "OAuth 2.0";

    private const string WebVsDesktop =
        "Platform rule: with a client secret (or certificate) the app is a confidential client and its redirect URI belongs under the Web platform; without one it is a public client and the redirect URI (http://localhost) belongs under 'Mobile and desktop applications'.";

    private static readonly ErrorExplanation[] s_entries =
    [
        // Microsoft Entra: tenant and account type.
        new("AADSTS50194", Microsoft, "The app is not configured as multi-tenant, so the /common endpoint cannot be used.", "A single-tenant app registration (created after October 2018) is used with TenantId 'common' (or 'organizations').", "Set TenantId to the app's Directory (tenant) ID from its Overview page, or change 'Supported account types' under App registrations > Authentication to a multi-tenant option."),
        new("AADSTS50020", Microsoft, "The signed-in account does not exist in the app's tenant.", "A personal Microsoft account (outlook.com, hotmail.com, live.com) or a guest from another tenant signed in to an app that only allows its own tenant's work accounts.", "For personal accounts set TenantId to 'consumers' (or 'common') and choose 'Personal Microsoft accounts' in the app's 'Supported account types'; for work accounts sign in with an account of the app's tenant."),
        new("AADSTS90002", Microsoft, "Tenant not found.", "TenantId names a directory that does not exist in this cloud: a typo, a domain that is not verified in Entra, or the wrong Cloud (Global, UsGovernment, China).", "Copy the Directory (tenant) ID GUID from Entra > Overview into TenantId, and check the provider's Cloud setting."),
        new("AADSTS700016", Microsoft, "No application with this client id exists in the directory.", "ClientId is wrong (often an e-mail address or the Object ID instead of the Application (client) ID), or TenantId points to another directory than the one the app is registered in.", "Copy the 'Application (client) ID' GUID from App registrations > the app > Overview into ClientId, and set TenantId to that app's directory (or make the app multi-tenant)."),

        // Microsoft Entra: redirect URI and client type.
        new("AADSTS50011", Microsoft, "The redirect URI in the request is not registered for the app.", "The redirect URI the host sends (shown in the error) is not listed, or differs in scheme, host, port or path, under App registrations > Authentication.", "Add the exact redirect URI shown in the error. " + WebVsDesktop),
        new("AADSTS500113", Microsoft, "No reply address is registered for the application.", "The app registration has no redirect URI at all.", "Add the redirect URI under App registrations > Authentication. " + WebVsDesktop),
        new("AADSTS7000218", Microsoft, "The request must contain client_assertion or client_secret.", "Entra treats the app as a confidential client (redirect URI under the Web platform, or 'Allow public client flows' off for device code) but no secret was sent.", "Either configure ClientSecret (and keep the Web platform), or configure no secret and register the redirect URI under 'Mobile and desktop applications'; for device code set 'Allow public client flows' to Yes. " + WebVsDesktop),
        new("AADSTS700025", Microsoft, "The client is public, so no client_secret or client_assertion may be sent.", "A secret is configured, but the redirect URI is registered under 'Mobile and desktop applications' (a public client) or the refresh token was issued to a public client.", "Either remove ClientSecret/CertificatePath (keep 'Mobile and desktop applications'), or keep the secret and move the redirect URI to the Web platform, then run Authorize Now again. " + WebVsDesktop),

        // Microsoft Entra: client credentials.
        new("AADSTS7000215", Microsoft, "Invalid client secret provided.", "ClientSecret holds the secret's ID (a GUID) instead of its Value, or a mistyped value.", "Create a new secret under App registrations > Certificates & secrets and copy its Value column (shown once) into ClientSecret."),
        new("AADSTS7000222", Microsoft, "The client secret has expired.", "Client secrets live at most 24 months; this one passed its expiry date.", "Create a new secret under App registrations > Certificates & secrets, put its Value into ClientSecret and its expiry into ClientSecretExpiresOn (the SDK then warns 30 days ahead)."),
        new("AADSTS700024", Microsoft, "The client assertion is not within its valid time range.", "This machine's clock is wrong: the signed client assertion (certificate credential) is dated outside the time Entra accepts.", "Correct the system clock (enable NTP time synchronisation), then try again; the credentials themselves are fine."),

        // Microsoft Entra: consent.
        new("AADSTS65001", Microsoft, "The user or administrator has not consented to the app's permissions.", "The POP permission (POP.AccessAsUser.All or POP.AccessAsApp) was never consented to for this app in this tenant.", "Run Authorize Now and accept the consent prompt, or have an administrator click 'Grant admin consent' under App registrations > API permissions."),
        new("AADSTS65004", Microsoft, "The user declined consent.", "Cancel or 'Deny' was clicked on the consent page.", "Run Authorize Now again and accept the permissions."),
        new("AADSTS90094", Microsoft, "Administrator approval is required.", "The tenant does not let users consent to apps (or to these permissions); the page showed 'Need admin approval'.", "An administrator (Cloud Application Administrator or higher) grants admin consent under Enterprise applications > the app > Permissions (or App registrations > API permissions > 'Grant admin consent'), then the user runs Authorize Now."),

        // Microsoft Entra: sign-in policy and grant lifetime.
        new("AADSTS50076", Microsoft, "Multi-factor authentication is required.", "A Conditional Access or security-defaults policy requires MFA for this sign-in; a silent refresh cannot satisfy it.", "Run Authorize Now and complete MFA in the browser."),
        new("AADSTS53003", Microsoft, "Access was blocked by Conditional Access policies.", "A Conditional Access policy blocks this app, device or location (the mail server's network).", "Ask the Entra administrator to allow this app from the mail server (Entra > Sign-in logs show which policy applied), then run Authorize Now."),
        new("AADSTS70043", Microsoft, "The refresh token expired because of a Conditional Access sign-in frequency check.", "A sign-in frequency policy makes refresh tokens expire after the configured period.", "Run Authorize Now again; to stop it recurring, ask the Entra administrator to exclude this app from the sign-in frequency policy."),
        new("AADSTS700082", Microsoft, "The refresh token expired due to inactivity (90 days).", "The grant was not used for 90 days (the account was not polled).", "Run Authorize Now again and keep the account polling so the grant is refreshed regularly."),
        new("AADSTS50173", Microsoft, "The grant has expired because it was revoked.", "The user's password was changed or reset, or an administrator revoked the user's sessions.", "Run Authorize Now again as the user."),

        // Google.
        new("invalid_grant", Google, "The refresh token (or authorization code) is no longer valid: 'Token has been expired or revoked.'", "The user revoked access, changed the password, the app is in 'Testing' publishing status (refresh tokens die after 7 days), the token was unused for 6 months, or the code was already used.", "Run Authorize Now again; if it recurs weekly, publish the app (OAuth consent screen > Publish app) or make it Internal for a Workspace domain."),
        new("admin_policy_enforced", Google, "A Google Workspace administrator blocks this app.", "The Workspace's API controls do not trust this OAuth client (or restrict the Gmail scope).", "A Workspace administrator marks the app as Trusted under Admin console > Security > Access and data control > API controls > Manage third-party app access."),
        new("access_denied", Google, "Error 403: access_denied — the app can only be used by approved testers, or consent was refused.", "The app is in 'Testing' status and the account is not a test user, or the user clicked Cancel (Microsoft sends access_denied when consent is declined).", "Add the account under OAuth consent screen > Test users (or publish the app), then run Authorize Now again and allow access."),
        new("org_internal", Google, "Error 403: org_internal — the app is limited to users of its organization.", "The OAuth consent screen's user type is Internal, and the account is outside that Workspace organization (for example a @gmail.com address).", "Sign in with an account of the organization, or change the user type to External on the OAuth consent screen."),
        new("disallowed_useragent", Google, "Error 403: disallowed_useragent — Google blocks sign-in from embedded browsers.", "The sign-in page was opened inside an embedded web view instead of a real browser.", "Open the authorization URL in a normal browser (Chrome, Firefox, Edge, Safari); the loopback or web admin redirect then completes the sign-in."),
        new("redirect_uri_mismatch", Google, "Error 400: redirect_uri_mismatch — the redirect URI is not registered for this OAuth client.", "The redirect URI sent (shown on the page) is not listed under the client's Authorized redirect URIs, or the client is not of type 'Web application'/'Desktop app' as needed.", "Add the exact redirect URI under Google Cloud console > APIs & Services > Credentials > the OAuth client > Authorized redirect URIs (a Desktop app client accepts any http://127.0.0.1 port)."),

        // Generic OAuth 2.0 (RFC 6749) codes both providers use.
        new("invalid_client", OAuth, "The client id or client credentials were rejected.", "ClientId is unknown, or the secret or certificate is wrong or expired.", "Check ClientId and ClientSecret (for Microsoft the secret's Value, not its ID) in the provider's portal; create a new secret if it expired."),
        new("unauthorized_client", OAuth, "The client is not allowed to use this grant type.", "The app registration does not enable the flow used (device code needs public client flows; client credentials need an application permission).", "Enable the flow in the app registration (Microsoft: 'Allow public client flows' for device code), or use the flow the app is registered for."),
        new("interaction_required", OAuth, "The user must sign in interactively again.", "A policy (MFA, Conditional Access, a password change) invalidated silent refresh.", "Run Authorize Now."),
        new("consent_required", OAuth, "Consent for the requested permissions is missing.", "The permission was never consented to, or consent was revoked.", "Run Authorize Now and accept the consent prompt, or have an administrator grant consent."),
        new("temporarily_unavailable", OAuth, "The authorization server is temporarily unavailable.", "The provider is overloaded or under maintenance.", "Try again in a few minutes; check the provider's service status page if it persists."),
    ];

    private static readonly Dictionary<string, ErrorExplanation> s_byCode = s_entries.ToDictionary(e => e.Code, StringComparer.OrdinalIgnoreCase);

    [GeneratedRegex(@"AADSTS\d{5,8}", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex AadstsRegex();

    /// <summary>
    /// The Microsoft Entra platform a redirect URI belongs under, the one rule every message of the SDK follows: <c>Web</c> for a
    /// confidential client (a client secret or certificate is configured), <c>Mobile and desktop applications</c> for a public
    /// client (no secret).
    /// </summary>
    /// <param name="confidentialClient"><see langword="true"/> when a client secret or certificate is configured.</param>
    /// <returns>The platform's name as Entra shows it.</returns>
    public static string MicrosoftRedirectPlatform(bool confidentialClient) => confidentialClient ? "Web" : "Mobile and desktop applications";

    /// <summary>Every entry, Microsoft first.</summary>
    public static IReadOnlyList<ErrorExplanation> All => s_entries;

    /// <summary>Looks a code up: <c>AADSTS50194</c>, <c>50194</c>, <c>invalid_grant</c>, or <c>Error 403: access_denied</c>.</summary>
    /// <param name="code">The code as shown by the provider (case-insensitive).</param>
    /// <param name="explanation">The entry, when the code is known.</param>
    /// <returns><see langword="true"/> when the code is in the catalogue.</returns>
    public static bool TryExplain(string? code, [NotNullWhen(true)] out ErrorExplanation? explanation)
    {
        explanation = null;
        if (string.IsNullOrWhiteSpace(code))
        {
            return false;
        }

        string key = code.Trim();
        int colon = key.LastIndexOf(':');
        if (colon >= 0 && key.StartsWith("Error ", StringComparison.OrdinalIgnoreCase))
        {
            key = key[(colon + 1)..].Trim(); // "Error 403: access_denied"
        }

        if (key.All(char.IsAsciiDigit))
        {
            key = "AADSTS" + key;
        }

        return s_byCode.TryGetValue(key, out explanation);
    }

    /// <summary>
    /// Explains what came back from a provider: an AADSTS number anywhere in <paramref name="description"/> wins (it is the most
    /// specific), then the OAuth <paramref name="error"/> code.
    /// </summary>
    /// <param name="error">The OAuth <c>error</c> value, if any.</param>
    /// <param name="description">The <c>error_description</c> (or any provider text), if any.</param>
    /// <param name="explanation">The entry, when one applies.</param>
    /// <returns><see langword="true"/> when an entry applies.</returns>
    public static bool TryExplain(string? error, string? description, [NotNullWhen(true)] out ErrorExplanation? explanation)
    {
        if (description is not null && AadstsRegex().Match(description) is { Success: true } aadsts && TryExplain(aadsts.Value, out explanation))
        {
            return true;
        }

        return TryExplain(error, out explanation);
    }
}
