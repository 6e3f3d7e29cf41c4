using FTGate.OAuth;
using Microsoft.Extensions.Logging;

namespace FTGate.SmartPop.Internal;

/// <summary>
/// One <see cref="SmartPopClient.FetchAsync"/>, as named steps: <see cref="ConnectAsync"/> (connect + login, shared with the
/// Test), <see cref="PlanAsync"/> (listings, identity, seen set, what to download), <see cref="DeliverAsync"/> (stream each
/// RETR into the sink, record seen), <see cref="CommitAsync"/> (DELE + QUIT). A pass is one POP3 session; when a transfer
/// breaks (or a message grows past MaxMessageSize and the connection must be dropped) the next pass delivers the rest, so one
/// bad message never stops the others. <see cref="SmartPopAccount.FetchTimeout"/> bounds the whole fetch.
/// </summary>
internal sealed partial class FetchSession : IDisposable
{
    private const int MaxPasses = 5;
    private static readonly TimeSpan CommitGrace = TimeSpan.FromSeconds(10);

    private readonly SmartPopClient _client;
    private readonly SmartPopAccount _account;
    private readonly IMessageSink _sink;
    private readonly IProgress<FetchProgress>? _progress;
    private readonly CancellationToken _cancellation;
    private readonly CancellationTokenSource _deadline;
    private readonly CancellationTokenSource _hard;
    private readonly ILogger _logger;
    private readonly List<string> _warnings = [];
    private readonly Dictionary<string, (MessageFailure Failure, bool TooLarge)> _failed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _delivered = new(StringComparer.Ordinal);
    private readonly HashSet<string> _keep = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, FailureRecord> _previous = new Dictionary<string, FailureRecord>();
    private int _listed = -1, _new, _deliveredCount, _deleted, _tooLarge, _deferred, _pruned, _handled, _total, _uncommitted;
    private long _bytes;
    private bool _completed, _cancelled, _stopped, _listingComplete;
    private FetchError? _error;

