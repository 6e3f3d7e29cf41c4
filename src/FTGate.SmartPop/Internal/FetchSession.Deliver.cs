using Microsoft.Extensions.Logging;

namespace FTGate.SmartPop.Internal;

internal sealed partial class FetchSession
{
    private readonly List<int> _passDeletes = [];

    /// <summary>
    /// Step 3: streams each planned message from the connection into the sink (batches of small messages pipelined), then
    /// per batch: sink commit, seen records, and only then the message is due for deletion. Stops starting downloads at the
    /// FetchTimeout or on cancellation. Returns whether the session is still usable.
    /// </summary>
    private async Task<bool> DeliverAsync(IPop3Connection connection, FetchPlan plan)
    {
        try
        {
            return await DeliverBatchesAsync(connection, plan).ConfigureAwait(false);
        }
        finally
        {
            await FinishCommitAsync().ConfigureAwait(false);
        }
    }

    private async Task<bool> DeliverBatchesAsync(IPop3Connection connection, FetchPlan plan)
    {
        Report(FetchStage.Downloading);
        foreach (IReadOnlyList<ListedMessage> batch in FetchPlanner.Batch(plan.Download, connection.Server.SupportsPipelining, _client.Options, _client.Budget.Capacity))
        {
            if (_hard.IsCancellationRequested)
            {
                MarkInterrupted();
                return true; // between messages: the session is in sync, QUIT commits what was delivered
            }

            long need = StreamingLease + (batch.Count * PerMessageOverhead);
            if (_client.Budget.Available < need)
            {
                Log.WaitingForBudget(_logger, Name, need, _client.Budget.Available, _client.Budget.Capacity);
            }

            ByteBudget.Lease lease;
            try
            {
                lease = await _client.Budget.AcquireAsync(need, Hard).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_hard.IsCancellationRequested)
            {
                MarkInterrupted();
                return true;
            }

            using (lease)
            {
                if (!await DeliverBatchAsync(connection, batch).ConfigureAwait(false))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private async Task<bool> DeliverBatchAsync(IPop3Connection connection, IReadOnlyList<ListedMessage> batch)
    {
        IMessageSinkBatch? sinkBatch = (_sink as IBatchingMessageSink)?.BeginBatch(Name);
        var accepted = new List<(ListedMessage Message, byte[] Digest, long Received)>(batch.Count);
        DateTimeOffset collectedAt = _client.Time.GetUtcNow();
        bool usable;
        try
        {
            usable = await StreamBatchAsync(connection, batch, async (m, stream) =>
            {
                if (await DeliverOneAsync(sinkBatch, m, stream, collectedAt).ConfigureAwait(false))
                {
                    accepted.Add((m, stream.Digest, stream.Received));
                }

                _handled++;
            }).ConfigureAwait(false);
        }
        catch
        {
            if (sinkBatch is not null)
            {
                await sinkBatch.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        // Also when the session broke or the fetch was cancelled: what was received completely is committed. The previous
        // batch's commit finishes first (seen records stay in order). With the Maildir sink (whose batches are independent)
        // this batch's flushes then run while the next batch streams: network and disk overlap instead of taking turns.
        await FinishCommitAsync().ConfigureAwait(false);
        var commit = new PendingCommit(accepted, collectedAt, MakeDurableAsync(sinkBatch, accepted, collectedAt));
        _pendingCommit = commit;
        if (!usable || _sink is not MaildirMessageSink)
        {
            await FinishCommitAsync().ConfigureAwait(false);
        }

        return usable;
    }

    private PendingCommit? _pendingCommit;

    /// <summary>A batch whose sink commit and seen records are being written; the accounting follows when it is awaited.</summary>
    private sealed record PendingCommit(List<(ListedMessage Message, byte[] Digest, long Received)> Accepted, DateTimeOffset CollectedAt, Task<Exception?> Durable);

    /// <summary>Waits for the batch being committed and accounts for it (on the fetch's own flow: no shared state is touched in parallel).</summary>
    private async Task FinishCommitAsync()
    {
        if (_pendingCommit is not { } commit)
        {
            return;
        }

        _pendingCommit = null;
        Exception? sinkFailure = await commit.Durable.ConfigureAwait(false);
        Account(commit.Accepted, commit.CollectedAt, sinkFailure);
    }

    /// <summary>Gives one message to the sink; true when the sink took it and it arrived whole (and as identified).</summary>
    private async Task<bool> DeliverOneAsync(IMessageSinkBatch? sinkBatch, ListedMessage m, RetrStream stream, DateTimeOffset collectedAt)
    {
        stream.ExpectedDigest = m.Digest;
        var metadata = new MessageMetadata(Name, m.SinkId, m.Size, collectedAt, m.Uidl.Length == 0);
        Report(FetchStage.Downloading, m.SinkId);
        try
        {
            if (sinkBatch is not null)
            {
                await sinkBatch.AddAsync(stream, metadata, Hard).ConfigureAwait(false);
            }
            else
            {
                await _sink.DeliverAsync(stream, metadata, Hard).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (stream.Outcome is RetrOutcome.TooLarge or RetrOutcome.Broken || (ex is OperationCanceledException && _hard.IsCancellationRequested))
        {
            return false; // the transfer's own failure (reported by CheckTransfer) or the fetch stopping
        }
        catch (Exception ex) when (stream.Outcome != RetrOutcome.Mismatch)
        {
            Log.DeliveryFailed(_logger, ex, Name, m.SinkId);
            Fail(m, SmartPopErrorCodes.DeliveryFailed, $"The sink failed ({ex.GetType().Name}: {ex.Message}); the message stays on the server and unseen, and is retried in the next poll.", null);
            return false;
        }
        catch (IOException)
        {
            // Mismatch, reported below.
        }

        if (stream.Outcome == RetrOutcome.Open)
        {
            await DrainQuietlyAsync(stream).ConfigureAwait(false);
        }

        if (stream.Outcome == RetrOutcome.Mismatch)
        {
            Fail(m, SmartPopErrorCodes.TransferBroken, $"Message {m.Number} changed on the server between its identification and its delivery; not delivered, retried in the next poll.", null);
        }

        return stream.Outcome == RetrOutcome.Complete;
    }

    /// <summary>
    /// The batch's sink commit, then its seen records (one durable write), off the fetch's flow. Returns the sink's commit
    /// failure (then nothing was recorded); a failing seen-record write is thrown.
    /// </summary>
    private Task<Exception?> MakeDurableAsync(IMessageSinkBatch? sinkBatch, List<(ListedMessage Message, byte[] Digest, long Received)> accepted, DateTimeOffset collectedAt) =>
        Task.Run(async () =>
        {
            try
            {
                if (accepted.Count == 0)
                {
                    return null;
                }

                if (sinkBatch is not null)
                {
                    try
                    {
                        await sinkBatch.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (Exception ex)
                    {
                        return ex;
                    }
                }

                // A message with a UIDL of its own records it and its content key (which tells it apart should the UIDL be reused).
                var keys = new List<string>(accepted.Count * 2);
                foreach ((ListedMessage m, byte[] digest, _) in accepted)
                {
                    keys.Add(m.Key!); // a planned message is identified: its Key is set
                    if (m.UniqueUidl && m.Key == m.Uidl)
                    {
                        keys.Add(MessageIdentity.ContentKey(m.Uidl, digest, 0));
                    }
                }

                await _client.Uidls.MarkSeenAsync(Name, keys, collectedAt, CancellationToken.None).ConfigureAwait(false);
                return (Exception?)null;
            }
            finally
            {
                if (sinkBatch is not null)
                {
                    await sinkBatch.DisposeAsync().ConfigureAwait(false);
                }
            }
        });

    /// <summary>Counts a committed batch as delivered (and due for deletion), or every message of it as failed.</summary>
    private void Account(List<(ListedMessage Message, byte[] Digest, long Received)> accepted, DateTimeOffset collectedAt, Exception? sinkFailure)
    {
        foreach ((ListedMessage m, _, long received) in accepted)
        {
            if (sinkFailure is not null)
            {
                Log.DeliveryFailed(_logger, sinkFailure, Name, m.SinkId);
                Fail(m, SmartPopErrorCodes.DeliveryFailed, $"The sink failed to commit ({sinkFailure.GetType().Name}: {sinkFailure.Message}); the message stays on the server and unseen, and is retried in the next poll.", null);
                continue;
            }

            _deliveredCount++;
            _bytes += received;
            _delivered.Add(m.Key!); // a planned message is identified: its Key is set
            SmartPopMetrics.Messages.Add(1, SmartPopMetrics.Account(Name));
            SmartPopMetrics.Bytes.Add(received, SmartPopMetrics.Account(Name));
            Log.MessageDelivered(_logger, Name, m.SinkId, received);
            if (FetchPlanner.ShouldDelete(collectedAt, _account, collectedAt))
            {
                _passDeletes.Add(m.Index);
            }
        }

        if (sinkFailure is null && accepted.Count > 0)
        {
            Report(FetchStage.Downloading, accepted[^1].Message.SinkId);
        }
    }

    /// <summary>
    /// Step 4: DELE the delivered messages (and seen ones due), then QUIT. A deletion counts only once QUIT was acknowledged;
    /// after a cancellation or the FetchTimeout this runs within a short grace period.
    /// </summary>
    private async Task CommitAsync(IPop3Connection connection, FetchPlan? plan, bool usable, CancellationToken? token = null)
    {
        var deletes = new List<int>(_passDeletes);
        _passDeletes.Clear();
        if (!usable)
        {
            if (deletes.Count > 0)
            {
                _uncommitted += deletes.Count;
                Warn($"The connection was lost before QUIT, so {deletes.Count} deletion(s) were not committed; they are retried in the next poll.");
            }

            return;
        }

        if (!_cancelled && plan is not null)
        {
            deletes.AddRange(plan.DeleteSeen.Select(m => m.Index).Where(i => !deletes.Contains(i)));
        }

        using var grace = new CancellationTokenSource(CommitGrace, _client.Time);
        CancellationToken ct = token ?? (_hard.IsCancellationRequested ? grace.Token : Hard);
        int pending = 0;
        try
        {
            pending = await DeleteAllAsync(connection, deletes, ct).ConfigureAwait(false);
            await connection.QuitAsync(ct).ConfigureAwait(false);
            _deleted += pending;
            _completed = true;
        }
        catch (Pop3CommandException ex)
        {
            _completed = false;
            _uncommitted += pending;
            Warn($"The server answered QUIT with '{ex.ServerReply}', so it committed none of the {pending} deletion(s); they are retried in the next poll.");
            SetError(SmartPopErrorCodes.QuitFailed, $"SmartPop account '{Name}': {_account.Host} refused QUIT ({ex.ServerReply}); it committed no deletion.", ex.ServerReply, "Nothing was lost: the deletions are retried in the next poll. If it persists, the server cannot commit (a full or read-only mailbox): tell its administrator.");
        }
        catch (Exception ex) when (ex is Pop3Exception or OperationCanceledException)
        {
            _completed = false;
            _uncommitted += pending;
            Log.QuitFailed(_logger, ex, Name, pending);
            if (pending > 0)
            {
                Warn($"QUIT failed, so {pending} deletion(s) were not committed; they are retried in the next poll.");
            }

            _error ??= ex is Pop3Exception pop ? ToError(pop) : new FetchError { ErrorCode = SmartPopErrorCodes.Timeout, Message = $"SmartPop account '{Name}': QUIT timed out." };
        }
    }

    private async Task<int> DeleteAllAsync(IPop3Connection connection, List<int> deletes, CancellationToken ct)
    {
        int pending = 0;
        foreach (int index in deletes)
        {
            try
            {
                await connection.DeleteAsync(index, ct).ConfigureAwait(false);
                pending++;
            }
            catch (Pop3CommandException ex)
            {
                Warn($"The server refused DELE {index + 1} ({ex.ServerReply}); that message is deleted in a later poll.");
            }
        }

        return pending;
    }

    /// <summary>Keeps the failure counts: one more for each message that failed now; unchanged for those not tried; gone once delivered or no longer listed.</summary>
    private async Task SaveFailuresAsync()
    {
        var records = new List<FailureRecord>();
        foreach ((string key, (MessageFailure f, bool overflow)) in _failed)
        {
            if (overflow || f.ErrorCode != SmartPopErrorCodes.MessageTooLarge)
            {
                records.Add(new FailureRecord(key, f.Uidl, f.FailedFetches, f.ErrorCode, f.Message, f.Size, overflow && f.ErrorCode == SmartPopErrorCodes.MessageTooLarge, _account.MaxMessageSize, f.MessageNumber, f.ServerReply));
            }
        }

        foreach (FailureRecord before in _previous.Values)
        {
            bool listed = _listed < 0 || _keep.Contains(before.Key) || _keep.Contains(MessageIdentity.UidlOf(before.Key));
            if (!_failed.ContainsKey(before.Key) && !_delivered.Contains(before.Key) && listed)
            {
                records.Add(before);
            }
        }

        try
        {
            await _client.Failures.SaveFailuresAsync(Name, records, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Warn($"The failure counts could not be saved ({ex.Message}); stuck messages are recognised later.");
        }
    }

    private FetchResult BuildResult(DateTimeOffset startedAt, TimeSpan duration)
    {
        var failures = _failed.Values.Select(f => f.Failure).ToList();
        var stuck = failures.Where(FailureRecord.IsStuck).ToList();
        foreach (MessageFailure f in stuck)
        {
            Warn($"Message {f.Uidl} failed in {f.FailedFetches} fetches in a row ({SmartPopErrorCodes.MessageStuck}): {f.Message}");
        }

        if (_error is not null)
        {
            Log.FetchAborted(_logger, Name, _error.Message);
            SmartPopMetrics.Failures.Add(1, SmartPopMetrics.Account(Name), SmartPopMetrics.Kind("connection"));
        }

        return new FetchResult
        {
            AccountName = Name,
            StartedAt = startedAt,
            Duration = duration,
            Listed = Math.Max(0, _listed),
            New = _new,
            Delivered = _deliveredCount,
            SkippedTooLarge = _tooLarge,
            Deferred = _deferred,
            Deleted = _deleted,
            Bytes = _bytes,
            Pruned = _pruned,
            Completed = _completed && _error is null && !_cancelled && !_stopped,
            Error = _error,
            Failures = failures,
            StuckMessages = stuck,
            Warnings = _warnings,
        };
    }
}
