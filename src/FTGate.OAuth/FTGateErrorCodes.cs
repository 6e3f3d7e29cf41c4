namespace FTGate.OAuth;

/// <summary>
/// The stable error codes of <see cref="FTGateException.ErrorCode"/>. Every code is explained, with its causes and
/// fixes, in docs/troubleshooting.md. Codes never change meaning once shipped.
/// </summary>
public static class FTGateErrorCodes
{
    /// <summary>The configuration is invalid (the message names the item and field).</summary>
    public const string ConfigurationInvalid = "configuration_invalid";

    /// <summary>No provider of that name is configured.</summary>
    public const string ProviderUnknown = "provider_unknown";

    /// <summary>The user has never been authorized at this provider (or signed out).</summary>
    public const string NotAuthorized = "not_authorized";

    /// <summary>The stored grant is dead: run Authorize Now again.</summary>
    public const string ReauthorizationRequired = "reauthorization_required";

    /// <summary>The provider is throttling or unavailable; the grant is intact.</summary>
    public const string ProviderUnavailable = "provider_unavailable";

    /// <summary>The callback's <c>state</c> matches no pending authorization.</summary>
    public const string StateUnknown = "state_unknown";

    /// <summary>The pending authorization expired before the callback arrived.</summary>
    public const string StateExpired = "state_expired";

    /// <summary>The callback's <c>state</c> was already used.</summary>
    public const string StateReplayed = "state_replayed";

    /// <summary>The callback carried no code and no error.</summary>
    public const string CallbackInvalid = "callback_invalid";

    /// <summary>The person (or policy) refused consent (<c>access_denied</c>).</summary>
    public const string AccessDenied = "access_denied";

    /// <summary>A different account signed in than the one configured.</summary>
    public const string WrongAccount = "wrong_account";

    /// <summary>The provider issued no refresh token, so collection would stop within the hour.</summary>
    public const string NoRefreshToken = "no_refresh_token";

    /// <summary>The provider did not grant the scope mail collection needs.</summary>
    public const string ScopeNotGranted = "scope_not_granted";

    /// <summary>The client id, secret or certificate is wrong, expired or unknown to the provider.</summary>
    public const string InvalidClient = "invalid_client";

    /// <summary>The redirect URI is not registered with the provider.</summary>
    public const string RedirectUriMismatch = "redirect_uri_mismatch";

    /// <summary>The provider rejected the requested scope.</summary>
    public const string InvalidScope = "invalid_scope";

    /// <summary>The application is not allowed to use this grant or flow.</summary>
    public const string UnauthorizedClient = "unauthorized_client";

    /// <summary>The device code expired before the user finished.</summary>
    public const string DeviceCodeExpired = "device_code_expired";

    /// <summary>The provider returned an error the SDK does not classify further; the message carries its words.</summary>
    public const string ProviderError = "provider_error";

    /// <summary>A token store write lost a race with another writer.</summary>
    public const string TokenStoreConflict = "token_store_conflict";

    /// <summary>A token store entry is unreadable (truncated, tampered, other key).</summary>
    public const string TokenStoreCorrupted = "token_store_corrupted";

    /// <summary>User or administrator consent for the requested permission is missing (Microsoft: <c>consent_required</c>, admin approval).</summary>
    public const string ConsentRequired = "consent_required";

    /// <summary>A Conditional Access or multi-factor authentication policy blocked or interrupted the sign-in.</summary>
    public const string ConditionalAccess = "conditional_access";

    /// <summary>The account, tenant and app registration do not fit together (single-tenant app with <c>common</c>, personal account against a work-only app, or the reverse).</summary>
    public const string TenantMismatch = "tenant_mismatch";

    /// <summary>The authorization code was rejected at redemption (expired, already used, or the PKCE verifier does not match).</summary>
    public const string AuthorizationCodeRejected = "authorization_code_rejected";

    /// <summary>The authorization server's discovery document could not be loaded or is unusable.</summary>
    public const string DiscoveryFailed = "discovery_failed";

    /// <summary>The callback's <c>iss</c> parameter (RFC 9207) names another authorization server (mix-up attack or misconfiguration).</summary>
    public const string IssuerMismatch = "issuer_mismatch";

    /// <summary>Microsoft found no tenant for the configured TenantId in the configured cloud (AADSTS90002).</summary>
    public const string TenantNotFound = "tenant_not_found";

    /// <summary>The stored grant was issued for another client id, endpoint or tenant than configured now; it is not used.</summary>
    public const string GrantBindingChanged = "grant_binding_changed";
}
