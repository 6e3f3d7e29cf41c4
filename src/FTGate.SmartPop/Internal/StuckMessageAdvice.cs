namespace FTGate.SmartPop.Internal;

/// <summary>
/// The Test's words for stuck messages (<see cref="FailureRecord.IsStuck"/>, read from the UIDL store's failure records): each
/// message named with its number at the last fetch, UIDL, failure count and the server's words (or the recorded reason), and
/// the fix that fits the recorded reason.
/// </summary>
internal static class StuckMessageAdvice
{
    /// <summary>At most this many messages are named; the rest are counted (<c>ftgate status</c> lists them all).</summary>
    internal const int MaxNamed = 10;

    /// <summary>What was recorded about the stuck messages, one clause per message.</summary>
    public static string Describe(IReadOnlyList<MessageFailure> stuck) =>
        $"{stuck.Count} message(s) stuck, failed in {FailureRecord.StuckAfter} or more fetches in a row: "
        + string.Join("; ", stuck.Take(MaxNamed).Select(f => $"{Name(f)} failed in {f.FailedFetches} fetches in a row [{f.ErrorCode}], {Words(f)}"))
        + More(stuck) + ".";

    /// <summary>Why it matters.</summary>
    public static string Cause =>
        "SmartPop retries a stuck message at every poll but cannot collect it; it stays on the server (not delivered, not deleted) "
        + "until someone acts. Numbers are the messages' numbers at the last fetch.";

    /// <summary>What to do, per message, by its recorded reason.</summary>
    public static string Remedy(IReadOnlyList<MessageFailure> stuck) =>
        string.Join(" ", stuck.Take(MaxNamed).Select(f => $"{Name(f)}: {Fix(f)}")) + More(stuck);

    private static string Name(MessageFailure f) =>
        (f.MessageNumber > 0 ? $"message {f.MessageNumber} (UIDL '{f.Uidl}')" : $"message UIDL '{f.Uidl}'");

    private static string Words(MessageFailure f) =>
        f.ServerReply is { Length: > 0 } reply ? $"the server said: {reply}" : $"reason: {f.Message}";

    private static string More(IReadOnlyList<MessageFailure> stuck) =>
        stuck.Count > MaxNamed ? $"; and {stuck.Count - MaxNamed} more (ftgate status lists them all)" : string.Empty;

    private static string Fix(MessageFailure f) => f.ErrorCode switch
    {
        SmartPopErrorCodes.DeliveryFailed =>
            "the host refused to store it (the reason above): fix the delivery (disk space, permissions, the sink's own log); the next poll collects it once the sink accepts it.",
        SmartPopErrorCodes.TransferBroken or SmartPopErrorCodes.Timeout or SmartPopErrorCodes.ConnectionLost =>
            "its download breaks every time: check the network or proxy between this host and the server and raise CommandTimeout if the server is slow; "
            + "if it still breaks, open the message in the mailbox's webmail and move it elsewhere or delete it on the server.",
        _ when f.ServerReply is { Length: > 0 } =>
            "the server refuses to hand it out: open the message in the mailbox's webmail; if it is damaged or unwanted, delete it on the server "
            + "(SmartPop stops retrying once it is gone); otherwise give the server's words above to the server's administrator.",
        _ =>
            "open the message in the mailbox's webmail; if it is damaged or unwanted, delete it on the server (SmartPop stops retrying once it is gone); "
            + "otherwise give the reason above to the server's administrator.",
    };
}
