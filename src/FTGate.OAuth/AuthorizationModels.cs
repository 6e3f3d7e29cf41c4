using System.Collections.Specialized;
using System.Web;

namespace FTGate.OAuth;

/// <summary>What a host asks for when it starts an interactive authorization ("Authorize Now").</summary>
public sealed class AuthorizationRequest
{
    /// <summary>Creates a request for the given redirect URI.</summary>
    /// <param name="redirectUri">Where the provider sends the browser back: the host's callback URL, or a loopback URL.</param>
    public AuthorizationRequest(Uri redirectUri)
    {
        ArgumentNullException.ThrowIfNull(redirectUri);
        RedirectUri = redirectUri;
    }

    /// <summary>Where the provider sends the browser back. It must be registered with the provider exactly.</summary>
    public Uri RedirectUri { get; }

    /// <summary>The account to sign in; <see langword="null"/> uses the provider's configured user name.</summary>
    public string? UserName { get; init; }
}

/// <summary>The result of starting an interactive authorization: the URL to open and the state that ties the callback to it.</summary>
public sealed class AuthorizationChallenge
{
    /// <summary>Creates a challenge.</summary>
    /// <param name="authorizationUri">The provider's sign-in and consent URL to open in a browser.</param>
    /// <param name="state">The opaque <c>state</c> value carried through the redirect.</param>
    /// <param name="redirectUri">The redirect URI used in the request.</param>
    /// <param name="expiresOn">When the pending authorization expires.</param>
    public AuthorizationChallenge(Uri authorizationUri, string state, Uri redirectUri, DateTimeOffset expiresOn)
    {
        ArgumentNullException.ThrowIfNull(authorizationUri);
        ArgumentException.ThrowIfNullOrEmpty(state);
        ArgumentNullException.ThrowIfNull(redirectUri);
        AuthorizationUri = authorizationUri;
        State = state;
        RedirectUri = redirectUri;
        ExpiresOn = expiresOn;
    }

    /// <summary>The provider's sign-in and consent URL to open in a browser.</summary>
    public Uri AuthorizationUri { get; }

    /// <summary>The opaque <c>state</c> value that the callback must carry back.</summary>
    public string State { get; }

    /// <summary>The redirect URI used in the request.</summary>
    public Uri RedirectUri { get; }

    /// <summary>When the pending authorization expires (10 minutes after it was started).</summary>
    public DateTimeOffset ExpiresOn { get; }
}

/// <summary>What came back to the redirect URI: either <c>code</c> and <c>state</c>, or <c>error</c> and <c>error_description</c>.</summary>
public sealed class AuthorizationCallback
{
    /// <summary>The authorization code, when the provider granted access.</summary>
    public string? Code { get; init; }

    /// <summary>The <c>state</c> value returned by the provider.</summary>
    public string? State { get; init; }

    /// <summary>The OAuth error code (RFC 6749 §4.1.2.1), when the provider refused.</summary>
    public string? Error { get; init; }

    /// <summary>The provider's human-readable error description.</summary>
    public string? ErrorDescription { get; init; }

    /// <summary>The <c>iss</c> parameter (RFC 9207), when the provider sends one.</summary>
    public string? Issuer { get; init; }

    /// <summary>Reads a callback from the full redirect URI the browser was sent to.</summary>
    /// <param name="redirectedUri">The URI including its query string.</param>
    /// <returns>The parsed callback.</returns>
    public static AuthorizationCallback FromUri(Uri redirectedUri)
    {
        ArgumentNullException.ThrowIfNull(redirectedUri);
        return FromQuery(redirectedUri.Query);
    }

    /// <summary>Reads a callback from a query string (with or without the leading <c>?</c>).</summary>
    /// <param name="query">The query string.</param>
    /// <returns>The parsed callback.</returns>
    public static AuthorizationCallback FromQuery(string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        NameValueCollection values = HttpUtility.ParseQueryString(query.TrimStart('?'));
        return new AuthorizationCallback
        {
            Code = values["code"],
            State = values["state"],
            Error = values["error"],
            ErrorDescription = values["error_description"],
            Issuer = values["iss"],
        };
    }

    /// <summary>Describes the callback without the authorization code.</summary>
    /// <returns>A safe description.</returns>
    public override string ToString() =>
        Error is null ? $"AuthorizationCallback(code={(Code is null ? "none" : "present")})" : $"AuthorizationCallback(error={Error})";
}

/// <summary>The outcome of a completed authorization.</summary>
public sealed class AuthorizationResult
{
    /// <summary>Creates a result.</summary>
    /// <param name="providerName">The provider that was authorized.</param>
    /// <param name="userName">The account that signed in.</param>
    /// <param name="scopes">The scopes granted.</param>
    /// <param name="accessTokenExpiresOn">When the first access token expires.</param>
    public AuthorizationResult(string providerName, string userName, IReadOnlyList<string> scopes, DateTimeOffset accessTokenExpiresOn)
    {
        ArgumentNullException.ThrowIfNull(providerName);
        ArgumentNullException.ThrowIfNull(userName);
        ArgumentNullException.ThrowIfNull(scopes);
        ProviderName = providerName;
        UserName = userName;
        Scopes = scopes;
        AccessTokenExpiresOn = accessTokenExpiresOn;
    }

