namespace FTGate.Testing;

/// <summary>
/// What happened on a <see cref="TestPop3Server"/>, for assertions. Thread-safe. A test waits for a state with
/// <see cref="WaitUntilAsync"/> (signalled by every change, no polling).
/// </summary>
public sealed class TestPop3Counters
{
    private readonly object _gate = new();
    private TaskCompletionSource _changed = NewSignal();
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

    /// <summary>
    /// Completes once <paramref name="condition"/> holds. It is checked at once and again after every change of a counter
    /// (a session's end comes after its <see cref="TestPop3Server.SessionErrors"/> entry), so a test waits on the server's
    /// own signal instead of polling.
    /// </summary>
    /// <param name="condition">The state to wait for, for example <c>c =&gt; c.QuitCount == 1</c>.</param>
    /// <param name="cancellationToken">Cancels the wait (bound it with a timeout).</param>
    /// <returns>A task that completes when the condition holds.</returns>
    /// <example>
    /// <code>
    /// await server.Counters.WaitUntilAsync(c =&gt; c.ActiveSessions == 0, cancellationToken).WaitAsync(TimeSpan.FromSeconds(5));
    /// </code>
    /// </example>
    public async Task WaitUntilAsync(Func<TestPop3Counters, bool> condition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                changed = _changed.Task;
            }

            // The signal is taken before the check: a change after the check completes it, so none is missed.
            if (condition(this))
            {
                return;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

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
        Changed();
    }

    internal void SessionStarted()
    {
        Interlocked.Increment(ref _sessions);
        Interlocked.Increment(ref _activeSessions);
        Changed();
    }

    internal void SessionEnded()
    {
        Interlocked.Decrement(ref _activeSessions);
        Changed();
    }

    internal void Login(bool success)
    {
        Interlocked.Increment(ref success ? ref _successfulLogins : ref _failedLogins);
        Changed();
    }

    internal void Retr()
    {
        Interlocked.Increment(ref _retrCount);
        Changed();
    }

    internal void Top()
    {
        Interlocked.Increment(ref _topCount);
        Changed();
    }

    internal void Quit(int deleted)
    {
        Interlocked.Increment(ref _quitCount);
        Interlocked.Add(ref _messagesDeleted, deleted);
        Changed();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void Changed()
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }
}
