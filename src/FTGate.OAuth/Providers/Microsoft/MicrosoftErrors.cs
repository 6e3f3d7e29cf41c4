using System.Globalization;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Microsoft.Identity.Client;

namespace FTGate.OAuth.Internal;

/// <summary>Which operation failed: decides whether a refused grant means "re-authorize" or "this attempt failed".</summary>
internal enum MicrosoftFlow
{
    /// <summary>Silent or forced refresh of a stored grant.</summary>
    Silent,

    /// <summary>Authorize Now (authorization code redemption).</summary>
    AuthorizationCode,

    /// <summary>Device code sign-in.</summary>
    DeviceCode,

    /// <summary>Client credentials (app-only).</summary>
    AppOnly,

    /// <summary>Import of an existing refresh token.</summary>
    Import,
}

/// <summary>
/// Turns MSAL exceptions and Entra error responses into the SDK's exception family. The stable code comes from the exception
/// type and the OAuth <c>error</c> value; the AADSTS number only picks the remedy sentence (and refines the catch-all
/// <c>invalid_request</c>), because Microsoft documents that AADSTS numbers and texts change over time.
/// </summary>
internal static partial class MicrosoftErrors
{
    private static readonly HashSet<string> s_transientErrors = new(StringComparer.OrdinalIgnoreCase)
    {
        "temporarily_unavailable", "server_error", MsalError.RequestTimeout, MsalError.ServiceNotAvailable, MsalError.RequestThrottled,
    };

    private static readonly HashSet<string> s_notAuthorizedErrors = new(StringComparer.OrdinalIgnoreCase)
    {
        MsalError.NoTokensFoundError, MsalError.UserNullError, MsalError.NoAccountForLoginHint,
    };

    [GeneratedRegex(@"AADSTS(\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex AadstsRegex();

    /// <summary>The AADSTS number in a description, or <see langword="null"/>.</summary>
    public static int? Aadsts(string? text)
    {
        if (text is null)
        {
            return null;
        }

        Match m = AadstsRegex().Match(text);
        return m.Success && int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : null;
    }

    /// <summary>The provider's sentence without MSAL's trace/correlation/timestamp tail.</summary>
    public static string Describe(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "(no description)";
        }

        int cut = text.IndexOf("Trace ID:", StringComparison.Ordinal);
        string head = cut > 0 ? text[..cut] : text;
        head = head.Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal).Trim();
        return head.Length > 400 ? head[..400] + "…" : head;
    }

