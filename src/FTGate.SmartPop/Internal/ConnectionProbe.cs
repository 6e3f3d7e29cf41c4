using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace FTGate.SmartPop.Internal;

/// <summary>What a raw probe of the POP3 port found.</summary>
internal enum PortSpeaks
{
    /// <summary>Nothing within the connect timeout.</summary>
    Silence,

    /// <summary>A POP3 greeting in clear text (<c>+OK</c> / <c>-ERR</c>).</summary>
    PlainPop3,

    /// <summary>A TLS record, or the connection closed at once on clear text: the port speaks TLS from the first byte.</summary>
    Tls,

    /// <summary>Something else (another protocol).</summary>
    Other,

    /// <summary>The TCP connection itself failed.</summary>
    Unreachable,
}

/// <summary>The result of a port probe: what the port speaks and its first line, if any.</summary>
internal sealed record PortProbe(PortSpeaks Speaks, string? FirstLine);

/// <summary>The server certificate as this machine sees it: chain status, names, validity.</summary>
internal sealed record CertificateProbe(
    SslPolicyErrors PolicyErrors,
    IReadOnlyList<X509ChainStatusFlags> ChainStatus,
    string Subject,
    string Issuer,
    IReadOnlyList<string> DnsNames,
    DateTimeOffset NotBefore,
    DateTimeOffset NotAfter);

/// <summary>
/// Raw probes the Test uses to name what MailKit only reports as a timeout or a failed handshake: does the port speak plain POP3
/// or TLS, does it greet at all, and what exactly is wrong with its certificate. Each probe is bounded by the account's
/// ConnectTimeout and runs on its own connection.
/// </summary>
internal static class ConnectionProbe
{
    /// <summary>
    /// Connects and sends <c>QUIT</c> at once: a POP3 server answers with its greeting (then closes cleanly); a TLS-from-the-first-byte
    /// port takes the clear text for a broken TLS record and answers with an alert or closes at once; a hung server says nothing.
    /// </summary>
    public static async Task<PortProbe> SpeaksAsync(SmartPopAccount account, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(account.ConnectTimeout);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(account.Host, account.EffectivePort, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new PortProbe(PortSpeaks.Unreachable, null);
        }

        byte[] buffer = new byte[512];
        int read;
        try
        {
            await socket.SendAsync("QUIT\r\n"u8.ToArray(), SocketFlags.None, timeout.Token).ConfigureAwait(false);
            read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new PortProbe(PortSpeaks.Silence, null);
        }
        catch (SocketException)
        {
            // Reset on clear text: TLS stacks do this.
            return new PortProbe(PortSpeaks.Tls, null);
        }

        if (read == 0)
        {
            return new PortProbe(PortSpeaks.Tls, null);
        }

        if (buffer[0] is 0x15 or 0x16 && read >= 3 && buffer[1] == 0x03)
        {
            return new PortProbe(PortSpeaks.Tls, null);
        }

        string text = Encoding.ASCII.GetString(buffer, 0, read);
        string line = text.Split('\n', 2)[0].TrimEnd('\r');
        string printable = new(line.Select(c => c is >= ' ' and <= '~' ? c : '?').Take(120).ToArray());
        return text.StartsWith("+OK", StringComparison.Ordinal) || text.StartsWith("-ERR", StringComparison.Ordinal)
            ? new PortProbe(PortSpeaks.PlainPop3, printable)
            : new PortProbe(PortSpeaks.Other, printable);
    }

    /// <summary>Runs a TLS handshake that accepts any certificate, only to read its chain the way this machine (and the account's trust settings) judge it.</summary>
    public static async Task<CertificateProbe?> CertificateAsync(SmartPopAccount account, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(account.ConnectTimeout);
        CertificateProbe? seen = null;
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(account.Host, account.EffectivePort, timeout.Token).ConfigureAwait(false);
            Stream stream = client.GetStream();
            if (account.Security == Pop3Security.StartTls)
            {
                if (!await StartTlsAsync(stream, timeout.Token).ConfigureAwait(false))
                {
                    return null;
                }
            }

            await using var ssl = new SslStream(stream, leaveInnerStreamOpen: false, (_, certificate, chain, errors) =>
            {
                seen = certificate is null ? null : Describe(account, new X509Certificate2(certificate), chain, errors);
                return true; // Only looking: this connection carries nothing.
            });
            await ssl.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions
                {
                    TargetHost = account.Host,
                    CertificateRevocationCheckMode = account.CheckCertificateRevocation ? X509RevocationMode.Online : X509RevocationMode.NoCheck,
                },
                timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or System.Security.Authentication.AuthenticationException
                                       || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Whatever was seen before the failure is the answer.
        }

        return seen;
    }

    private static async Task<bool> StartTlsAsync(Stream stream, CancellationToken cancellationToken)
    {
        var reader = new StreamReader(stream, Encoding.ASCII, false, 1024, leaveOpen: true);
        string? greeting = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
        if (greeting is null || !greeting.StartsWith("+OK", StringComparison.Ordinal))
        {
            return false;
        }

        await stream.WriteAsync("STLS\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        string? answer = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
        return answer?.StartsWith("+OK", StringComparison.Ordinal) == true;
    }

    private static CertificateProbe Describe(SmartPopAccount account, X509Certificate2 certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var statuses = new List<X509ChainStatusFlags>();
        X509Certificate2Collection? roots = account.TrustedRootCertificates is { Count: > 0 } configured ? configured : null;
        if (roots is null && account.TrustedRootCertificateFile is { Length: > 0 } file && File.Exists(file))
        {
            roots = [];
            try
            {
                roots.ImportFromPemFile(file);
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                roots = null;
            }
        }

        using var judge = new X509Chain();
        judge.ChainPolicy.RevocationMode = account.CheckCertificateRevocation ? X509RevocationMode.Online : X509RevocationMode.NoCheck;
        if (roots is { Count: > 0 })
        {
            judge.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            judge.ChainPolicy.CustomTrustStore.AddRange(roots);
        }

        foreach (X509ChainElement element in chain?.ChainElements.Skip(1) ?? [])
        {
            judge.ChainPolicy.ExtraStore.Add(element.Certificate);
        }

        if (!judge.Build(certificate))
        {
            foreach (X509ChainStatus status in judge.ChainStatus)
            {
                foreach (X509ChainStatusFlags flag in Enum.GetValues<X509ChainStatusFlags>())
                {
                    if (flag != X509ChainStatusFlags.NoError && status.Status.HasFlag(flag) && !statuses.Contains(flag))
                    {
                        statuses.Add(flag);
                    }
                }
            }
        }

        var names = new List<string>();
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
            }
        }

        return new CertificateProbe(
            errors & SslPolicyErrors.RemoteCertificateNameMismatch,
            statuses,
            certificate.Subject,
            certificate.Issuer,
            names,
            new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero),
            new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero));
    }
}
