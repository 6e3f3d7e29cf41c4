using System.Net;

namespace FTGate.OAuth.Internal;

/// <summary>What went wrong at a token endpoint, in library-neutral terms (no secrets).</summary>
internal sealed class TokenEndpointFailure
{
    public string? Error { get; init; }

    public string? ErrorDescription { get; init; }

    public HttpStatusCode? StatusCode { get; init; }

    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The request never got an OAuth answer (DNS, connection refused, TLS).</summary>
    public bool Network { get; init; }

    /// <summary>The request got no answer within the HTTP client's timeout (the value), or <see langword="null"/>.</summary>
    public TimeSpan? TimedOutAfter { get; init; }

    /// <summary>An answer came, but it is not a token response (not JSON, or no access token): a proxy or captive portal may have answered.</summary>
    public bool InvalidResponse { get; init; }

    public Exception? Inner { get; init; }

    /// <summary>429, 5xx, <c>temporarily_unavailable</c>/<c>server_error</c> or a network failure: the grant is intact.</summary>
    public bool IsTransient =>
        Network
        || TimedOutAfter is not null
        || InvalidResponse
        || StatusCode is HttpStatusCode.TooManyRequests
        || (StatusCode is { } s && (int)s >= 500)
        || Error is "temporarily_unavailable" or "server_error" or "rate_limit_exceeded";

    public string Describe() =>
        TimedOutAfter is { } after ? FormattableString.Invariant($"timed out after {after.TotalSeconds:0} s without an answer")
        : InvalidResponse ? $"HTTP {(StatusCode is { } code ? (int)code : 200)} with a body that is not a token response (a proxy, captive portal or truncated answer?)"
        : Error is not null ? (ErrorDescription is null ? Error : $"{Error}: {ErrorDescription}")
        : Network ? NetworkCause(Inner)
        : StatusCode is { } s ? $"HTTP {(int)s}"
        : "no response";

    private static string NetworkCause(Exception? inner)
    {
        for (Exception? e = inner; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { HttpRequestError: not HttpRequestError.Unknown } hre)
            {
                return hre.HttpRequestError switch
                {
                    HttpRequestError.NameResolutionError => "network error: the host name could not be resolved (DNS)",
                    HttpRequestError.ConnectionError => "network error: the connection was refused or could not be made",
                    HttpRequestError.SecureConnectionError => "network error: the TLS handshake failed (certificate or proxy interception?)",
                    HttpRequestError.ProxyTunnelError => "network error: the proxy refused the tunnel",
                    _ => "network error: " + hre.HttpRequestError,
                };
            }
        }

        return "network error: " + (inner?.GetType().Name ?? "no response");
    }
}

/// <summary>The provider-specific sentences for the common OAuth errors.</summary>
internal sealed class ProviderRemedies
{
    public required string InvalidGrant { get; init; }

    public required string InvalidClient { get; init; }

    public required string UnauthorizedClient { get; init; }

    public required string InvalidScope { get; init; }

    public required string AccessDenied { get; init; }

    public required string CodeRejected { get; init; }
}

/// <summary>Turns a <see cref="TokenEndpointFailure"/> into the SDK's exception family.</summary>
internal static class TokenErrorClassifier
{
    /// <summary>For refresh-style calls: <c>invalid_grant</c> means the stored grant is dead.</summary>
    public static AuthorizationException ForGrant(string providerName, string userName, TokenEndpointFailure failure, ProviderRemedies remedies)
    {
        if (failure.IsTransient)
        {
            return Transient(providerName, failure);
        }

        if (failure.Error == "invalid_grant")
        {
            return new ReauthorizationRequiredException(
                FTGateErrorCodes.ReauthorizationRequired,
                $"Provider '{providerName}': the stored authorization for {userName} is no longer valid ({failure.Describe()}); re-authorization needed.",
                remedies.InvalidGrant,
                providerName,
                userName,
                failure.Error,
                failure.ErrorDescription,
                failure.Inner);
        }

        return Other(providerName, failure, remedies, "refreshing the access token");
    }

    /// <summary>For redeeming an authorization code: <c>invalid_grant</c> means this code is unusable, not that a grant died.</summary>
    public static AuthorizationException ForCode(string providerName, TokenEndpointFailure failure, ProviderRemedies remedies)
    {
        if (failure.IsTransient)
        {
            return Transient(providerName, failure);
        }

        if (failure.Error == "invalid_grant")
        {
            return new AuthorizationException(
                FTGateErrorCodes.AuthorizationCodeRejected,
                $"Provider '{providerName}': the authorization code was rejected ({failure.Describe()}).",
                remedies.CodeRejected,
                providerName,
                failure.Error,
                failure.ErrorDescription,
                failure.Inner);
        }

        return Other(providerName, failure, remedies, "redeeming the authorization code");
    }

    /// <summary>For grants that need no stored state (client credentials, service accounts).</summary>
    public static AuthorizationException ForApp(string providerName, TokenEndpointFailure failure, ProviderRemedies remedies, string operation)
    {
        if (failure.IsTransient)
        {
            return Transient(providerName, failure);
        }

        return Other(providerName, failure, remedies, operation);
    }

    public static TransientAuthorizationException Transient(string providerName, TokenEndpointFailure failure) => new(
        failure.StatusCode is HttpStatusCode.TooManyRequests
            ? $"Provider '{providerName}': the token endpoint is throttling requests (HTTP 429); the stored authorization is kept."
            : $"Provider '{providerName}': the token endpoint is unavailable ({failure.Describe()}); the stored authorization is kept.",
        providerName,
        failure.RetryAfter,
        failure.Error,
        failure.ErrorDescription,
        failure.Inner);

    private static AuthorizationException Other(string providerName, TokenEndpointFailure failure, ProviderRemedies remedies, string operation)
    {
        (string code, string remedy) = failure.Error switch
        {
            "invalid_client" => (FTGateErrorCodes.InvalidClient, remedies.InvalidClient),
            "unauthorized_client" => (FTGateErrorCodes.UnauthorizedClient, remedies.UnauthorizedClient),
            "invalid_scope" => (FTGateErrorCodes.InvalidScope, remedies.InvalidScope),
            "access_denied" or "admin_policy_enforced" => (FTGateErrorCodes.AccessDenied, remedies.AccessDenied),
            "redirect_uri_mismatch" => (FTGateErrorCodes.RedirectUriMismatch, "Register the redirect URI exactly (scheme, host, port and path) with the provider, or use one that is registered."),
            "invalid_grant" => (FTGateErrorCodes.ProviderError, remedies.InvalidGrant),
            "expired_token" => (FTGateErrorCodes.DeviceCodeExpired, "Start the device sign-in again and finish it before the code expires."),
            _ => (FTGateErrorCodes.ProviderError, "Read the provider's error text in this message; if it does not explain itself, see docs/troubleshooting.md under provider_error."),
        };
        return new AuthorizationException(
            code,
            $"Provider '{providerName}': the provider refused {operation} ({failure.Describe()}).",
            remedy,
            providerName,
            failure.Error,
            failure.ErrorDescription,
            failure.Inner);
    }
}
