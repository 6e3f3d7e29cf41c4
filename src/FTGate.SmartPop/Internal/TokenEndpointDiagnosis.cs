using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.RegularExpressions;
using FTGate.OAuth;

namespace FTGate.SmartPop.Internal;

/// <summary>
/// Explains a token request that never reached the provider (DNS, refused, TLS interception, proxy refusal, timeout): which
/// host, what the network said, and the fix (DNS, <c>HTTPS_PROXY</c>, firewall). The same words reach <c>test</c> and
/// <c>fetch</c>, because <see cref="SmartPopClient"/> rethrows the explained error.
/// </summary>
internal static partial class TokenEndpointDiagnosis
{
    [GeneratedRegex(@"\(([A-Za-z0-9.\-]+):(\d+)\)", RegexOptions.CultureInvariant)]
    private static partial Regex HostPortRegex();

    [GeneratedRegex(@"status code '?(\d{3})'?", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex StatusCodeRegex();

    /// <summary>Turns a network failure of a token request into an <see cref="AuthorizationException"/> with cause and fix.</summary>
    /// <returns><see langword="false"/> when <paramref name="exception"/> is not a network failure (the provider answered).</returns>
    public static bool TryExplain(Exception exception, string providerName, out AuthorizationException explained)
    {
        explained = null!; // read by callers only when this returns true
        if (Diagnose(exception) is not { } d)
        {
            return false;
        }

        explained = new AuthorizationException(
            FTGateErrorCodes.ProviderUnavailable,
            $"Provider '{providerName}': the token endpoint {d.Host} could not be reached: {d.Cause}. The stored grant is unchanged.",
            d.Remedy,
            providerName,
            innerException: exception);
        return true;
    }

    private sealed record Diagnosis(string Host, string Cause, string Remedy);

    private static Diagnosis? Diagnose(Exception exception)
    {
        var chain = new List<Exception>();
        for (Exception? e = exception; e is not null && chain.Count < 16; e = e.InnerException)
        {
            chain.Add(e);
            if (e is AggregateException { InnerExceptions.Count: > 0 } aggregate)
            {
                chain.AddRange(aggregate.InnerExceptions.Where(i => i != e.InnerException));
            }
        }

        string host = chain.Select(e => HostPortRegex().Match(e.Message)).FirstOrDefault(m => m.Success) is { } m ? m.Groups[1].Value : "of the provider";
        string proxy = ProxyHint();
        if (chain.OfType<HttpRequestException>().FirstOrDefault(h => h.HttpRequestError == HttpRequestError.ProxyTunnelError || h.Message.Contains("proxy", StringComparison.OrdinalIgnoreCase)) is { } viaProxy)
        {
            Match status = StatusCodeRegex().Match(viaProxy.Message);
            string code = status.Success ? status.Groups[1].Value : "an error";
            return code == "407"
                ? new Diagnosis(host, $"the HTTPS proxy refused the tunnel with HTTP 407 (proxy authentication required){proxy}", "Give the proxy's credentials in HTTPS_PROXY (http://user:password@proxy:port), or ask the proxy's administrator to allow this server.")
                : new Diagnosis(host, $"the HTTPS proxy answered the tunnel request with {(status.Success ? "HTTP " + code : code)}{proxy}", $"The proxy could not reach {host} or refuses it: check the proxy (its DNS, its allow list), correct HTTPS_PROXY, or exclude the host with NO_PROXY if this server can reach it directly.");
        }

        if (chain.OfType<SocketException>().FirstOrDefault() is { } socket)
        {
            return socket.SocketErrorCode switch
            {
                SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => new Diagnosis(
                    host,
                    $"the name does not resolve (DNS: {socket.SocketErrorCode}){proxy}",
                    $"Check this server's DNS resolver (resolv.conf / network settings) with 'nslookup {host}'; if outbound HTTPS must go through a proxy, set HTTPS_PROXY for the service."),
                SocketError.ConnectionRefused => new Diagnosis(
                    host,
                    $"the connection was refused (nothing accepts HTTPS there, or a firewall rejects it){proxy}",
                    $"Allow outbound HTTPS (TCP 443) to {host} in the firewall, or set HTTPS_PROXY if this network only allows the web through a proxy."),
                _ => new Diagnosis(
                    host,
                    $"the network failed ({socket.SocketErrorCode}){proxy}",
                    $"Allow outbound HTTPS (TCP 443) to {host} in the firewall, check routing, or set HTTPS_PROXY if this network requires a proxy."),
            };
        }

        if (chain.OfType<AuthenticationException>().FirstOrDefault() is { } tls)
        {
            return new Diagnosis(
                host,
                $"the TLS handshake failed ({tls.Message.TrimEnd('.')})",
                $"A TLS-inspecting proxy or firewall probably replaces {host}'s certificate: add its root CA to this machine's trust store or exempt {host} from inspection; also check the system clock.");
        }

        if (chain.OfType<HttpRequestException>().FirstOrDefault(h => h.StatusCode is null) is { } http)
        {
            return http.HttpRequestError switch
            {
                HttpRequestError.NameResolutionError => new Diagnosis(host, $"the name does not resolve (DNS){proxy}", $"Check this server's DNS resolver with 'nslookup {host}'; if outbound HTTPS must go through a proxy, set HTTPS_PROXY for the service."),
                HttpRequestError.SecureConnectionError => new Diagnosis(host, "the TLS handshake failed", $"A TLS-inspecting proxy or firewall probably replaces {host}'s certificate: add its root CA to this machine's trust store or exempt {host} from inspection; also check the system clock."),
                _ => new Diagnosis(host, $"{http.Message.TrimEnd('.')}{proxy}", $"Allow outbound HTTPS (TCP 443) to {host} in the firewall, or set HTTPS_PROXY if this network requires a proxy."),
            };
        }

        if (chain.FirstOrDefault(e => e is TimeoutException or TaskCanceledException) is { } timeout)
        {
            return new Diagnosis(
                host,
                $"the request timed out{(timeout.Message.Contains("seconds", StringComparison.OrdinalIgnoreCase) ? $" ({timeout.Message.TrimEnd('.')})" : string.Empty)}{proxy}",
                $"A firewall is probably dropping outbound HTTPS to {host}: allow TCP 443 to it, or set HTTPS_PROXY if this network requires a proxy.");
        }

        return null;
    }

    private static string ProxyHint()
    {
        string? configured = Environment.GetEnvironmentVariable("HTTPS_PROXY") ?? Environment.GetEnvironmentVariable("https_proxy")
            ?? Environment.GetEnvironmentVariable("ALL_PROXY") ?? Environment.GetEnvironmentVariable("all_proxy");
        if (string.IsNullOrWhiteSpace(configured))
        {
            return "; no HTTPS_PROXY is set";
        }

        // Never show proxy credentials.
        return Uri.TryCreate(configured, UriKind.Absolute, out Uri? uri) ? $"; HTTPS_PROXY is {uri.Scheme}://{uri.Host}:{uri.Port}" : "; HTTPS_PROXY is set";
    }
}
