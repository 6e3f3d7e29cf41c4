using Microsoft.Extensions.Logging;

namespace FTGate.OAuth.Internal;

/// <summary>Source-generated log messages of the Google (1200-1299) and generic OAuth2 (1300-1399) providers. No secrets.</summary>
internal static partial class ProviderLog
{
    // Google: 1200-1299
    [LoggerMessage(EventId = 1200, EventName = "GoogleAuthorizationStarted", Level = LogLevel.Information, Message = "Provider '{Provider}': Authorize Now started for {UserName}.")]
    public static partial void GoogleAuthorizationStarted(ILogger logger, string provider, string userName);

    [LoggerMessage(EventId = 1201, EventName = "GoogleAuthorizationCompleted", Level = LogLevel.Information, Message = "Provider '{Provider}': authorization has been granted for {UserName}; access token valid until {ExpiresOn:u}.")]
    public static partial void GoogleAuthorizationCompleted(ILogger logger, string provider, string userName, DateTimeOffset expiresOn);

    // 1203 (GoogleReauthorizationRequired) is retired: a delegated Google grant is refreshed by the shared grant flow, which
    // logs 1402 GrantReauthorizationRequired. Do not reuse the id.
    [LoggerMessage(EventId = 1204, EventName = "GoogleTokenEndpointTransient", Level = LogLevel.Warning, Message = "Provider '{Provider}': Google's token endpoint is throttling or unavailable ({Error}) for {UserName}; the stored refresh token is kept.")]
    public static partial void GoogleTokenEndpointTransient(ILogger logger, string provider, string userName, string error);

    [LoggerMessage(EventId = 1205, EventName = "GoogleTestingRefreshTokenNearExpiry", Level = LogLevel.Warning, Message = "Provider '{Provider}': the app is in Testing publishing status, so the refresh token for {UserName} expires about {ExpiresOn:u}. Publish the app (or make it Internal) and run Authorize Now again.")]
    public static partial void GoogleTestingRefreshTokenNearExpiry(ILogger logger, string provider, string userName, DateTimeOffset expiresOn);

    [LoggerMessage(EventId = 1206, EventName = "GoogleServiceAccountTokenIssued", Level = LogLevel.Debug, Message = "Provider '{Provider}': service account token issued for mailbox {UserName}; valid until {ExpiresOn:u}.")]
    public static partial void GoogleServiceAccountTokenIssued(ILogger logger, string provider, string userName, DateTimeOffset expiresOn);

    [LoggerMessage(EventId = 1207, EventName = "GoogleTokenRequestFailed", Level = LogLevel.Error, Message = "Provider '{Provider}': Google refused the token request for {UserName} ({Error}). {Remedy}")]
    public static partial void GoogleTokenRequestFailed(ILogger logger, string provider, string userName, string error, string? remedy);

    [LoggerMessage(EventId = 1208, EventName = "GoogleWrongAccount", Level = LogLevel.Warning, Message = "Provider '{Provider}': {SignedIn} signed in, but the provider is configured for {Expected}; the tokens were discarded.")]
    public static partial void GoogleWrongAccount(ILogger logger, string provider, string signedIn, string expected);

    [LoggerMessage(EventId = 1209, EventName = "GoogleSignedOut", Level = LogLevel.Information, Message = "Provider '{Provider}': signed out {UserName} (revoked at Google: {Revoked}).")]
    public static partial void GoogleSignedOut(ILogger logger, string provider, string userName, bool revoked);

    [LoggerMessage(EventId = 1210, EventName = "GoogleRevocationFailed", Level = LogLevel.Warning, Message = "Provider '{Provider}': revoking the token for {UserName} at Google failed ({Reason}); the local tokens are removed anyway.")]
    public static partial void GoogleRevocationFailed(ILogger logger, string provider, string userName, string reason);

