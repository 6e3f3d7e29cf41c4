using Microsoft.Extensions.Logging;

namespace FTGate.Redis.Internal;

/// <summary>FTGate.Redis's source-generated log messages (EventIds 3000-3099). Never logs secrets or token material.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3000, EventName = "RedisConnectionFailed", Level = LogLevel.Warning, Message = "Redis at {Endpoint} is unreachable ({FailureType}); FTGate retries, and collection waits until it is back.")]
    public static partial void ConnectionFailed(ILogger logger, string endpoint, string failureType);

    [LoggerMessage(EventId = 3001, EventName = "RedisConnectionRestored", Level = LogLevel.Information, Message = "Redis at {Endpoint} is reachable again.")]
    public static partial void ConnectionRestored(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 3002, EventName = "RedisSettingUnsafe", Level = LogLevel.Warning, Message = "Redis at {Endpoint}: {Setting} is '{Value}'; {Consequence} Set {Fix} (see docs/farm.md).")]
    public static partial void SettingUnsafe(ILogger logger, string endpoint, string setting, string value, string consequence, string fix);

    [LoggerMessage(EventId = 3010, EventName = "AccountLeaseAcquired", Level = LogLevel.Debug, Message = "SmartPop account '{Account}': lease taken by node {Node} (fencing token {Fence}).")]
    public static partial void LeaseAcquired(ILogger logger, string account, string node, long fence);

    [LoggerMessage(EventId = 3011, EventName = "AccountLeaseLost", Level = LogLevel.Warning, Message = "SmartPop account '{Account}': lease lost ({Reason}); this node stops collecting it.")]
    public static partial void LeaseLost(ILogger logger, string account, string reason);

    [LoggerMessage(EventId = 3020, EventName = "GrantLockWait", Level = LogLevel.Debug, Message = "Grant '{Key}': waiting for another node's refresh.")]
    public static partial void GrantLockWait(ILogger logger, string key);
}
