namespace FTGate.Testing;

/// <summary>What happened on a <see cref="TestPop3Server"/>, for assertions. Thread-safe.</summary>
public sealed class TestPop3Counters
{
    private int _sessions;
    private int _activeSessions;
    private int _successfulLogins;
    private int _failedLogins;
    private int _retrCount;
    private int _topCount;
    private int _messagesDeleted;
    private int _quitCount;

    /// <summary>Connections accepted.</summary>
    public int Sessions => Volatile.Read(ref _sessions);

    /// <summary>Connections open now.</summary>
    public int ActiveSessions => Volatile.Read(ref _activeSessions);

    /// <summary>Successful logins (any mechanism).</summary>
    public int SuccessfulLogins => Volatile.Read(ref _successfulLogins);

    /// <summary>Rejected logins (any mechanism).</summary>
    public int FailedLogins => Volatile.Read(ref _failedLogins);

    /// <summary>RETR commands answered with <c>+OK</c> (including those cut by a fault).</summary>
    public int RetrCount => Volatile.Read(ref _retrCount);

    /// <summary>TOP commands answered with <c>+OK</c>.</summary>
    public int TopCount => Volatile.Read(ref _topCount);

    /// <summary>Messages actually removed, by sessions that ended with QUIT.</summary>
    public int MessagesDeleted => Volatile.Read(ref _messagesDeleted);

    /// <summary>Sessions that ended with QUIT.</summary>
    public int QuitCount => Volatile.Read(ref _quitCount);

    /// <summary>Sets every counter except <see cref="ActiveSessions"/> back to zero.</summary>
    public void Reset()
    {
        Volatile.Write(ref _sessions, 0);
        Volatile.Write(ref _successfulLogins, 0);
        Volatile.Write(ref _failedLogins, 0);
        Volatile.Write(ref _retrCount, 0);
        Volatile.Write(ref _topCount, 0);
        Volatile.Write(ref _messagesDeleted, 0);
        Volatile.Write(ref _quitCount, 0);
    }

    internal void SessionStarted()
    {
        Interlocked.Increment(ref _sessions);
        Interlocked.Increment(ref _activeSessions);
    }

    internal void SessionEnded() => Interlocked.Decrement(ref _activeSessions);

    internal void Login(bool success) => Interlocked.Increment(ref success ? ref _successfulLogins : ref _failedLogins);

    internal void Retr() => Interlocked.Increment(ref _retrCount);

    internal void Top() => Interlocked.Increment(ref _topCount);

    internal void Quit(int deleted)
    {
        Interlocked.Increment(ref _quitCount);
        Interlocked.Add(ref _messagesDeleted, deleted);
    }
}