    public FetchSession(SmartPopClient client, SmartPopAccount account, IMessageSink sink, IProgress<FetchProgress>? progress, CancellationToken cancellationToken)
    {
        _client = client;
        _account = account;
        _sink = sink;
        _progress = progress;
        _cancellation = cancellationToken;
        _deadline = new CancellationTokenSource(account.FetchTimeout, client.Time);
        _hard = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _deadline.Token);
        _logger = client.Logger;
    }

    private string Name => _account.Name;

    /// <summary>The token of every read and write: the caller's cancellation or the FetchTimeout.</summary>
    private CancellationToken Hard => _hard.Token;

    private bool DeadlinePassed => _deadline.IsCancellationRequested && !_cancellation.IsCancellationRequested;

    public void Dispose()
    {
        _hard.Dispose();
        _deadline.Dispose();
    }

    public async Task<FetchResult> RunAsync()
    {
        DateTimeOffset startedAt = _client.Time.GetUtcNow();
        long start = _client.Time.GetTimestamp();
        Log.FetchStarted(_logger, Name, _account.Host, _account.EffectivePort);
        Report(FetchStage.Connecting);
        _previous = await _client.Failures.LoadFailuresAsync(Name, _cancellation).ConfigureAwait(false);
        bool again = true;
        for (int pass = 1; again && pass <= MaxPasses; pass++)
        {
            IPop3Connection? connection = await ConnectAsync(pass).ConfigureAwait(false);
            if (connection is null)
            {
                break;
            }

            again = await RunPassAsync(connection, commitOnly: false).ConfigureAwait(false)
                && !_cancellation.IsCancellationRequested && !_deadline.IsCancellationRequested;
        }

        if (_uncommitted > 0 && DeadlinePassed && !_account.LeaveOnServer)
        {
            await CommitPassAsync().ConfigureAwait(false);
        }

        await SaveFailuresAsync().ConfigureAwait(false);
        _cancellation.ThrowIfCancellationRequested();
        FetchResult result = BuildResult(startedAt, _client.Time.GetElapsedTime(start));
        Report(FetchStage.Done);
        Log.FetchCompleted(_logger, Name, _deliveredCount, _bytes, _deleted, result.Failures.Count(f => f.ErrorCode != SmartPopErrorCodes.MessageTooLarge), _tooLarge, (long)result.Duration.TotalMilliseconds);
        return result;
    }

    /// <summary>Step 1: connect and log in. The first pass lets a login failure surface (as before); later passes report it.</summary>
    private async Task<IPop3Connection?> ConnectAsync(int pass)
    {
        try
        {
            (IPop3Connection connection, _) = await _client.ConnectAndLoginAsync(_account, Hard).ConfigureAwait(false);
            return connection;
        }
        catch (OperationCanceledException) when (DeadlinePassed)
        {
            if (pass == 1)
            {
                throw new Pop3ConnectionException(SmartPopErrorCodes.FetchTimeout, $"SmartPop account '{Name}': connecting and logging in to {_account.Host} took longer than FetchTimeout ({_account.FetchTimeout}).", TimeoutRemedy, Name, _account.Host);
            }

            SetError(SmartPopErrorCodes.FetchTimeout, StoppedMessage(), null, TimeoutRemedy);
            return null;
        }
        catch (FTGateException) when (pass == 1)
        {
            SmartPopMetrics.Failures.Add(1, SmartPopMetrics.Account(Name), SmartPopMetrics.Kind("login"));
            throw;
        }
        catch (Pop3Exception ex)
        {
            _error ??= ToError(ex);
            return null;
        }
    }

    /// <summary>One POP3 session: plan, deliver, commit. Returns whether another pass should deliver the rest.</summary>
    private async Task<bool> RunPassAsync(IPop3Connection connection, bool commitOnly)
    {
        bool usable = true;
        bool reconnect = false;
        FetchPlan? plan = null;
        try
        {
            plan = await PlanAsync(connection, commitOnly).ConfigureAwait(false);
            if (plan is null)
            {
                usable = false;
                reconnect = true;
            }
            else if (!commitOnly)
            {
                usable = await DeliverAsync(connection, plan).ConfigureAwait(false);
                reconnect = !usable && _error is null;
            }
        }
        catch (Pop3ConnectionException ex)
        {
            usable = false;
            _error ??= ToError(ex);
        }
        catch (OperationCanceledException) when (_hard.IsCancellationRequested)
        {
            usable = false;
            MarkInterrupted();
        }
        catch
        {
            // Anything else (the seen-UIDL store failed, a bug): the session is dropped without QUIT, nothing is committed.
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        try
        {
            Report(FetchStage.Finishing);
            await CommitAsync(connection, plan, usable).ConfigureAwait(false);
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        return reconnect;
    }

    /// <summary>After the FetchTimeout broke a transfer: a short session that only commits the deletions already due.</summary>
    private async Task CommitPassAsync()
    {
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(_cancellation);
        grace.CancelAfter(CommitGrace);
        try
        {
            (IPop3Connection connection, _) = await _client.ConnectAndLoginAsync(_account, grace.Token).ConfigureAwait(false);
            var pass = new FetchSession(_client, _account, _sink, null, _cancellation);
            await using (connection.ConfigureAwait(false))
            {
                FetchPlan? plan = await pass.PlanAsync(connection, commitOnly: true).ConfigureAwait(false);
                await pass.CommitAsync(connection, plan, usable: plan is not null, grace.Token).ConfigureAwait(false);
            }

            pass.Dispose();
            _deleted += pass._deleted;
            if (pass._deleted > 0)
            {
                _uncommitted = Math.Max(0, _uncommitted - pass._deleted);
                _warnings.Add($"The deletions of the messages delivered before the FetchTimeout were committed on a second, short connection ({pass._deleted}).");
            }
        }
        catch (Exception ex) when (ex is Pop3Exception or OperationCanceledException)
        {
            _warnings.Add($"The deletions of {_uncommitted} delivered message(s) could not be committed after the FetchTimeout; they are deleted in the next poll.");
        }
    }

    private void MarkInterrupted()
    {
        if (DeadlinePassed)
        {
            _stopped = true;
            SetError(SmartPopErrorCodes.FetchTimeout, StoppedMessage(), null, TimeoutRemedy);
        }
        else
        {
            _cancelled = true;
        }
    }

    private const string TimeoutRemedy = "Nothing was lost: the rest is collected in the next poll. If every fetch stops here, the server or the network is too slow for the mailbox: check them, or raise FetchTimeout (per account).";

    private string StoppedMessage() =>
        $"SmartPop account '{Name}': stopped at FetchTimeout ({_account.FetchTimeout}): {_deliveredCount} of {Math.Max(_total, _deliveredCount)} delivered; the rest next time.";

    private void SetError(string code, string message, string? serverReply, string? remedy) =>
        _error ??= new FetchError { ErrorCode = code, Message = message, ServerReply = serverReply, Remedy = remedy };

    private static FetchError ToError(Pop3Exception ex) =>
        new() { ErrorCode = ex.ErrorCode, Message = ex.Message, ServerReply = ex.ServerReply, Remedy = ex.Remedy };

    private void Warn(string warning)
    {
        if (!_warnings.Contains(warning))
        {
            _warnings.Add(warning);
        }
    }

    private void Report(FetchStage stage, string? uidl = null) =>
        _progress?.Report(new FetchProgress { AccountName = Name, Stage = stage, Total = _total, Completed = _handled, Bytes = _bytes, CurrentUidl = uidl });
}