    /// <summary>The provider that was authorized.</summary>
    public string ProviderName { get; }

    /// <summary>The account that signed in.</summary>
    public string UserName { get; }

    /// <summary>The scopes granted.</summary>
    public IReadOnlyList<string> Scopes { get; }

    /// <summary>When the first access token expires.</summary>
    public DateTimeOffset AccessTokenExpiresOn { get; }

    /// <summary>Things the administrator should know although authorization succeeded (for example a 7-day refresh token).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>The sentence an administrator sees.</summary>
    /// <returns>"Authorization has been granted for …".</returns>
    public override string ToString() => $"Authorization has been granted for {UserName} (scopes: {string.Join(' ', Scopes)})";
}

/// <summary>Where a provider's authorization stands for one user.</summary>
public enum AuthorizationState
{
    /// <summary>Nobody has authorized this provider for the user yet (or the user signed out).</summary>
    NotAuthorized = 0,

    /// <summary>Tokens are stored and can be refreshed silently.</summary>
    Authorized = 1,

    /// <summary>The stored grant is dead (revoked, expired, password changed, policy): someone must run Authorize Now again.</summary>
    ReauthorizationRequired = 2,
}

/// <summary>The authorization status of one user at one provider.</summary>
public sealed class AuthorizationStatus
{
    /// <summary>Creates a status.</summary>
    /// <param name="providerName">The provider.</param>
    /// <param name="userName">The user.</param>
    /// <param name="state">Where the authorization stands.</param>
    public AuthorizationStatus(string providerName, string userName, AuthorizationState state)
    {
        ArgumentNullException.ThrowIfNull(providerName);
        ArgumentNullException.ThrowIfNull(userName);
        ProviderName = providerName;
        UserName = userName;
        State = state;
    }

    /// <summary>The provider.</summary>
    public string ProviderName { get; }

    /// <summary>The user.</summary>
    public string UserName { get; }

    /// <summary>Where the authorization stands.</summary>
    public AuthorizationState State { get; }

    /// <summary>When the current access token expires, when known.</summary>
    public DateTimeOffset? AccessTokenExpiresOn { get; init; }

    /// <summary>When the refresh token (or grant) was issued, when known.</summary>
    public DateTimeOffset? AuthorizedOn { get; init; }

    /// <summary>The scopes granted, when known.</summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];

    /// <summary>For <see cref="AuthorizationState.ReauthorizationRequired"/>: the stable error code (see docs/troubleshooting.md).</summary>
    public string? ErrorCode { get; init; }

    /// <summary>For <see cref="AuthorizationState.ReauthorizationRequired"/>: why, in the provider's words where available.</summary>
    public string? Reason { get; init; }

    /// <summary>What to do about it.</summary>
    public string? Remedy { get; init; }

    /// <summary>Warnings that do not (yet) stop collection, such as a refresh token close to a known expiry.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>A one-line description for status pages.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => State switch
    {
        AuthorizationState.Authorized => AccessTokenExpiresOn is { } e ? $"authorized (access token until {e:u})" : "authorized",
        AuthorizationState.ReauthorizationRequired => $"re-authorization needed: {Reason}",
        _ => "not authorized",
    };
}

/// <summary>The code a user types on another device during a device authorization grant (RFC 8628).</summary>
public sealed class DeviceCodeInfo
{
    /// <summary>Creates the device code information.</summary>
    /// <param name="verificationUri">The page where the user enters the code.</param>
    /// <param name="userCode">The code to enter.</param>
    /// <param name="expiresOn">When the code expires.</param>
    /// <param name="message">The provider's own instruction text, when it sends one.</param>
    public DeviceCodeInfo(Uri verificationUri, string userCode, DateTimeOffset expiresOn, string? message = null)
    {
        ArgumentNullException.ThrowIfNull(verificationUri);
        ArgumentException.ThrowIfNullOrEmpty(userCode);
        VerificationUri = verificationUri;
        UserCode = userCode;
        ExpiresOn = expiresOn;
        Message = message ?? $"To sign in, open {verificationUri} and enter the code {userCode}.";
    }

    /// <summary>The page where the user enters the code.</summary>
    public Uri VerificationUri { get; }

    /// <summary>The code to enter.</summary>
    public string UserCode { get; }

    /// <summary>The verification URI with the code filled in, when the server offers one.</summary>
    public Uri? VerificationUriComplete { get; init; }

    /// <summary>When the code expires.</summary>
    public DateTimeOffset ExpiresOn { get; }

    /// <summary>The instruction to show the user.</summary>
    public string Message { get; }
}
