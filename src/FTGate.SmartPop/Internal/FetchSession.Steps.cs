using System.Globalization;

namespace FTGate.SmartPop.Internal;

internal sealed partial class FetchSession
{
    /// <summary>Memory a batch holds while it streams (the reader's buffer and the sink's), leased from the shared budget.</summary>
    private const long StreamingLease = 64 * 1024;
    private const long PerMessageOverhead = 8 * 1024;

    /// <summary>
    /// Step 2: STAT, LIST, UIDL read raw; the listing's inconsistencies become warnings; every message gets its identity
    /// (content-identified ones are probed); seen keys no longer on the server are pruned; the planner decides. Returns
    /// <see langword="null"/> when a probe left the session unusable (the next pass goes on).
    /// </summary>
    private async Task<FetchPlan?> PlanAsync(IPop3Connection connection, bool commitOnly)
    {
        Report(FetchStage.Listing);
        (int statCount, _) = await connection.StatAsync(Hard).ConfigureAwait(false);
        IReadOnlyList<string> list = await connection.ListRawAsync("LIST", Hard).ConfigureAwait(false);
        IReadOnlyList<string>? uidl;
        try
        {
            // Asked even when CAPA does not list it (servers without CAPA); -ERR means no UIDL: messages are identified by content.
            uidl = await connection.ListRawAsync("UIDL", Hard).ConfigureAwait(false);
        }
        catch (Pop3CommandException)
        {
            uidl = null;
        }

        var problems = new List<string>();
        List<ListedMessage> messages = MessageIdentity.Parse(list, uidl, statCount, problems);
        _listingComplete = problems.Count == 0;
        foreach (string problem in problems)
        {
            Warn($"The server's listing is inconsistent ({SmartPopErrorCodes.ListingInconsistent}): {problem}.");
        }

        IReadOnlyDictionary<string, DateTimeOffset> seen = await _client.Uidls.GetSeenAsync(Name, Hard).ConfigureAwait(false);
        List<ListedMessage> probe = MessageIdentity.Classify(messages, seen, uidl is not null, out string? uidlWarning);
        if (uidlWarning is not null)
        {
            Warn($"{uidlWarning} ({SmartPopErrorCodes.UidlUnreliable})");
            Log.NoUidl(_logger, Name, uidlWarning);
        }

        if (!commitOnly && probe.Count > 0 && !await ProbeAsync(connection, messages, probe).ConfigureAwait(false))
        {
            return null;
        }

        if (_listed < 0)
        {
            _listed = messages.Count;
            HashSet<string> keep = MessageIdentity.StillOnServer(messages, [.. messages.Select(m => m.Uidl)], seen);
            _keep.UnionWith(keep);
            if (!commitOnly && _listingComplete)
            {
                _pruned = await _client.Uidls.PruneAsync(Name, keep, Hard).ConfigureAwait(false);
            }
        }

        var knownTooLarge = new HashSet<string>(_previous.Values.Where(r => r.TooLarge && r.Limit >= _account.MaxMessageSize).Select(r => r.Key), StringComparer.Ordinal);
        var failedNow = new HashSet<string>(_failed.Keys, StringComparer.Ordinal);
        FetchPlan plan = FetchPlanner.Plan(messages, seen, _account, _client.Time.GetUtcNow(), knownTooLarge, failedNow);
        if (!commitOnly)
        {
            RecordPlan(plan, knownTooLarge);
        }

        return plan;
    }

    private void RecordPlan(FetchPlan plan, HashSet<string> knownTooLarge)
    {
        _new = Math.Max(_new, plan.New + _deliveredCount);
        _deferred = plan.Deferred;
        _total = _deliveredCount + plan.Download.Count;
        Log.Listed(_logger, Name, _listed, plan.New, plan.Download.Count, plan.TooLarge.Count, plan.Deferred, plan.DeleteSeen.Count);
        foreach (ListedMessage big in plan.TooLarge)
        {
            // The plan holds identified messages only: their Key is set.
            if (_failed.ContainsKey(big.Key!))
            {
                continue;
            }

            _tooLarge++;
            bool received = knownTooLarge.Contains(big.Key!) && big.Size <= _account.MaxMessageSize; // identified: Key is set
            Log.MessageTooLarge(_logger, Name, big.SinkId, big.Size, _account.MaxMessageSize);
            Fail(big, SmartPopErrorCodes.MessageTooLarge, received
                ? $"More than MaxMessageSize {_account.MaxMessageSize} bytes arrived in an earlier fetch (LIST said {big.Size}); skipped without downloading and left on the server."
                : $"{big.Size} bytes is more than MaxMessageSize {_account.MaxMessageSize}; skipped and left on the server.", null, tooLarge: received, countsAsFailure: false);
            SmartPopMetrics.Skipped.Add(1, SmartPopMetrics.Account(Name));
        }

        if (plan.Deferred > 0)
        {
            Warn($"{plan.Deferred} new message(s) left for the next poll (MaxMessagesPerPoll {_account.MaxMessagesPerPoll}).");
        }
    }