    [LoggerMessage(EventId = 1211, EventName = "GoogleNoIdToken", Level = LogLevel.Warning, Message = "Provider '{Provider}': Google returned no id_token with an e-mail address, so the signed-in account could not be checked against {UserName}.")]
    public static partial void GoogleNoIdToken(ILogger logger, string provider, string userName);

    // Generic OAuth2: 1300-1399
    [LoggerMessage(EventId = 1300, EventName = "OAuth2DiscoveryLoaded", Level = LogLevel.Debug, Message = "Provider '{Provider}': discovery document {Address} loaded (issuer {Issuer}; device flow: {Device}; revocation: {Revocation}).")]
    public static partial void OAuth2DiscoveryLoaded(ILogger logger, string provider, string address, string? issuer, bool device, bool revocation);

    [LoggerMessage(EventId = 1301, EventName = "OAuth2DiscoveryFailed", Level = LogLevel.Error, Message = "Provider '{Provider}': the discovery document at {Address} could not be loaded ({Reason}).")]
    public static partial void OAuth2DiscoveryFailed(ILogger logger, string provider, string address, string reason);

    [LoggerMessage(EventId = 1302, EventName = "OAuth2AuthorizationStarted", Level = LogLevel.Information, Message = "Provider '{Provider}': Authorize Now started for {UserName}.")]
    public static partial void OAuth2AuthorizationStarted(ILogger logger, string provider, string userName);

    [LoggerMessage(EventId = 1303, EventName = "OAuth2AuthorizationCompleted", Level = LogLevel.Information, Message = "Provider '{Provider}': authorization has been granted for {UserName}; access token valid until {ExpiresOn:u}.")]
    public static partial void OAuth2AuthorizationCompleted(ILogger logger, string provider, string userName, DateTimeOffset expiresOn);

    [LoggerMessage(EventId = 1305, EventName = "OAuth2ReauthorizationRequired", Level = LogLevel.Error, Message = "Provider '{Provider}': the authorization for {UserName} is no longer valid ({Error}); re-authorization needed.")]
    public static partial void OAuth2ReauthorizationRequired(ILogger logger, string provider, string userName, string error);

    [LoggerMessage(EventId = 1306, EventName = "OAuth2TokenEndpointTransient", Level = LogLevel.Warning, Message = "Provider '{Provider}': the token endpoint is throttling or unavailable ({Error}) for {UserName}; the stored refresh token is kept.")]
    public static partial void OAuth2TokenEndpointTransient(ILogger logger, string provider, string userName, string error);

    [LoggerMessage(EventId = 1307, EventName = "OAuth2TokenRequestFailed", Level = LogLevel.Error, Message = "Provider '{Provider}': the authorization server refused the token request for {UserName} ({Error}).")]
    public static partial void OAuth2TokenRequestFailed(ILogger logger, string provider, string userName, string error);

    [LoggerMessage(EventId = 1308, EventName = "OAuth2WrongAccount", Level = LogLevel.Warning, Message = "Provider '{Provider}': {SignedIn} signed in, but the provider is configured for {Expected}; the tokens were discarded.")]
    public static partial void OAuth2WrongAccount(ILogger logger, string provider, string signedIn, string expected);

    [LoggerMessage(EventId = 1309, EventName = "OAuth2DeviceCodeIssued", Level = LogLevel.Information, Message = "Provider '{Provider}': device sign-in started; the user must visit {VerificationUri} before {ExpiresOn:u}.")]
    public static partial void OAuth2DeviceCodeIssued(ILogger logger, string provider, Uri verificationUri, DateTimeOffset expiresOn);

    [LoggerMessage(EventId = 1310, EventName = "OAuth2DeviceSlowDown", Level = LogLevel.Debug, Message = "Provider '{Provider}': the server asked to slow down; polling every {Interval}.")]
    public static partial void OAuth2DeviceSlowDown(ILogger logger, string provider, TimeSpan interval);

