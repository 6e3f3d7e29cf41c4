namespace FTGate.SmartPop;

/// <summary>What one <see cref="ISmartPopClient.FetchAsync"/> did. Serializable with System.Text.Json (the CLI's <c>--json</c>).</summary>
public sealed class FetchResult
{
    /// <summary>The SmartPop account.</summary>
    public required string AccountName { get; init; }

    /// <summary>When the fetch started.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>How long it took.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Messages the server listed.</summary>
    public int Listed { get; init; }

    /// <summary>Listed messages not yet seen.</summary>
    public int New { get; init; }

    /// <summary>Messages delivered to the sink (and recorded as seen).</summary>
    public int Delivered { get; init; }

    /// <summary>New messages skipped because they are larger than the account's MaxMessageSize (never downloaded).</summary>
    public int SkippedTooLarge { get; init; }

    /// <summary>New messages left for the next poll because of MaxMessagesPerPoll.</summary>
    public int Deferred { get; init; }

    /// <summary>Messages deleted from the server (DELE committed by QUIT).</summary>
    public int Deleted { get; init; }

    /// <summary>Bytes delivered (as received, after dot-unstuffing).</summary>
    public long Bytes { get; init; }

    /// <summary>Seen UIDLs forgotten because they are no longer on the server.</summary>
    public int Pruned { get; init; }

    /// <summary><see langword="true"/> when the fetch ran to the end and QUIT was acknowledged.</summary>
    public bool Completed { get; init; }

    /// <summary>Why the fetch stopped early (the connection broke, or it was cancelled); <see langword="null"/> when it completed.</summary>
    public FetchError? Error { get; init; }

    /// <summary>Per-message problems: messages skipped as too large, retrievals the server refused or that broke, and deliveries that failed.</summary>
    public IReadOnlyList<MessageFailure> Failures { get; init; } = [];

    /// <summary>
    /// Messages that failed in <see cref="MessageFailure.FailedFetches"/> (3 or more) fetches in a row: SmartPop keeps retrying
    /// them, but a person should look (the failure carries the server's words). Empty when none.
    /// </summary>
    public IReadOnlyList<MessageFailure> StuckMessages { get; init; } = [];

    /// <summary>Warnings an administrator should read (for example "server has no UIDL", "deletions not committed").</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>Why a fetch stopped early.</summary>
public sealed class FetchError
{
    /// <summary>The stable error code.</summary>
    public required string ErrorCode { get; init; }

    /// <summary>What happened.</summary>
    public required string Message { get; init; }

    /// <summary>The server's own words, when any.</summary>
    public string? ServerReply { get; init; }

    /// <summary>What to do, when a person can act.</summary>
    public string? Remedy { get; init; }
}

/// <summary>One message that was not delivered.</summary>
public sealed class MessageFailure
{
    /// <summary>The message's UIDL.</summary>
    public required string Uidl { get; init; }

    /// <summary>The listed size in bytes.</summary>
    public long Size { get; init; }

    /// <summary>The stable error code (<see cref="SmartPopErrorCodes.DeliveryFailed"/>, <c>message_too_large</c>, ...).</summary>
    public required string ErrorCode { get; init; }

    /// <summary>What went wrong. Never contains message content or secrets.</summary>
    public required string Message { get; init; }

    /// <summary>The message's number in the POP3 session (1-based), when known.</summary>
    public int MessageNumber { get; init; }

    /// <summary>The server's own words (for example its <c>-ERR</c> line), when it said something.</summary>
    public string? ServerReply { get; init; }

    /// <summary>In how many fetches in a row this message failed (1 the first time).</summary>
    public int FailedFetches { get; init; } = 1;
}

/// <summary>The stage a fetch is in.</summary>
public enum FetchStage
{
    /// <summary>Getting a token and connecting.</summary>
    Connecting,

    /// <summary>Logging in.</summary>
    Authenticating,

    /// <summary>Reading UIDL and LIST.</summary>
    Listing,

    /// <summary>Downloading and delivering messages.</summary>
    Downloading,

    /// <summary>Sending QUIT.</summary>
    Finishing,

    /// <summary>Done.</summary>
    Done,
}

/// <summary>Progress of a fetch, for hosts and the CLI.</summary>
public sealed class FetchProgress
{
    /// <summary>The SmartPop account.</summary>
    public required string AccountName { get; init; }

    /// <summary>The current stage.</summary>
    public FetchStage Stage { get; init; }

    /// <summary>Messages to download in this poll.</summary>
    public int Total { get; init; }

    /// <summary>Messages handled so far (delivered or failed).</summary>
    public int Completed { get; init; }

    /// <summary>Bytes delivered so far.</summary>
    public long Bytes { get; init; }

    /// <summary>The UIDL being handled, when downloading.</summary>
    public string? CurrentUidl { get; init; }
}
