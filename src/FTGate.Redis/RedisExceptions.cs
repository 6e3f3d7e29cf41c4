using FTGate.OAuth;

namespace FTGate.Redis;

/// <summary>The stable error codes of FTGate.Redis (listed in docs/farm.md and docs/troubleshooting.md).</summary>
public static class RedisErrorCodes
{
    /// <summary>Redis could not be reached, timed out, or is loading its data after a restart: transient, retried.</summary>
    public const string Unavailable = "redis_unavailable";

    /// <summary>This node's poll lease of an account was taken over by another node: the write was refused (fencing).</summary>
    public const string LeaseLost = "redis_lease_lost";
}

/// <summary>
/// Redis is unreachable, timed out, or not ready (loading after a restart). Transient: nothing was changed by the failed
/// operation's caller, and FTGate retries with back-off. The cause is the <see cref="Exception.InnerException"/>.
/// </summary>
public sealed class RedisUnavailableException : FTGateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What could not be done, naming Redis and its endpoints.</param>
    /// <param name="innerException">The client library's exception.</param>
    public RedisUnavailableException(string message, Exception? innerException = null)
        : base(
            RedisErrorCodes.Unavailable,
            message,
            "Check that redis-server is running and reachable from this node at FTGate:Redis:Configuration; FTGate retries on its own and logs when Redis is back.",
            innerException)
    {
    }
}

/// <summary>
/// This node lost its poll lease of an account (another node took it over after this one failed to renew it in time), so
/// the store refused its write: the other node now collects the account.
/// </summary>
public sealed class RedisLeaseLostException : FTGateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="accountName">The account.</param>
    public RedisLeaseLostException(string accountName)
        : base(
            RedisErrorCodes.LeaseLost,
            $"SmartPop account '{accountName}': this node's poll lease was taken over by another node, so its write was refused; the other node continues collecting the account.",
            "Nothing to do if it is rare (a long pause or a network split). If it repeats, raise FTGate:Redis:LeaseTime or look for pauses on this node.",
            null)
    {
        AccountName = accountName;
    }

    /// <summary>The account whose lease was lost.</summary>
    public string AccountName { get; }
}
