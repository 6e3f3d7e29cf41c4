using Microsoft.Extensions.Logging;

namespace FTGate.OAuth.Internal;

/// <summary>Log messages of the Microsoft provider (EventIds 1100-1199). Never pass a token, secret, code or verifier.</summary>
internal static partial class MicrosoftLog
{
    [LoggerMessage(EventId = 1100, EventName = "MicrosoftAuthorizationStarted", Level = LogLevel.Information,
        Message = "Provider '{Provider}': Authorize Now started for {UserName} ({ClientType} client, redirect {RedirectUri}).")]
    public static partial void AuthorizationStarted(ILogger logger, string provider, string userName, string clientType, string redirectUri);

    [LoggerMessage(EventId = 1101, EventName = "MicrosoftAuthorizationCompleted", Level = LogLevel.Information,
        Message = "Provider '{Provider}': authorization granted for {UserName} via {Flow} (scopes: {Scopes}).")]
    public static partial void AuthorizationCompleted(ILogger logger, string provider, string userName, string flow, string scopes);

    [LoggerMessage(EventId = 1102, EventName = "MicrosoftAuthorizationFailed", Level = LogLevel.Warning,
        Message = "Provider '{Provider}': {Flow} for {UserName} failed with {ErrorCode}: {Reason}")]
    public static partial void AuthorizationFailed(ILogger logger, string provider, string userName, string flow, string errorCode, string reason);

    [LoggerMessage(EventId = 1103, EventName = "MicrosoftTokenAcquired", Level = LogLevel.Debug,
        Message = "Provider '{Provider}': access token for {UserName} from {Source}, expires {ExpiresOn:u} (sha256 {Fingerprint}).")]
    public static partial void TokenAcquired(ILogger logger, string provider, string userName, string source, DateTimeOffset expiresOn, string fingerprint);

    [LoggerMessage(EventId = 1104, EventName = "MicrosoftReauthorizationRequired", Level = LogLevel.Warning,
        Message = "Provider '{Provider}': re-authorization needed for {UserName} ({Error}): {Reason}")]
    public static partial void ReauthorizationRequired(ILogger logger, string provider, string userName, string error, string reason);

    [LoggerMessage(EventId = 1105, EventName = "MicrosoftTransientFailure", Level = LogLevel.Warning,
        Message = "Provider '{Provider}': token request for {UserName} failed temporarily ({Error}); retry after {RetryAfter}.")]
    public static partial void TransientFailure(ILogger logger, string provider, string userName, string error, TimeSpan? retryAfter);

    [LoggerMessage(EventId = 1106, EventName = "MicrosoftCacheWriteConflict", Level = LogLevel.Information,
        Message = "Provider '{Provider}': another writer changed the token cache entry; merging and retrying (attempt {Attempt}).")]
    public static partial void CacheWriteConflict(ILogger logger, string provider, int attempt);

    [LoggerMessage(EventId = 1107, EventName = "MicrosoftCacheWriteDroppedAfterSignOut", Level = LogLevel.Information,
        Message = "Provider '{Provider}': the account was signed out by another writer; the new tokens were discarded.")]
    public static partial void CacheWriteDroppedAfterSignOut(ILogger logger, string provider);

    [LoggerMessage(EventId = 1108, EventName = "MicrosoftDeviceCodeIssued", Level = LogLevel.Information,
        Message = "Provider '{Provider}': device code issued, verification at {VerificationUri}, expires {ExpiresOn:u}.")]
    public static partial void DeviceCodeIssued(ILogger logger, string provider, string verificationUri, DateTimeOffset expiresOn);

    [LoggerMessage(EventId = 1109, EventName = "MicrosoftSignedOut", Level = LogLevel.Information,
        Message = "Provider '{Provider}': tokens of {UserName} removed.")]
    public static partial void SignedOut(ILogger logger, string provider, string userName);

    [LoggerMessage(EventId = 1110, EventName = "MicrosoftClientSecretExpiring", Level = LogLevel.Warning,
        Message = "Provider '{Provider}': the client secret expires (or expired) on {ExpiresOn:u}; create a new one in Microsoft Entra.")]
    public static partial void ClientSecretExpiring(ILogger logger, string provider, DateTimeOffset expiresOn);
}
