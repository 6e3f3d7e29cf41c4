using System.Collections.Concurrent;
using FTGate.SmartPop;

namespace FTGate.Cli.Commands;

/// <summary>
/// The sink of <c>ftgate run</c>: forwards to the Maildir sink and turns a stop into a cancellation of the fetch <em>between</em>
/// batches. SmartPop's fetch checks its cancellation before each batch of RETRs (one message, or several small pipelined ones
/// already requested); cancelling it while a batch streams would abandon that transfer. So a stop requested while a batch is
/// open waits until the batch has been delivered and made durable (its <see cref="IMessageSinkBatch"/> is disposed), and only
/// then cancels: the fetch sees the cancellation before the next batch, sends DELE and QUIT (deletions commit) and ends.
/// </summary>
/// <remarks>
/// The fetch sees this sink, not a <see cref="MaildirMessageSink"/>, so it finishes each batch's commit before the next
/// batch (no network/disk overlap): that ordering is what makes the boundary observable here.
/// </remarks>
internal sealed class StopAfterBatchSink(IBatchingMessageSink inner) : IBatchingMessageSink
{
    private readonly ConcurrentDictionary<string, Gate> _gates = new(StringComparer.Ordinal);

    /// <summary>Registers one account's running fetch; disposing the result unregisters it.</summary>
    public IDisposable Track(string accountName, CancellationTokenSource fetch)
    {
        var gate = new Gate(fetch);
        _gates[accountName] = gate;
        return new Registration(() => _gates.TryRemove(new KeyValuePair<string, Gate>(accountName, gate)));
    }

    /// <summary>Asks the account's fetch to stop: now when no batch is open, else when the open batch ends.</summary>
    public void StopRequested(string accountName)
    {
        if (_gates.TryGetValue(accountName, out Gate? gate))
        {
            gate.StopRequested();
        }
    }

    public Task DeliverAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default) =>
        inner.DeliverAsync(message, metadata, cancellationToken);

    public IMessageSinkBatch BeginBatch(string accountName)
    {
        Gate? gate = _gates.GetValueOrDefault(accountName);
        gate?.BatchStarted();
        return new Batch(inner.BeginBatch(accountName), gate);
    }

    private sealed class Gate(CancellationTokenSource fetch)
    {
        private readonly Lock _lock = new();
        private int _open;
        private bool _stop;

        public void BatchStarted()
        {
            lock (_lock)
            {
                _open++;
            }
        }

        public void BatchEnded()
        {
            lock (_lock)
            {
                _open--;
                if (!_stop || _open > 0)
                {
                    return;
                }
            }

            Cancel();
        }

        public void StopRequested()
        {
            lock (_lock)
            {
                _stop = true;
                if (_open > 0)
                {
                    return;
                }
            }

            Cancel();
        }

        private void Cancel()
        {
            try
            {
                fetch.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The fetch ended meanwhile.
            }
        }
    }

    private sealed class Batch(IMessageSinkBatch inner, Gate? gate) : IMessageSinkBatch
    {
        private int _disposed;

        public Task AddAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default) =>
            inner.AddAsync(message, metadata, cancellationToken);

        public Task CommitAsync(CancellationToken cancellationToken = default) => inner.CommitAsync(cancellationToken);

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            try
            {
                await inner.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                gate?.BatchEnded();
            }
        }
    }

    private sealed class Registration(Action release) : IDisposable
    {
        public void Dispose() => release();
    }
}
