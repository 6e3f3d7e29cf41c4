namespace FTGate.SmartPop;

/// <summary>
/// What the hosted poller is doing, account by account (registered by <c>builder.AddSmartPopPoller()</c>): when each
/// account was last polled and is next due, its failures, its stuck messages and whether it is paused. Read it for a health check or an
/// admin page.
/// </summary>
/// <example>
/// <code>
/// ISmartPopPollerStatus poller = services.GetRequiredService&lt;ISmartPopPollerStatus&gt;();
/// foreach (SmartPopAccountStatus account in poller.GetStatus().Where(a => a.State == SmartPopAccountState.Paused))
/// {
///     Console.WriteLine($"{account.AccountName}: {account.LastError}");
/// }
/// </code>
/// </example>
public interface ISmartPopPollerStatus
{
    /// <summary>The current state of every configured account.</summary>
    /// <returns>One status per configured account, in configuration order; a snapshot that does not change afterwards.</returns>
    IReadOnlyList<SmartPopAccountStatus> GetStatus();
}

/// <summary>Where a polled account stands.</summary>
public enum SmartPopAccountState
{
    /// <summary>Waiting for its next poll (or not polled yet).</summary>
    Idle,

    /// <summary>A fetch is running.</summary>
    Polling,

    /// <summary>Failed transiently; retried after a back-off.</summary>
    BackingOff,

    /// <summary>Its provider needs re-authorization; polling resumes once someone has authorized again.</summary>
    Paused,

    /// <summary>Disabled in configuration.</summary>
    Disabled,

    /// <summary>
    /// Another node holds the account's lease (<see cref="IAccountLeases"/>), or this node lost it during a fetch: this
    /// node skips the account until its next poll.
    /// </summary>
    LeaseHeldElsewhere,
}

/// <summary>The poller's view of one account (see <see cref="ISmartPopPollerStatus"/>).</summary>
public sealed class SmartPopAccountStatus
{
    /// <summary>The account.</summary>
    public required string AccountName { get; init; }

    /// <summary>Where it stands.</summary>
    public SmartPopAccountState State { get; init; }

    /// <summary>When the last fetch started; <see langword="null"/> before the first.</summary>
    public DateTimeOffset? LastPollAt { get; init; }

    /// <summary>When the next poll is due; <see langword="null"/> while polling, before the first poll and when disabled.</summary>
    public DateTimeOffset? NextPollAt { get; init; }

    /// <summary>The last completed fetch's result, if any.</summary>
    public FetchResult? LastResult { get; init; }

    /// <summary>The messages the last fetch could not deliver (too large, or the sink failed); empty when none.</summary>
    public IReadOnlyList<MessageFailure> Failures => LastResult?.Failures ?? [];

    /// <summary>
    /// Messages that have failed in several fetches in a row (<see cref="FetchResult.StuckMessages"/> of the last fetch):
    /// SmartPop keeps retrying them, but a person should look. Empty when none.
    /// </summary>
    public IReadOnlyList<MessageFailure> StuckMessages => LastResult?.StuckMessages ?? [];

    /// <summary>The last failure's error code, if the last poll failed or the account is paused.</summary>
    public string? LastErrorCode { get; init; }

    /// <summary>The last failure's message and remedy, if the last poll failed or the account is paused.</summary>
    public string? LastError { get; init; }

    /// <summary>Failed polls in a row.</summary>
    public int ConsecutiveFailures { get; init; }
}
