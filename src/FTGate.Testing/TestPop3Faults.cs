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

    /// <summary>Turns every switch off.</summary>
    public void Reset()
    {
        AccountNotEnabledForPop = false;
        DisableUidl = false;
        DisableTop = false;
        ResponseDelay = TimeSpan.Zero;
        LineDelay = TimeSpan.Zero;
        Volatile.Write(ref _rejectAuthentications, 0);
        lock (_lock)
        {
            _dropTimes = 0;
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