    [LoggerMessage(EventId = 1311, EventName = "OAuth2ClientCredentialsTokenIssued", Level = LogLevel.Debug, Message = "Provider '{Provider}': client credentials token issued; valid until {ExpiresOn:u}.")]
    public static partial void OAuth2ClientCredentialsTokenIssued(ILogger logger, string provider, DateTimeOffset expiresOn);

    [LoggerMessage(EventId = 1312, EventName = "OAuth2SignedOut", Level = LogLevel.Information, Message = "Provider '{Provider}': signed out {UserName} (revoked at the server: {Revoked}).")]
    public static partial void OAuth2SignedOut(ILogger logger, string provider, string userName, bool revoked);

    [LoggerMessage(EventId = 1313, EventName = "OAuth2RevocationFailed", Level = LogLevel.Warning, Message = "Provider '{Provider}': revoking the token for {UserName} failed ({Reason}); the local tokens are removed anyway.")]
    public static partial void OAuth2RevocationFailed(ILogger logger, string provider, string userName, string reason);

    [LoggerMessage(EventId = 1314, EventName = "OAuth2NoAccountClaim", Level = LogLevel.Warning, Message = "Provider '{Provider}': neither the id_token nor userinfo named the signed-in account, so it could not be checked against {UserName}.")]
    public static partial void OAuth2NoAccountClaim(ILogger logger, string provider, string userName);

    // 1400s: the shared refresh-token grant flow (Google, generic OAuth2, Microsoft's public code redemption).
    [LoggerMessage(EventId = 1400, EventName = "GrantRefreshed", Level = LogLevel.Debug, Message = "Provider '{Provider}': access token for {UserName} refreshed; valid until {ExpiresOn:u}; refresh token rotated: {Rotated}.")]
    public static partial void GrantRefreshed(ILogger logger, string provider, string userName, DateTimeOffset expiresOn, bool rotated);

    [LoggerMessage(EventId = 1401, EventName = "GrantRefreshedElsewhere", Level = LogLevel.Debug, Message = "Provider '{Provider}': the grant of {UserName} was refreshed by another holder of its lock meanwhile; its token (valid until {ExpiresOn:u}) is used without a request.")]
    public static partial void GrantRefreshedElsewhere(ILogger logger, string provider, string userName, DateTimeOffset expiresOn);

    [LoggerMessage(EventId = 1402, EventName = "GrantReauthorizationRequired", Level = LogLevel.Error, Message = "Provider '{Provider}': the authorization for {UserName} is no longer valid ({Error}); re-authorization needed. {Remedy}")]
    public static partial void GrantReauthorizationRequired(ILogger logger, string provider, string userName, string error, string? remedy);

    [LoggerMessage(EventId = 1403, EventName = "GrantTokenEndpointTransient", Level = LogLevel.Warning, Message = "Provider '{Provider}': the token endpoint is throttling, unreachable or unavailable ({Error}) for {UserName}; the stored refresh token is kept.")]
    public static partial void GrantTokenEndpointTransient(ILogger logger, string provider, string userName, string error);

    [LoggerMessage(EventId = 1404, EventName = "GrantTokenRequestFailed", Level = LogLevel.Error, Message = "Provider '{Provider}': the token endpoint refused the request for {UserName} ({Error}). {Remedy}")]
    public static partial void GrantTokenRequestFailed(ILogger logger, string provider, string userName, string error, string? remedy);

    [LoggerMessage(EventId = 1405, EventName = "GrantRetryAfterWindow", Level = LogLevel.Debug, Message = "Provider '{Provider}': no token request for {UserName} until {Until:u} (the endpoint's Retry-After).")]
    public static partial void GrantRetryAfterWindow(ILogger logger, string provider, string userName, DateTimeOffset until);

    [LoggerMessage(EventId = 1406, EventName = "GrantBindingChanged", Level = LogLevel.Warning, Message = "Provider '{Provider}': the stored grant of {UserName} was issued for another client, endpoint or tenant than configured now; it is not used and nothing is sent.")]
    public static partial void GrantBindingChanged(ILogger logger, string provider, string userName);
}
