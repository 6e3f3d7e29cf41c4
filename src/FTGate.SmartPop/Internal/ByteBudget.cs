namespace FTGate.SmartPop.Internal;

/// <summary>
/// A process-wide budget of bytes that concurrent fetches may hold in memory. Waiters are served first-come,
/// first-served (a large request is not starved by a stream of small ones). A request larger than the whole budget is
/// clamped to it: it waits until it has the budget to itself.
/// </summary>
internal sealed class ByteBudget
{
    private readonly object _gate = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private long _available;

    public ByteBudget(long capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _available = capacity;
    }

    public long Capacity { get; }

    public long Available
    {
        get
        {
            lock (_gate)
            {
                return _available;
            }
        }
    }

    /// <summary>The most bytes ever leased at once (for tests and figures).</summary>
    public long PeakInUse { get; private set; }

    public async ValueTask<Lease> AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        long amount = Math.Clamp(bytes, 1, Capacity);
        Waiter waiter;
        lock (_gate)
        {
            if (_waiters.Count == 0 && _available >= amount)
            {
                Take(amount);
                return new Lease(this, amount);
            }

            waiter = new Waiter(amount);
            waiter.Node = _waiters.AddLast(waiter);
        }

        using (cancellationToken.Register(() => Cancel(waiter)))
        {
            try
            {
                await waiter.Completion.Task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                throw new OperationCanceledException(cancellationToken);
            }
        }

        return new Lease(this, amount);
    }

    private bool Cancel(Waiter waiter)
    {
        lock (_gate)
        {
            if (waiter.Node?.List is null)
            {
                return false; // already granted
            }

            _waiters.Remove(waiter.Node);
            Grant();
        }

        return waiter.Completion.TrySetCanceled();
    }

    private void Take(long amount)
    {
        _available -= amount;
        PeakInUse = Math.Max(PeakInUse, Capacity - _available);
    }

    private void Release(long amount)
    {
        lock (_gate)
        {
            _available += amount;
            Grant();
        }
    }

    // Under _gate: grants waiters in order while the head fits.
    private void Grant()
    {
        while (_waiters.First is { } first && first.Value.Amount <= _available)
        {
            _waiters.RemoveFirst();
            Take(first.Value.Amount);
            first.Value.Completion.TrySetResult();
        }
    }

    internal sealed class Lease(ByteBudget budget, long amount) : IDisposable
    {
        private int _released;

        public long Amount { get; } = amount;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                budget.Release(Amount);
            }
        }
    }

    private sealed class Waiter(long amount)
    {
        public long Amount { get; } = amount;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }
    }
}