    /// <summary>Retrieves each content-identified message once, without delivering it, to learn its digest (its identity).</summary>
    private async Task<bool> ProbeAsync(IPop3Connection connection, List<ListedMessage> messages, List<ListedMessage> probe)
    {
        var digests = new Dictionary<int, byte[]>();
        var wanted = new List<ListedMessage>();
        foreach (ListedMessage m in probe)
        {
            if (m.Size > _account.MaxMessageSize)
            {
                _tooLarge++;
                Fail(m, SmartPopErrorCodes.MessageTooLarge, $"{m.Size} bytes is more than MaxMessageSize {_account.MaxMessageSize}; skipped and left on the server.", null, tooLarge: false, countsAsFailure: false);
            }
            else if (!_failed.ContainsKey(FailureKey(m)))
            {
                wanted.Add(m);
            }
        }

        bool usable = true;
        foreach (IReadOnlyList<ListedMessage> batch in FetchPlanner.Batch(wanted, connection.Server.SupportsPipelining, _client.Options, _client.Budget.Capacity))
        {
            usable = await StreamBatchAsync(connection, batch, async (m, stream) =>
            {
                await stream.DrainAsync(Hard).ConfigureAwait(false);
                if (stream.Outcome == RetrOutcome.Complete)
                {
                    digests[m.Index] = stream.Digest;
                }
            }).ConfigureAwait(false);
            if (!usable)
            {
                break;
            }
        }

        MessageIdentity.AssignContentKeys(messages, digests);
        return usable;
    }

    /// <summary>
    /// Sends the batch's RETRs (pipelined when several) and hands each answer's stream to <paramref name="handle"/>. A
    /// <c>-ERR</c> fails that message only; a message that grows past MaxMessageSize or whose transfer breaks fails, and the
    /// session is then unusable (returns <see langword="false"/>).
    /// </summary>
    private async Task<bool> StreamBatchAsync(IPop3Connection connection, IReadOnlyList<ListedMessage> batch, Func<ListedMessage, RetrStream, Task> handle)
    {
        await connection.SendRetrAsync([.. batch.Select(m => m.Index)], Hard).ConfigureAwait(false);
        foreach (ListedMessage m in batch)
        {
            RetrStream stream;
            try
            {
                stream = await connection.ReadRetrAsync(m.Index, _account.MaxMessageSize, Hard).ConfigureAwait(false);
            }
            catch (Pop3CommandException ex)
            {
                Fail(m, ex.ErrorCode, $"The server refused RETR {m.Number}: {ex.ServerReply}; the message stays on the server and is retried in the next poll.", ex.ServerReply);
                continue;
            }
            catch (Pop3ConnectionException ex) when (!_hard.IsCancellationRequested)
            {
                string code = ex.ErrorCode == SmartPopErrorCodes.Timeout ? SmartPopErrorCodes.Timeout : SmartPopErrorCodes.TransferBroken;
                Fail(m, code, $"The transfer of message {m.Number} broke before it began ({ex.Message}); it stays on the server and is retried (the rest of the mailbox is collected on a new connection).", ex.ServerReply);
                return false;
            }

            using (stream)
            {
                await handle(m, stream).ConfigureAwait(false);
                if (stream.Outcome == RetrOutcome.Open)
                {
                    await DrainQuietlyAsync(stream).ConfigureAwait(false);
                }

                if (!CheckTransfer(m, stream))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private async Task DrainQuietlyAsync(RetrStream stream)
    {
        try
        {
            await stream.DrainAsync(Hard).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The outcome (TooLarge or Broken) says what happened.
        }
    }

    /// <summary>Fails a message whose transfer did not end cleanly; false when the session is unusable.</summary>
    private bool CheckTransfer(ListedMessage m, RetrStream stream)
    {
        switch (stream.Outcome)
        {
            case RetrOutcome.TooLarge:
                _tooLarge++;
                Fail(m, SmartPopErrorCodes.MessageTooLarge, $"More than MaxMessageSize {_account.MaxMessageSize} bytes arrived (LIST said {m.Size}); the download was abandoned, the message stays on the server and later fetches skip it without downloading.", null, tooLarge: true, countsAsFailure: false);
                return false;
            case RetrOutcome.Broken when _hard.IsCancellationRequested:
                MarkInterrupted();
                return false;
            case RetrOutcome.Broken:
                string code = stream.Failure is Pop3TimeoutException ? SmartPopErrorCodes.Timeout : SmartPopErrorCodes.TransferBroken;
                Fail(m, code, $"The transfer of message {m.Number} broke after {stream.Received} bytes ({stream.Failure?.Message}); it stays on the server and is retried (the rest of the mailbox is collected on a new connection).", null);
                return false;
            default:
                return true;
        }
    }

    /// <summary>Records a per-message failure (once per message and fetch).</summary>
    private void Fail(ListedMessage m, string code, string message, string? serverReply, bool tooLarge = false, bool countsAsFailure = true)
    {
        string key = FailureKey(m);
        if (_failed.ContainsKey(key))
        {
            return;
        }

        if (countsAsFailure)
        {
            SmartPopMetrics.Failures.Add(1, SmartPopMetrics.Account(Name), SmartPopMetrics.Kind("message"));
        }

        int fetches = (_previous.TryGetValue(key, out FailureRecord? before) && before.ErrorCode != SmartPopErrorCodes.MessageTooLarge ? before.Fetches : 0) + 1;
        _failed[key] = (new MessageFailure
        {
            Uidl = MessageIdentity.Shown(m.SinkId),
            Size = m.Size,
            ErrorCode = code,
            Message = message,
            MessageNumber = m.Number,
            ServerReply = serverReply,
            FailedFetches = tooLarge ? 1 : fetches,
        }, tooLarge);
    }

    /// <summary>The key failures are counted under: the identity key, or for a message not yet identified its UIDL and size.</summary>
    private static string FailureKey(ListedMessage m) =>
        m.Key ?? m.Uidl + "\n#size" + m.Size.ToString(CultureInfo.InvariantCulture);
}