    public static TimeSpan? RetryAfter(HttpResponseHeaders? headers, DateTimeOffset now)
    {
        RetryConditionHeaderValue? value = headers?.RetryAfter;
        if (value?.Delta is { } delta)
        {
            return delta;
        }

        if (value?.Date is { } date)
        {
            TimeSpan wait = date - now;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    /// <summary>Classifies an MSAL exception.</summary>
    public static AuthorizationException FromMsal(MsalException ex, string provider, string userName, MicrosoftFlow flow, DateTimeOffset now, MicrosoftClientShape shape)
    {
        switch (ex)
        {
            case MsalThrottledServiceException throttled:
                return new TransientAuthorizationException(
                    $"Provider '{provider}': Microsoft is throttling token requests for {userName}; MSAL is holding further requests back until the Retry-After period ends.",
                    provider,
                    RetryAfter(throttled.Headers, now) ?? RetryAfter(throttled.OriginalServiceException?.Headers, now),
                    throttled.ErrorCode,
                    Describe(throttled.Message),
                    ex);
            case MsalThrottledUiRequiredException throttledUi:
                return new TransientAuthorizationException(
                    $"Provider '{provider}': MSAL is holding back a repeated token request for {userName} that Microsoft refused moments ago ({throttledUi.ErrorCode}); try again later.",
                    provider,
                    RetryAfter(throttledUi.Headers, now),
                    throttledUi.ErrorCode,
                    Describe(throttledUi.Message),
                    ex);
            case MsalUiRequiredException ui:
                if (flow is MicrosoftFlow.Silent && s_notAuthorizedErrors.Contains(ui.ErrorCode ?? string.Empty))
                {
                    return new ReauthorizationRequiredException(
                        FTGateErrorCodes.NotAuthorized,
                        $"Provider '{provider}': {userName} is not authorized yet (no stored grant).",
                        "Run Authorize Now (or device code sign-in) for this provider.",
                        provider,
                        userName,
                        ui.ErrorCode,
                        null,
                        ex);
                }

                string error = ui.Classification == UiRequiredExceptionClassification.ConsentRequired ? "consent_required" : ui.ErrorCode ?? "interaction_required";
                return FromOAuthError(error, ui.Message, null, provider, userName, flow, ex, shape);
            case MsalServiceException service:
                if (service.StatusCode == 429 || service.StatusCode >= 500 || s_transientErrors.Contains(service.ErrorCode ?? string.Empty))
                {
                    bool timedOut = service.ErrorCode == MsalError.RequestTimeout || service.StatusCode is 0 or 408;
                    return new TransientAuthorizationException(
                        service.StatusCode == 429
                            ? $"Provider '{provider}': Microsoft is throttling token requests (HTTP 429) for {userName}."
                            : timedOut
                            ? FormattableString.Invariant($"Provider '{provider}': the request to Microsoft's token service for {userName} timed out after {shape.HttpTimeout.TotalSeconds:0} s without an answer.")
                            : $"Provider '{provider}': Microsoft's token service is unavailable (HTTP {service.StatusCode}, {service.ErrorCode}) for {userName}.",
                        provider,
                        RetryAfter(service.Headers, now),
                        service.ErrorCode,
                        Describe(service.Message),
                        ex);
                }

                return FromOAuthError(service.ErrorCode ?? "unknown_error", service.Message, null, provider, userName, flow, ex, shape);
            case MsalClientException client when client.ErrorCode is MsalError.CodeExpired:
                return FromOAuthError("expired_token", client.Message, null, provider, userName, flow, ex, shape);
            case MsalClientException client when client.ErrorCode is MsalError.AuthenticationCanceledError:
                return FromOAuthError("access_denied", client.Message, null, provider, userName, flow, ex, shape);
            default:
                return new AuthorizationException(
                    FTGateErrorCodes.ProviderError,
                    $"Provider '{provider}': the Microsoft sign-in library failed for {userName} ({ex.ErrorCode}): {Describe(ex.Message)}",
                    "Check the provider's configuration against docs/microsoft.md; the message above is MSAL's own.",
                    provider,
                    ex.ErrorCode,
                    Describe(ex.Message),
                    ex);
        }
    }

    /// <summary>Classifies an OAuth error (from MSAL, from a callback, or from the SDK's own token request).</summary>
    public static AuthorizationException FromOAuthError(
        string error,
        string? description,
        TimeSpan? retryAfter,
        string provider,
        string userName,
        MicrosoftFlow flow,
        Exception? inner,
        MicrosoftClientShape shape)
    {
        string said = Describe(description);
        int? aadsts = Aadsts(description);
        string lower = error.ToLowerInvariant();
        if (lower is "invalid_grant" or "interaction_required" or "consent_required" && flow is MicrosoftFlow.Silent)
        {
            return new ReauthorizationRequiredException(
                FTGateErrorCodes.ReauthorizationRequired,
                $"Provider '{provider}': Microsoft no longer accepts the stored grant of {userName} ({error}): {said}",
                Remedy(aadsts, FTGateErrorCodes.ReauthorizationRequired, userName, shape),
                provider,
                userName,
                error,
                said,
                inner);
        }

        if (lower is "temporarily_unavailable" or "server_error")
        {
            return new TransientAuthorizationException(
                $"Provider '{provider}': Microsoft's sign-in service is temporarily unavailable ({error}) for {userName}.",
                provider,
                retryAfter,
                error,
                said,
                inner);
        }

        (string code, string what) = Classify(lower, aadsts, flow);
        return new AuthorizationException(
            code,
            $"Provider '{provider}': Microsoft {what} for {userName} ({error}): {said}",
            Remedy(aadsts, code, userName, shape),
            provider,
            error,
            said,
            inner);
    }

    /// <summary>The stable code and what Microsoft did, for an OAuth error that is neither transient nor a dead stored grant.</summary>
    private static (string Code, string What) Classify(string error, int? aadsts, MicrosoftFlow flow) => error switch
    {
        "invalid_grant" when flow is MicrosoftFlow.Import => (FTGateErrorCodes.ReauthorizationRequired, "rejected the imported refresh token"),
        "invalid_grant" => (FTGateErrorCodes.AuthorizationCodeRejected, "refused to redeem the sign-in"),
        "interaction_required" => (FTGateErrorCodes.ConditionalAccess, "requires further interaction (MFA or Conditional Access)"),
        "consent_required" => (FTGateErrorCodes.ConsentRequired, "requires consent"),
        "invalid_client" when aadsts is 50011 or 500113 or 900971 or 50153 => (FTGateErrorCodes.RedirectUriMismatch, "rejected the redirect URI"),
        "invalid_client" => (FTGateErrorCodes.InvalidClient, "rejected the application's credentials"),
        "unauthorized_client" => (FTGateErrorCodes.UnauthorizedClient, "does not allow this application to use this sign-in"),
        "invalid_scope" => (FTGateErrorCodes.InvalidScope, "rejected the requested scope"),
        "access_denied" or "authorization_declined" => (
            aadsts is 53003 or 53000 or 53001 or 530003 ? FTGateErrorCodes.ConditionalAccess
            : aadsts is 65004 or 90094 or 90095 or 65001 ? FTGateErrorCodes.ConsentRequired
            : FTGateErrorCodes.AccessDenied,
            "denied access"),
        "expired_token" or "code_expired" => (FTGateErrorCodes.DeviceCodeExpired, "reports that the device code expired before the sign-in finished"),

        // The catch-all OAuth error: the AADSTS number is the only thing that tells these apart.
        "invalid_request" => (
            aadsts switch
            {
                50011 or 500113 or 900971 or 50153 => FTGateErrorCodes.RedirectUriMismatch,
                50194 or 50020 or 9002331 or 500200 or 50059 => FTGateErrorCodes.TenantMismatch,
                90002 => FTGateErrorCodes.TenantNotFound,
                7000218 or 700025 => FTGateErrorCodes.InvalidClient,
                _ => FTGateErrorCodes.ProviderError,
            },
            "rejected the request"),
        _ => (FTGateErrorCodes.ProviderError, "refused"),
    };

    /// <summary>The remedy sentence: from the AADSTS number when Entra sent a known one, otherwise from the stable code.</summary>
    public static string Remedy(int? aadsts, string code, string userName, MicrosoftClientShape shape) => aadsts switch
    {
        700082 => $"The refresh token expired after 90 days without use. Run Authorize Now again as {userName}; afterwards keep the account polling so the grant is refreshed regularly.",
        50173 or 50133 or 50135 => $"The grant was revoked (password change or reset, or an administrator revoked sessions). Run Authorize Now again as {userName}.",
        70043 or 50076 or 50079 or 50158 or 50072 or 50074 => $"A Conditional Access or MFA policy requires {userName} to sign in interactively again. Run Authorize Now; if this recurs, ask the Entra administrator about the sign-in frequency policy for this app.",
        53003 or 53000 or 53001 or 530003 => "Conditional Access blocked the sign-in (device, location or app policy). Ask the Entra administrator to allow this application, or to exclude the mail server from the policy.",
        65001 => "Consent for the POP permission is missing. Run Authorize Now and accept the consent prompt, or have an administrator click 'Grant admin consent' under App registrations > API permissions.",
        65004 => "The user declined the consent prompt. Run Authorize Now again and accept it.",
        90094 or 90095 => "The tenant requires administrator approval. Ask an administrator (Cloud Application Administrator or higher) to grant admin consent for the app under App registrations > API permissions.",
        7000222 => "The client secret has expired. Create a new secret under App registrations > Certificates & secrets and set ClientSecret to its Value.",
        7000215 => "The client secret is wrong. Copy the secret's Value column (not its Secret ID) from App registrations > Certificates & secrets into ClientSecret.",
        7000218 => "The app registration expects a client secret. For device code or public-client sign-in set 'Allow public client flows' to Yes under App registrations > Authentication; for web sign-in configure ClientSecret.",
        700025 => "The app registration treats this sign-in as a public client, so no secret may be sent. " + shape.PlatformAdvice + " (Or remove ClientSecret/CertificatePath to use the provider as a public client.)",
        700024 => "Microsoft found the client assertion outside its valid time range: this server's clock is wrong. Check the time and time zone (for example 'timedatectl' and an NTP service such as chrony), then try again.",
        90002 => "Microsoft found no tenant with this TenantId in the configured cloud. Check TenantId (the Directory (tenant) ID GUID or a verified domain from the app's Overview page, or 'common'/'organizations'/'consumers') and Cloud (Global, UsGovernment, China).",
        700016 => "No application with this ClientId exists in the tenant. Check that ClientId is the 'Application (client) ID' GUID and that TenantId is the directory the app is registered in (or make the app multi-tenant).",
        700027 or 700023 or 7000274 => "The client certificate was not accepted. Upload the certificate's public key under App registrations > Certificates & secrets and check CertificatePath.",
        50011 or 500113 or 900971 or 50153 => "Register the exact redirect URI shown in the error under App registrations > Authentication. " + shape.PlatformAdvice,
        50194 => "The app is single-tenant: set TenantId to its Directory (tenant) ID instead of 'common', or change 'Supported account types' to multi-tenant.",
        50020 or 9002331 or 500200 or 50059 => "The account does not fit the app's 'Supported account types' and TenantId: personal (Outlook.com) accounts need TenantId 'consumers' or 'common' and an app that allows personal accounts; work accounts need the tenant's own id or 'organizations'.",
        70000 or 70011 => "The requested scope is not valid for this app. Remove custom Scopes so the provider uses POP.AccessAsUser.All (delegated) or .default (app-only).",
        54005 or 70008 or 501481 or 70002 => "Run Authorize Now again: the sign-in code was already used, expired, or did not match this request.",
        50034 or 50126 => "The sign-in name or password was wrong. Run Authorize Now again with the right account.",
        _ => code switch
        {
            FTGateErrorCodes.ReauthorizationRequired => $"Run Authorize Now again as {userName}.",
            FTGateErrorCodes.InvalidClient => "Check ClientId, ClientSecret (its Value, not its ID, and not expired) or the certificate in Microsoft Entra.",
            FTGateErrorCodes.UnauthorizedClient => "Check the app registration: the client id, the tenant it lives in, and (for device code) 'Allow public client flows'.",
            FTGateErrorCodes.InvalidScope => "Remove custom Scopes so the provider uses its tested POP scope.",
            FTGateErrorCodes.AccessDenied => "Run Authorize Now again and accept the consent prompt with the mailbox account.",
            FTGateErrorCodes.ConsentRequired => "Have an administrator grant admin consent for the app under App registrations > API permissions, then run Authorize Now.",
            FTGateErrorCodes.ConditionalAccess => "Run Authorize Now and complete MFA; if blocked, ask the Entra administrator about Conditional Access for this app.",
            FTGateErrorCodes.DeviceCodeExpired => "Start device code sign-in again and enter the code within the time shown.",
            FTGateErrorCodes.AuthorizationCodeRejected => "Run Authorize Now again.",
            FTGateErrorCodes.RedirectUriMismatch => "Register the exact redirect URI under App registrations > Authentication. " + shape.PlatformAdvice,
            FTGateErrorCodes.TenantNotFound => "Check TenantId and Cloud: the tenant was not found.",
            FTGateErrorCodes.TenantMismatch => "Match TenantId and the app's 'Supported account types' to the kind of account that signs in.",
            _ => "See docs/troubleshooting.md for the Microsoft error shown in the message.",
        },
    };
}

/// <summary>
/// What kind of client the provider is configured as: it decides the platform advice (the same sentence everywhere for the
/// same configuration) and the timeout a timed-out request reports.
/// </summary>
internal sealed record MicrosoftClientShape(bool Confidential, TimeSpan HttpTimeout)
{
    /// <summary>A public client (no secret or certificate) with MSAL's default 100 s timeout.</summary>
    public static readonly MicrosoftClientShape Public = new(false, TimeSpan.FromSeconds(100));

    /// <summary>Where the redirect URI belongs in the app registration, for this configuration.</summary>
    public string PlatformAdvice => Confidential
        ? "This provider has a client secret or certificate (a confidential client), so register the redirect URI under the 'Web' platform (App registrations > Authentication > Add a platform > Web), not under 'Mobile and desktop applications'."
        : "This provider has no client secret or certificate (a public client), so register the redirect URI (for example http://localhost) under the 'Mobile and desktop applications' platform (App registrations > Authentication > Add a platform), not under 'Web'.";
}
