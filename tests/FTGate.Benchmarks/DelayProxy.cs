using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace FTGate.Benchmarks;

/// <summary>
/// A user-space TCP relay that adds a fixed one-way delay in each direction (this machine has no netem). Every chunk read
/// from one side is written to the other no earlier than <c>delay</c> after it was read; chunks keep their order and the
/// relay never waits for one chunk before reading the next, so bandwidth is not limited — only latency is added, like a
/// long but fat link. A round trip through it therefore costs 2 x delay more than on loopback.
/// </summary>
internal sealed class DelayProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly IPEndPoint _target;
    private readonly TimeSpan _delay;
    private readonly Task _accept;

    public DelayProxy(IPEndPoint target, TimeSpan delay)
    {
        _target = target;
        _delay = delay;
        _listener.Start();
        _accept = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accept;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        using (var server = new TcpClient())
        {
            client.NoDelay = true;
            server.NoDelay = true;
            await server.ConnectAsync(_target.Address, _target.Port);
            using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            Task up = PumpAsync(client.Client, server.Client, done.Token);
            Task down = PumpAsync(server.Client, client.Client, done.Token);
            await Task.WhenAny(up, down);
            await Task.Delay(_delay * 2); // let the other direction drain what is in flight
            await done.CancelAsync();
            try
            {
                await Task.WhenAll(up, down);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task PumpAsync(Socket from, Socket to, CancellationToken cancellationToken)
    {
        var queue = Channel.CreateUnbounded<(long Due, byte[] Data, int Length)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        long delayTicks = (long)(_delay.TotalSeconds * Stopwatch.Frequency);
        Task writer = Task.Run(
            async () =>
            {
                await foreach ((long due, byte[] data, int length) in queue.Reader.ReadAllAsync(cancellationToken))
                {
                    long wait = due - Stopwatch.GetTimestamp();
                    if (wait > 0)
                    {
                        await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), cancellationToken);
                    }

                    if (length == 0)
                    {
                        to.Shutdown(SocketShutdown.Send);
                        return;
                    }

                    int sent = 0;
                    while (sent < length)
                    {
                        sent += await to.SendAsync(data.AsMemory(sent, length - sent), SocketFlags.None, cancellationToken);
                    }
                }
            },
            cancellationToken);
        try
        {
            while (true)
            {
                byte[] buffer = new byte[64 * 1024];
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                queue.Writer.TryWrite((Stopwatch.GetTimestamp() + delayTicks, buffer, n));
                if (n == 0)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            queue.Writer.TryWrite((Stopwatch.GetTimestamp() + delayTicks, [], 0));
        }

        queue.Writer.TryComplete();
        await writer;
    }
}
