namespace FTGate.Testing;

/// <summary>
/// Switches that make a <see cref="TestPop3Server"/> misbehave the way real servers do. Every switch can be changed while sessions
/// run; it applies from the next command.
/// </summary>
public sealed class TestPop3Faults
{
    private readonly object _lock = new();
    private int _rejectAuthentications;
    private int _dropMessageNumber;
    private long _dropAfterBytes;
    private int _dropTimes;
    private readonly Dictionary<string, string?> _uidlOverrides = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _sizeOverrides = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Reply, int Times)> _retrRefusals = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RetrBehaviour> _retrBehaviours = new(StringComparer.Ordinal);
    private TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SemaphoreSlim _ticks = new(0);
    private TaskCompletionSource _tickSent = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal enum RetrBehaviour
    {
        Normal,
        Stall,
        Drip,
        Endless,
    }

    /// <summary>
    /// Gmail's <c>-ERR [SYS/PERM] Your account is not enabled for POP access. ...</c>: logins succeed, then STAT and every other
    /// mailbox command fail with it.
    /// </summary>
    public bool AccountNotEnabledForPop { get; set; }

    /// <summary>The server has no UIDL: CAPA does not list it and the command answers <c>-ERR Unknown command: UIDL</c>.</summary>
    public bool DisableUidl { get; set; }

    /// <summary>The server has no TOP: CAPA does not list it and the command answers <c>-ERR Unknown command: TOP</c>.</summary>
    public bool DisableTop { get; set; }

    /// <summary>A slow server: waits this long before each response.</summary>
    public TimeSpan ResponseDelay { get; set; }

    /// <summary>A slow server: waits this long before each line of a multi-line response (LIST, UIDL, RETR, TOP, CAPA).</summary>
    public TimeSpan LineDelay { get; set; }

    /// <summary>Rejects the next <paramref name="count"/> OAuth logins even when the token is valid, with the style's failure reply.</summary>
    /// <param name="count">How many logins to reject. Default 1.</param>
    public void RejectAuthentications(int count = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Volatile.Write(ref _rejectAuthentications, count);
    }

    /// <summary>
    /// Drops the connection (no reply, no QUIT, nothing committed) after sending <paramref name="afterBytes"/> bytes of message
    /// number <paramref name="messageNumber"/> in answer to RETR.
    /// </summary>
    /// <param name="messageNumber">The 1-based POP3 message number in the session.</param>
    /// <param name="afterBytes">How many bytes of the (dot-stuffed) message to send before dropping; 0 drops right after <c>+OK</c>.</param>
    /// <param name="times">How many RETRs to break this way. Default 1.</param>
    public void DropConnectionDuringRetr(int messageNumber, long afterBytes, int times = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(messageNumber, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(afterBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(times);
        lock (_lock)
        {
            _dropMessageNumber = messageNumber;
            _dropAfterBytes = afterBytes;
            _dropTimes = times;
        }
    }

    /// <summary>The server sends no greeting at all: the connection is accepted and stays silent.</summary>
    public bool SuppressGreeting { get; set; }

    /// <summary>Pads the greeting line with this many bytes (a hostile server's endless line). 0 sends the normal greeting.</summary>
    public int GreetingPadding { get; set; }

    /// <summary>Added to the message count STAT reports (a STAT that disagrees with LIST).</summary>
    public int StatCountOffset { get; set; }

    /// <summary>QUIT is answered <c>-ERR [SYS/TEMP] Unable to commit</c> and nothing (no deletion) is committed.</summary>
    public bool RefuseQuit { get; set; }

    /// <summary>
    /// Rewrites a listing before it is sent: called with <c>"LIST"</c> or <c>"UIDL"</c> and the lines (<c>"n value"</c>); return the
    /// lines to send (lines may be dropped, added, repeated or made out of range).
    /// </summary>
    public Func<string, IReadOnlyList<string>, IReadOnlyList<string>>? RewriteListing { get; set; }

    /// <summary>Waits until a stall, drip, endless or silent-greeting fault starts (a signal for tests, instead of a sleep).</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the fault has started.</returns>
    public Task WaitForStallAsync(CancellationToken cancellationToken = default)
    {
        Task stalled;
        lock (_lock)
        {
            stalled = _stalled.Task;
        }

        return stalled.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// UIDL lists the message stored under <paramref name="uid"/> as <paramref name="listedUidl"/> instead: any text, including
    /// spaces, control characters, another message's UIDL (duplicates) or thousands of characters; <see langword="null"/>
    /// leaves the message out of the UIDL listing. Keyed by the stored uid, so it survives deletions of other messages.
    /// </summary>
    /// <param name="uid">The message's uid in its <see cref="TestMailbox"/>.</param>
    /// <param name="listedUidl">What UIDL shows for it.</param>
    public void OverrideUidl(string uid, string? listedUidl)
    {
        ArgumentNullException.ThrowIfNull(uid);
        lock (_lock)
        {
            _uidlOverrides[uid] = listedUidl;
        }
    }

    /// <summary>LIST shows <paramref name="listedSize"/> as the size of the message stored under <paramref name="uid"/> (a lie: "-5", "3000000000", 20 digits...).</summary>
    /// <param name="uid">The message's uid.</param>
    /// <param name="listedSize">The text LIST shows as its size.</param>
    public void OverrideListSize(string uid, string listedSize)
    {
        ArgumentNullException.ThrowIfNull(uid);
        ArgumentNullException.ThrowIfNull(listedSize);
        lock (_lock)
        {
            _sizeOverrides[uid] = listedSize;
        }
    }

    /// <summary>RETR of the message stored under <paramref name="uid"/> is answered with <paramref name="reply"/> (a <c>-ERR</c> line).</summary>
    /// <param name="uid">The message's uid.</param>
    /// <param name="reply">The reply line. Default <c>-ERR [SYS/TEMP] Message is corrupted</c>.</param>
    /// <param name="times">How many RETRs to refuse. Default: every one.</param>
    public void RefuseRetr(string uid, string reply = "-ERR [SYS/TEMP] Message is corrupted", int times = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(uid);
        ArgumentNullException.ThrowIfNull(reply);
        lock (_lock)
        {
            _retrRefusals[uid] = (reply, times);
        }
    }

    /// <summary>RETR of <paramref name="uid"/> sends <c>+OK</c> and the first <paramref name="afterBytes"/> bytes, then nothing, ever (a stalled server).</summary>
    /// <param name="uid">The message's uid.</param>
    /// <param name="afterBytes">Bytes sent before the stall.</param>
    public void StallRetr(string uid, int afterBytes = 0) => SetBehaviour(uid, RetrBehaviour.Stall, afterBytes);

    /// <summary>RETR of <paramref name="uid"/> sends one byte of the message per <see cref="TickAsync"/> (a drip whose pace the test sets).</summary>
    /// <param name="uid">The message's uid.</param>
    public void DripRetr(string uid) => SetBehaviour(uid, RetrBehaviour.Drip, 0);

    /// <summary>RETR of <paramref name="uid"/> sends <c>+OK</c> and then one endless line of <c>x</c> until the client goes away.</summary>
    /// <param name="uid">The message's uid.</param>
    public void EndlessRetr(string uid) => SetBehaviour(uid, RetrBehaviour.Endless, 0);

    /// <summary>Lets a <see cref="DripRetr"/> send its next byte; completes once that byte was written.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the byte is on its way.</returns>
    public async Task TickAsync(CancellationToken cancellationToken = default)
    {
        Task sent;
        lock (_lock)
        {
            sent = _tickSent.Task;
        }

        _ticks.Release();
        await sent.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Turns every switch off.</summary>
    public void Reset()
    {
        SuppressGreeting = false;
        GreetingPadding = 0;
        StatCountOffset = 0;
        RefuseQuit = false;
        RewriteListing = null;
        AccountNotEnabledForPop = false;
        DisableUidl = false;
        DisableTop = false;
        ResponseDelay = TimeSpan.Zero;
        LineDelay = TimeSpan.Zero;
        Volatile.Write(ref _rejectAuthentications, 0);
        lock (_lock)
        {
            _dropTimes = 0;
            _uidlOverrides.Clear();
            _sizeOverrides.Clear();
            _retrRefusals.Clear();
            _retrBehaviours.Clear();
            _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
            _ticks = new SemaphoreSlim(0);
        }
    }

    internal void SignalStalled() => _stalled.TrySetResult();

    internal bool TryGetUidlOverride(string uid, out string? listed)
    {
        lock (_lock)
        {
            return _uidlOverrides.TryGetValue(uid, out listed);
        }
    }

    internal string? SizeOverride(string uid)
    {
        lock (_lock)
        {
            return _sizeOverrides.GetValueOrDefault(uid);
        }
    }

    internal string? TakeRetrRefusal(string uid)
    {
        lock (_lock)
        {
            if (!_retrRefusals.TryGetValue(uid, out (string Reply, int Times) refusal) || refusal.Times <= 0)
            {
                return null;
            }

            _retrRefusals[uid] = (refusal.Reply, refusal.Times == int.MaxValue ? int.MaxValue : refusal.Times - 1);
            return refusal.Reply;
        }
    }

    internal (RetrBehaviour Behaviour, int AfterBytes) GetRetrBehaviour(string uid)
    {
        lock (_lock)
        {
            return _retrBehaviours.TryGetValue(uid, out RetrBehaviour behaviour) ? (behaviour, _stallAfter.GetValueOrDefault(uid)) : (RetrBehaviour.Normal, 0);
        }
    }

    /// <summary>Waits for the test's next tick (a drip).</summary>
    internal async Task WaitTickAsync(CancellationToken cancellationToken)
    {
        SemaphoreSlim ticks;
        lock (_lock)
        {
            ticks = _ticks;
        }

        await ticks.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    internal void TickSent()
    {
        lock (_lock)
        {
            TaskCompletionSource sent = _tickSent;
            _tickSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
            sent.TrySetResult();
        }
    }

    private readonly Dictionary<string, int> _stallAfter = new(StringComparer.Ordinal);

    private void SetBehaviour(string uid, RetrBehaviour behaviour, int afterBytes)
    {
        ArgumentNullException.ThrowIfNull(uid);
        ArgumentOutOfRangeException.ThrowIfNegative(afterBytes);
        lock (_lock)
        {
            _retrBehaviours[uid] = behaviour;
            _stallAfter[uid] = afterBytes;
        }
    }

    internal bool TakeAuthenticationRejection()
    {
        while (true)
        {
            int current = Volatile.Read(ref _rejectAuthentications);
            if (current <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _rejectAuthentications, current - 1, current) == current)
            {
                return true;
            }
        }
    }

    internal long? TakeRetrDrop(int messageNumber)
    {
        lock (_lock)
        {
            if (_dropTimes <= 0 || _dropMessageNumber != messageNumber)
            {
                return null;
            }

            _dropTimes--;
            return _dropAfterBytes;
        }
    }
}
