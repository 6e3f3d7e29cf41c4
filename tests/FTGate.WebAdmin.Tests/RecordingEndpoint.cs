using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FTGate.WebAdmin.Tests;

/// <summary>
/// A hostile endpoint on loopback: an HTTP server (any path) and a TCP port that greets like a POP3 server, both recording
/// everything that reaches them, so a test can assert that no secret or token was ever sent there.
/// </summary>
internal sealed class RecordingEndpoint : IAsyncDisposable
{
    private readonly WebApplication _http;
    private readonly TcpListener _tcp;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly Task _acceptLoop;
    private readonly SemaphoreSlim _arrived = new(0);

    private RecordingEndpoint(WebApplication http, TcpListener tcp)
    {
        _http = http;
        _tcp = tcp;
        _acceptLoop = AcceptAsync();
    }

    /// <summary>The HTTP base address, for example http://127.0.0.1:41234/.</summary>
    public Uri BaseUri { get; private set; } = null!;

    /// <summary>The TCP port that plays a POP3 server.</summary>
    public int Pop3Port => ((IPEndPoint)_tcp.LocalEndpoint).Port;

    /// <summary>Everything received (HTTP request lines, headers and bodies; POP3 bytes).</summary>
    public IReadOnlyCollection<string> Requests => _requests;

    public static async Task<RecordingEndpoint> StartAsync(CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        WebApplication http = builder.Build();
        var tcp = new TcpListener(IPAddress.Loopback, 0);
        tcp.Start();
        var endpoint = new RecordingEndpoint(http, tcp);
        http.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            string body = await reader.ReadToEndAsync(context.RequestAborted);
            endpoint.Record($"{context.Request.Method} {context.Request.Path}{context.Request.QueryString}\n{string.Join("\n", context.Request.Headers.Select(h => $"{h.Key}: {h.Value}"))}\n\n{body}");
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"error\":\"invalid_request\"}", context.RequestAborted);
        });
        await http.StartAsync(cancellationToken);
        endpoint.BaseUri = new Uri(http.Urls.Single() + "/");
        return endpoint;
    }

    /// <summary>Waits until something that <paramref name="match"/> accepts has arrived (a signal, not a sleep).</summary>
    public async Task<bool> WaitForAsync(Func<string, bool> match, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (!_requests.Any(match))
        {
            try
            {
                await _arrived.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }

        return true;
    }

    private void Record(string text)
    {
        _requests.Enqueue(text);
        _arrived.Release();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _tcp.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        await _http.StopAsync();
        await _http.DisposeAsync();
        _stop.Dispose();
        _arrived.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client = await _tcp.AcceptTcpClientAsync(_stop.Token);
            Record("POP3 connection accepted");
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    NetworkStream stream = client.GetStream();
                    await stream.WriteAsync("+OK recording POP3 server\r\n"u8.ToArray(), _stop.Token);
                    var received = new StringBuilder("POP3 connection\n");
                    byte[] buffer = new byte[4096];
                    try
                    {
                        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                        timeout.CancelAfter(TimeSpan.FromSeconds(5));
                        int read;
                        while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
                        {
                            string text = Encoding.UTF8.GetString(buffer, 0, read);
                            received.Append(text);
                            foreach (string line in text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
                            {
                                // Answer every command so a client goes on to send what it would send a real server.
                                await stream.WriteAsync(Encoding.ASCII.GetBytes(line.StartsWith("CAPA", StringComparison.OrdinalIgnoreCase) ? "+OK\r\nUSER\r\n.\r\n" : "+OK\r\n"), timeout.Token);
                            }
                        }
                    }
                    catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
                    {
                    }

                    Record(received.ToString());
                }
            });
        }
    }
}
