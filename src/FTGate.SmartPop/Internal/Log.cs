using Microsoft.Extensions.Logging;

namespace FTGate.SmartPop.Internal;

/// <summary>SmartPop's source-generated log messages (EventIds 2000-2099). Never logs secrets or message content.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2000, EventName = "FetchStarted", Level = LogLevel.Debug, Message = "SmartPop account '{Account}': fetch from {Host}:{Port} started.")]
    public static partial void FetchStarted(ILogger logger, string account, string host, int port);

    [LoggerMessage(EventId = 2001, EventName = "Connected", Level = LogLevel.Debug, Message = "SmartPop account '{Account}': connected to {Remote} (encrypted: {Encrypted}, {Protocol}) in {Milliseconds} ms.")]
    public static partial void Connected(ILogger logger, string account, string remote, bool encrypted, string? protocol, long milliseconds);

    [LoggerMessage(EventId = 2002, EventName = "Authenticated", Level = LogLevel.Debug, Message = "SmartPop account '{Account}': logged in with {Mechanism}.")]
    public static partial void Authenticated(ILogger logger, string account, string mechanism);

    [LoggerMessage(EventId = 2010, EventName = "Pop3AuthenticationFailed", Level = LogLevel.Warning, Message = "SmartPop account '{Account}': the server rejected the login: {ServerReply}")]
    public static partial void AuthenticationFailed(ILogger logger, string account, string? serverReply);

    [LoggerMessage(EventId = 2011, EventName = "RetryWithRefreshedToken", Level = LogLevel.Information, Message = "SmartPop account '{Account}': cached token rejected ({ServerReply}); forcing one refresh and reconnecting.")]
    public static partial void RetryWithRefreshedToken(ILogger logger, string account, string? serverReply);

    [LoggerMessage(EventId = 2020, EventName = "Listed", Level = LogLevel.Debug, Message = "SmartPop account '{Account}': {Listed} listed, {New} new, {Download} to download, {TooLarge} too large, {Deferred} deferred, {DeleteSeen} seen to delete.")]
    public static partial void Listed(ILogger logger, string account, int listed, int @new, int download, int tooLarge, int deferred, int deleteSeen);

    [LoggerMessage(EventId = 2021, EventName = "MessageTooLarge", Level = LogLevel.Warning, Message = "SmartPop account '{Account}': message {Uidl} ({Size} bytes) is larger than MaxMessageSize {Max} and was skipped.")]
    public static partial void MessageTooLarge(ILogger logger, string account, string uidl, long size, long max);

    [LoggerMessage(EventId = 2022, EventName = "NoUidl", Level = LogLevel.Warning, Message = "SmartPop account '{Account}': {Warning}")]
    public static partial void NoUidl(ILogger logger, string account, string warning);

    [LoggerMessage(EventId = 2030, EventName = "MessageDelivered", Level = LogLevel.Debug, Message = "SmartPop account '{Account}': message {Uidl} ({Size} bytes) delivered.")]
    public static partial void MessageDelivered(ILogger logger, string account, string uidl, long size);

    [LoggerMessage(EventId = 2031, EventName = "DeliveryFailed", Level = LogLevel.Error, Message = "SmartPop account '{Account}': the sink failed on message {Uidl}; it stays on the server and unseen.")]
    public static partial void DeliveryFailed(ILogger logger, Exception exception, string account, string uidl);

    [LoggerMessage(EventId = 2032, EventName = "WaitingForBudget", Level = LogLevel.Debug, Message = "SmartPop account '{Account}': waiting for {Bytes} bytes of memory budget ({Available} of {Capacity} free).")]
    public static partial void WaitingForBudget(ILogger logger, string account, long bytes, long available, long capacity);

    [LoggerMessage(EventId = 2040, EventName = "QuitFailed", Level = LogLevel.Warning, Message = "SmartPop account '{Account}': QUIT failed; {Pending} deletion(s) were not committed and will be retried.")]
    public static partial void QuitFailed(ILogger logger, Exception exception, string account, int pending);

    [LoggerMessage(EventId = 2041, EventName = "FetchAborted", Level = LogLevel.Warning, Message = "SmartPop account '{Account}': fetch stopped early: {Reason}")]
    public static partial void FetchAborted(ILogger logger, string account, string reason);

    [LoggerMessage(EventId = 2042, EventName = "FetchCompleted", Level = LogLevel.Information, Message = "SmartPop account '{Account}': {Delivered} delivered ({Bytes} bytes), {Deleted} deleted, {Failed} failed, {TooLarge} too large in {Milliseconds} ms.")]
    public static partial void FetchCompleted(ILogger logger, string account, int delivered, long bytes, int deleted, int failed, int tooLarge, long milliseconds);

    [LoggerMessage(EventId = 2050, EventName = "AccountPaused", Level = LogLevel.Error, Message = "SmartPop account '{Account}' is paused: provider '{Provider}' needs re-authorization. {Remedy}")]
    public static partial void AccountPaused(ILogger logger, string account, string? provider, string? remedy);

    [LoggerMessage(EventId = 2051, EventName = "AccountResumed", Level = LogLevel.Information, Message = "SmartPop account '{Account}' resumed: its provider is authorized again.")]
    public static partial void AccountResumed(ILogger logger, string account);

    [LoggerMessage(EventId = 2052, EventName = "PollFailed", Level = LogLevel.Warning, Message = "SmartPop account '{Account}': poll failed ({ErrorCode}); next attempt in {Delay}.")]
    public static partial void PollFailed(ILogger logger, Exception exception, string account, string errorCode, TimeSpan delay);

    [LoggerMessage(EventId = 2053, EventName = "ServiceStopping", Level = LogLevel.Information, Message = "SmartPop service stopping: letting {Running} running fetch(es) finish their current message and QUIT.")]
    public static partial void ServiceStopping(ILogger logger, int running);

    [LoggerMessage(EventId = 2054, EventName = "LeaseHeldElsewhere", Level = LogLevel.Debug, Message = "SmartPop account '{Account}': another node holds its lease; skipped until {NextPoll}.")]
    public static partial void LeaseHeldElsewhere(ILogger logger, string account, DateTimeOffset nextPoll);

    [LoggerMessage(EventId = 2055, EventName = "LeaseLost", Level = LogLevel.Warning, Message = "SmartPop account '{Account}': its lease was lost during the fetch; the fetch stopped before delivering more.")]
    public static partial void LeaseLost(ILogger logger, string account);
}
