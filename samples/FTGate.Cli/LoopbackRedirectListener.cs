using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FTGate.Cli;

/// <summary>
/// Receives the browser's redirect after sign-in on a loopback address (RFC 8252 §7.3): listens on
/// <c>http://127.0.0.1:&lt;port&gt;/</c>, answers anything that is not the callback with 404, and hands the callback's full
/// URI to the caller, who then answers the browser with a small page.
/// </summary>
internal sealed class LoopbackRedirectListener : IDisposable
{
    private readonly TcpListener _listener;
    private readonly string _path;

    private LoopbackRedirectListener(TcpListener listener, Uri redirectUri)
    {
        _listener = listener;
        RedirectUri = redirectUri;
        _path = redirectUri.AbsolutePath;
    }

    /// <summary>The redirect URI to send to the provider.</summary>
    public Uri RedirectUri { get; }

    /// <summary>Starts listening: on a free port, or on the port and path of a fixed loopback redirect URI.</summary>
    public static LoopbackRedirectListener Start(Uri? fixedRedirectUri)
    {
        int port = fixedRedirectUri is { IsDefaultPort: false } ? fixedRedirectUri.Port : 0;
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        int actual = ((IPEndPoint)listener.LocalEndpoint).Port;
        // With no fixed URI, or one without a port (http://localhost/), the free port goes into the URI sent to the provider.
        Uri redirect = fixedRedirectUri is null
            ? new Uri($"http://127.0.0.1:{actual}/")
            : new UriBuilder(fixedRedirectUri) { Port = actual }.Uri;
        return new LoopbackRedirectListener(listener, redirect);
    }

    /// <summary>Whether a configured redirect URI can be served by this listener (plain http on a loopback host).</summary>
    public static bool CanServe(Uri redirectUri) =>
        redirectUri.Scheme == Uri.UriSchemeHttp
        && (redirectUri.IsLoopback || (IPAddress.TryParse(redirectUri.Host, out IPAddress? ip) && IPAddress.IsLoopback(ip)));

    /// <summary>Waits for the browser to arrive at the redirect URI with <c>code</c> or <c>error</c>.</summary>
    public Task<Callback> AcceptCallbackAsync(CancellationToken cancellationToken) => AcceptCallbackAsync(null, null, cancellationToken);

    /// <summary>
    /// Waits for the callback carrying <paramref name="expectedState"/>: one with another state (a stray or forged request) is
    /// answered 400, reported to <paramref name="ignored"/>, and the wait goes on.
    /// </summary>
    public async Task<Callback> AcceptCallbackAsync(string? expectedState, Action<Uri>? ignored, CancellationToken cancellationToken)
    {
        while (true)
        {
            TcpClient client = await _listener.AcceptTcpClientAsync(cancellationToken);
            try
            {
                string? target = await ReadRequestTargetAsync(client.GetStream(), cancellationToken);
                if (target is not null && Uri.TryCreate(RedirectUri, target, out Uri? uri)
                    && string.Equals(uri.AbsolutePath, _path, StringComparison.Ordinal)
                    && (uri.Query.Contains("code=", StringComparison.Ordinal) || uri.Query.Contains("error=", StringComparison.Ordinal)))
                {
                    if (expectedState is null || string.Equals(FTGate.OAuth.AuthorizationCallback.FromUri(uri).State, expectedState, StringComparison.Ordinal))
                    {
                        return new Callback(uri, client);
                    }

                    ignored?.Invoke(uri);
                    await WriteResponseAsync(client.GetStream(), 400, "Not this sign-in", "This response does not belong to the sign-in ftgate is waiting for (wrong state) and was ignored.", cancellationToken);
                    client.Dispose();
                    continue;
                }

                await WriteResponseAsync(client.GetStream(), 404, "Not found", "This address only receives the sign-in redirect for ftgate.", cancellationToken);
                client.Dispose();
            }
            catch (IOException)
            {
                client.Dispose();
            }
        }
    }

    public void Dispose() => _listener.Dispose();

    private static async Task<string?> ReadRequestTargetAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var head = new StringBuilder();
        byte[] buffer = new byte[4096];
        while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal) && head.Length < 16 * 1024)
        {
            int read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            head.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        // "GET /?code=...&state=... HTTP/1.1"
        string[] requestLine = head.ToString().Split("\r\n", 2)[0].Split(' ');
        return requestLine.Length == 3 && requestLine[0] == "GET" ? requestLine[1] : null;
    }

    private static async Task WriteResponseAsync(NetworkStream stream, int status, string title, string message, CancellationToken cancellationToken)
    {
        string body = $"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{WebUtility.HtmlEncode(title)}</title></head>"
            + $"<body style=\"font-family:sans-serif;margin:3em\"><h1>{WebUtility.HtmlEncode(title)}</h1><p>{WebUtility.HtmlEncode(message)}</p></body></html>";
        byte[] content = Encoding.UTF8.GetBytes(body);
        string reason = status switch { 200 => "OK", 400 => "Bad Request", _ => "Not Found" };
        byte[] headers = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {content.Length}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(headers, cancellationToken);
        await stream.WriteAsync(content, cancellationToken);
        await stream.FlushAsync(cancellationToken);
    }

    /// <summary>The browser's request to the redirect URI, still waiting for its answer.</summary>
    internal sealed class Callback(Uri uri, TcpClient client) : IDisposable
    {
        /// <summary>The full redirect URI, with <c>code</c> and <c>state</c> (or <c>error</c>).</summary>
        public Uri Uri { get; } = uri;

        /// <summary>Answers the browser with a small page.</summary>
        public async Task RespondAsync(string title, string message, CancellationToken cancellationToken)
        {
            try
            {
                await WriteResponseAsync(client.GetStream(), 200, title, message, cancellationToken);
            }
            catch (IOException)
            {
                // The browser went away; the authorization itself is not affected.
            }
        }

        public void Dispose() => client.Dispose();
    }
}
