namespace FTGate.SmartPop.Internal;

/// <summary>A listed message: its number in the session (0-based), its UIDL exactly as sent ("" when none), LIST size and identity key.</summary>
internal sealed record ListedMessage(int Index, string Uidl, long Size)
{
    /// <summary>The store key (<see cref="MessageIdentity"/>); <see langword="null"/> until a content-identified message was probed.</summary>
    public string? Key { get; init; } = Uidl.Length > 0 ? Uidl : null;

    /// <summary>Whether the UIDL is listed once (then the plain UIDL is recorded too).</summary>
    public bool UniqueUidl { get; init; } = Uidl.Length > 0;

    /// <summary>The probed digest of a content-identified message; the delivery must match it.</summary>
    public byte[]? Digest { get; init; }

    /// <summary>The POP3 message number.</summary>
    public int Number => Index + 1;

    /// <summary>The id the sink and the reports get.</summary>
    public string SinkId => Key is null ? (Uidl.Length > 0 ? Uidl : $"#{Number}") : MessageIdentity.SinkId(Key);
}

internal sealed record FetchPlan(
    IReadOnlyList<ListedMessage> Download,
    IReadOnlyList<ListedMessage> TooLarge,
    IReadOnlyList<ListedMessage> DeleteSeen,
    int New,
    int Deferred);

/// <summary>The pure decisions of a poll: what is new, what is too large, what is deferred, which seen messages to delete.</summary>
internal static class FetchPlanner
{
    public static FetchPlan Plan(IReadOnlyList<ListedMessage> listed, IReadOnlyDictionary<string, DateTimeOffset> seen, SmartPopAccount account, DateTimeOffset now, IReadOnlySet<string>? knownTooLarge = null, IReadOnlySet<string>? exclude = null)
    {
        var download = new List<ListedMessage>();
        var tooLarge = new List<ListedMessage>();
        var deleteSeen = new List<ListedMessage>();
        int @new = 0;
        int deferred = 0;
        foreach (ListedMessage message in listed)
        {
            if (message.Key is not { } key || exclude?.Contains(key) == true)
            {
                continue; // not identified (its probe failed), or already failed in this fetch
            }

            if (seen.TryGetValue(key, out DateTimeOffset firstSeen))
            {
                if (ShouldDelete(firstSeen, account, now))
                {
                    deleteSeen.Add(message);
                }

                continue;
            }

            @new++;
            if (message.Size > account.MaxMessageSize || knownTooLarge?.Contains(key) == true)
            {
                tooLarge.Add(message);
            }
            else if (account.MaxMessagesPerPoll > 0 && download.Count >= account.MaxMessagesPerPoll)
            {
                deferred++;
            }
            else
            {
                download.Add(message);
            }
        }

        return new FetchPlan(download, tooLarge, deleteSeen, @new, deferred);
    }

    /// <summary>Delete policy for a message already delivered: delete mode, or older than DeleteAfterDays.</summary>
    public static bool ShouldDelete(DateTimeOffset firstSeen, SmartPopAccount account, DateTimeOffset now) =>
        !account.LeaveOnServer
        || (account.DeleteAfterDays is int days && now - firstSeen >= TimeSpan.FromDays(days));

    /// <summary>Groups the downloads into RETR batches: singles, or (with PIPELINING) runs of small messages up to the batch cap.</summary>
    public static IReadOnlyList<IReadOnlyList<ListedMessage>> Batch(IReadOnlyList<ListedMessage> download, bool pipelining, SmartPopOptions options, long budget)
    {
        var batches = new List<IReadOnlyList<ListedMessage>>();
        long cap = Math.Min(options.PipelineBatchMaxBytes, budget / 2);
        List<ListedMessage>? current = null;
        long currentBytes = 0;
        foreach (ListedMessage message in download)
        {
            bool small = pipelining && options.PipelineMessageMaxBytes > 0 && message.Size <= options.PipelineMessageMaxBytes && message.Size <= cap;
            if (!small)
            {
                Flush();
                batches.Add([message]);
                continue;
            }

            if (current is not null && (currentBytes + message.Size > cap || current.Count >= 100))
            {
                Flush();
            }

            current ??= [];
            current.Add(message);
            currentBytes += message.Size;
        }

        Flush();
        return batches;

        void Flush()
        {
            if (current is { Count: > 0 })
            {
                batches.Add(current);
            }

            current = null;
            currentBytes = 0;
        }
    }
}
