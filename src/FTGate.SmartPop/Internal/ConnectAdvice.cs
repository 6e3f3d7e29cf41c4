using System.Globalization;
using System.Security.Cryptography.X509Certificates;

namespace FTGate.SmartPop.Internal;

/// <summary>Cause and fix for connect-time findings of <see cref="ConnectionProbe"/>: port/security mismatches, silence, certificate chain status.</summary>
internal static class ConnectAdvice
{
    /// <summary>A port/security mismatch or a silent server, or <see langword="null"/> when the probe found nothing to name.</summary>
    public static (string Cause, string Remedy)? ForPort(SmartPopAccount account, PortProbe probe)
    {
        string where = $"{account.Host}:{account.EffectivePort}";
        int seconds = (int)Math.Ceiling(account.ConnectTimeout.TotalSeconds);
        return (account.Security, probe.Speaks) switch
        {
            (Pop3Security.SslOnConnect, PortSpeaks.PlainPop3) => (
                $"{where} speaks plain POP3 (it greeted in clear text: '{probe.FirstLine}'), but Security is SslOnConnect, which expects TLS from the first byte.",
                $"This is a plain POP3 port (like 110): set Security = StartTls for this port, or use the server's POP3S port (usually 995) with SslOnConnect."),
            (Pop3Security.StartTls or Pop3Security.None, PortSpeaks.Tls) => (
                $"{where} speaks TLS from the first byte (a POP3S port like 995), but Security is {account.Security}, which expects a clear-text greeting first.",
                $"Set Security = SslOnConnect for port {account.EffectivePort} (or keep {account.Security} and use the server's plain port, usually 110)."),
            (_, PortSpeaks.Silence) => (
                $"Connected to {where}, but the server sent no greeting within {seconds} s (ConnectTimeout).",
                "The server accepts connections but does not answer: check that this is a POP3 port and the POP3 service is healthy (a port forward or load balancer without a live backend behaves like this)."),
            (_, PortSpeaks.Other) => (
                $"{where} does not speak POP3: it answered '{probe.FirstLine}'.",
                "Check the port: POP3 is 110 (StartTls) or 995 (SslOnConnect)."),
            _ => null,
        };
    }

    /// <summary>The chain status in words, each with its fix.</summary>
    public static (string Cause, string Remedy) ForCertificate(SmartPopAccount account, CertificateProbe probe, DateTimeOffset now)
    {
        var causes = new List<string>();
        var fixes = new List<string>();
        string names = probe.DnsNames.Count == 0 ? probe.Subject : string.Join(", ", probe.DnsNames);
        if (probe.PolicyErrors.HasFlag(System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            causes.Add($"name mismatch: the certificate is for {names}, not '{account.Host}'");
            fixes.Add($"set Host to a name the certificate lists ({names}); for Microsoft 365 it is outlook.office365.com, for Gmail pop.gmail.com");
        }

        bool Has(params X509ChainStatusFlags[] flags) => flags.Any(probe.ChainStatus.Contains);
        if (Has(X509ChainStatusFlags.NotTimeValid))
        {
            causes.Add(probe.NotAfter < now
                ? $"expired: the certificate was valid until {probe.NotAfter.ToString("u", CultureInfo.InvariantCulture)} (this machine's clock says {now.ToString("u", CultureInfo.InvariantCulture)})"
                : $"not yet valid: the certificate is valid from {probe.NotBefore.ToString("u", CultureInfo.InvariantCulture)} (this machine's clock says {now.ToString("u", CultureInfo.InvariantCulture)})");
            fixes.Add("the server's administrator must renew the certificate; if the dates look right, correct this machine's clock (NTP)");
        }

        if (Has(X509ChainStatusFlags.UntrustedRoot, X509ChainStatusFlags.PartialChain))
        {
            causes.Add(Has(X509ChainStatusFlags.PartialChain)
                ? $"untrusted root: the chain from '{probe.Issuer}' does not reach a trusted root (an intermediate certificate is missing, or it ends in a private CA)"
                : $"untrusted root: the chain ends in a root this machine does not trust (issuer '{probe.Issuer}')");
            fixes.Add(account.TrustedRootCertificates is { Count: > 0 } || account.TrustedRootCertificateFile is { Length: > 0 }
                ? "the configured TrustedRootCertificates / TrustedRootCertificateFile do not contain this server's root: configure the right root certificate"
                : "for a private CA set TrustedRootCertificates / TrustedRootCertificateFile to its root; for a public server the server must send its intermediate certificates; a TLS-inspecting firewall needs its root installed or this host exempted");
        }

        if (Has(X509ChainStatusFlags.Revoked))
        {
            causes.Add("revoked: the certificate authority has revoked the server's certificate");
            fixes.Add("do not connect until the server has a new certificate; tell the server's administrator");
        }

        if (Has(X509ChainStatusFlags.RevocationStatusUnknown, X509ChainStatusFlags.OfflineRevocation))
        {
            causes.Add("revocation unknown: the revocation list / OCSP server of the certificate authority could not be reached");
            fixes.Add("allow this machine to reach the CA's CRL and OCSP addresses (HTTP, port 80), or set CheckCertificateRevocation = false for this account");
        }

        IEnumerable<X509ChainStatusFlags> other = probe.ChainStatus.Except(
        [
            X509ChainStatusFlags.NotTimeValid, X509ChainStatusFlags.UntrustedRoot, X509ChainStatusFlags.PartialChain, X509ChainStatusFlags.Revoked,
            X509ChainStatusFlags.RevocationStatusUnknown, X509ChainStatusFlags.OfflineRevocation,
        ]);
        if (other.Any())
        {
            causes.Add("chain status " + string.Join(", ", other));
            fixes.Add("the server's certificate chain is invalid: the server's administrator must fix it");
        }

        if (causes.Count == 0)
        {
            causes.Add("the handshake failed although the certificate looks valid from here (protocol or cipher mismatch, or the server closed the connection)");
            fixes.Add("check that the server supports TLS 1.2 or later and that the port speaks TLS as configured");
        }

        return (
            $"The TLS handshake with {account.Host}:{account.EffectivePort} failed: {string.Join("; ", causes)}. Certificate: subject '{probe.Subject}', issuer '{probe.Issuer}', valid until {probe.NotAfter.ToString("u", CultureInfo.InvariantCulture)}.",
            string.Join("; ", fixes.Select((f, i) => i == 0 ? char.ToUpperInvariant(f[0]) + f[1..] : f)) + ".");
    }
}
