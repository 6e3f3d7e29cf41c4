using System.Net;

namespace FTGate.OAuth.Internal;

/// <summary>What went wrong at a token endpoint, in library-neutral terms (no secrets).</summary>
internal sealed class TokenEndpointFailure
{
    public string? Error { get; init; }

    public string? ErrorDescription { get; init; }

    public HttpStatusCode? StatusCode { get; init; }

    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The request never got an OAuth answer (DNS, connection refused, TLS, timeout).</summary>
    public bool Network { get; init; }

    public Exception? Inner { get; init; }

    /// <summary>429, 5xx, <c>temporarily_unavailable</c>/<c>server_error</c> or a network failure: the grant is intact.</summary>
    public bool IsTransient =>
        Network
        || StatusCode is HttpStatusCode.TooManyRequests
        || (StatusCode is { } s && (int)s >= 500)
        || Error is "temporarily_unavailable" or "server_error" or "rate_limit_exceeded";

    public string Describe() =>
        Error is null
            ? (StatusCode is { } s ? $"HTTP {(int)s}" : Inner?.GetType().Name ?? "no response")
            : ErrorDescription is null ? Error : $"{Error}: {ErrorDescription}";
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
