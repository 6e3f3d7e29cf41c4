using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FTGate.OAuth;
using MailKit;
using MailKit.Net.Pop3;
using MailKit.Security;
using Microsoft.Extensions.Logging;

namespace FTGate.SmartPop.Internal;

internal sealed class MailKitPop3ConnectionFactory(ILoggerFactory loggerFactory) : IPop3ConnectionFactory
{
    public IPop3Connection Create(SmartPopAccount account) =>
        new MailKitPop3Connection(account, account.ProtocolLog ? loggerFactory.CreateLogger("FTGate.SmartPop.Protocol") : null);
}

/// <summary>The real POP3 session on MailKit's <see cref="Pop3Client"/>; translates every MailKit failure into <see cref="Pop3Exception"/>.</summary>
internal sealed class MailKitPop3Connection : IPop3Connection
{
    private readonly SmartPopAccount _account;
    private readonly RedactingProtocolLogger _log;
    private readonly Pop3Client _client;
    private Pop3ServerInfo? _server;
    private X509Certificate2? _certificate;
    private SslPolicyErrors _policyErrors;
    private string? _chainProblem;

    public MailKitPop3Connection(SmartPopAccount account, ILogger? protocolLogger)
    {
        _account = account;
        _log = new RedactingProtocolLogger(account.Name, protocolLogger);
        _client = new Pop3Client(_log)
        {
            Timeout = (int)Math.Clamp(account.CommandTimeout.TotalMilliseconds, 1000, int.MaxValue),
            CheckCertificateRevocation = account.CheckCertificateRevocation,
            ServerCertificateValidationCallback = ValidateCertificate,
        };
    }

    public Pop3ServerInfo Server => _server ?? throw new InvalidOperationException("Not connected.");

    public bool IsEncrypted => _client.IsEncrypted;

    public async Task<Pop3ConnectInfo> ConnectAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(_account.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(_account.Host, _account.EffectivePort, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                bool notFound = ex is SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain };
                throw new Pop3ConnectionException(
                    notFound ? SmartPopErrorCodes.HostNotFound : SmartPopErrorCodes.ConnectFailed,
                    notFound
                        ? $"SmartPop account '{_account.Name}': the host '{_account.Host}' was not found."
                        : ex is OperationCanceledException
                            ? $"SmartPop account '{_account.Name}': connecting to {_account.Host}:{_account.EffectivePort} timed out after {_account.ConnectTimeout.TotalSeconds:0} s."
                            : $"SmartPop account '{_account.Name}': cannot connect to {_account.Host}:{_account.EffectivePort}: {((SocketException)ex).SocketErrorCode}.",
                    notFound ? "Check the host name and DNS." : "Check host, port, firewall and that the server is running.",
                    _account.Name,
                    _account.Host,
                    innerException: ex);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        TimeSpan tcp = clock.Elapsed;
        string remote = socket.RemoteEndPoint?.ToString() ?? _account.Host;
        SecureSocketOptions options = _account.Security switch
        {
            Pop3Security.SslOnConnect => SecureSocketOptions.SslOnConnect,
            Pop3Security.StartTls => SecureSocketOptions.StartTls,
            _ => SecureSocketOptions.None,
        };

        try
        {
            await _client.ConnectAsync(socket, _account.Host, _account.EffectivePort, options, cancellationToken).ConfigureAwait(false);
        }
        catch (NotSupportedException ex) when (_account.Security == Pop3Security.StartTls)
        {
            socket.Dispose();
            throw new Pop3ConnectionException(
                SmartPopErrorCodes.StartTlsNotOffered,
                $"SmartPop account '{_account.Name}': {_account.Host} does not offer STLS, so STARTTLS is impossible.",
                "Use Security = SslOnConnect on port 995, or a server that supports STLS.",
                _account.Name,
                _account.Host,
                innerException: ex);
        }
        catch (Exception ex) when (ex is SslHandshakeException or System.Security.Authentication.AuthenticationException)
        {
            socket.Dispose();
            throw new Pop3ConnectionException(
                SmartPopErrorCodes.TlsFailed,
                $"SmartPop account '{_account.Name}': the TLS handshake with {_account.Host}:{_account.EffectivePort} failed{DescribeCertificateProblem()}.",
                (_policyErrors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0
                    ? "The server's certificate does not name this host. Use the exact host name the certificate names (for Microsoft 365 'outlook.office365.com', for Gmail 'pop.gmail.com')."
                    : _policyErrors != SslPolicyErrors.None
                        ? "The server's certificate does not chain to a trusted root (see the chain problem above). Fix the server's certificate chain, or for a private CA set TrustedRootCertificates / TrustedRootCertificateFile; if only the revocation check fails because revocation servers are unreachable, fix the network or set CheckCertificateRevocation = false."
                        : "Check that the port speaks TLS from the first byte (995) or use StartTls on 110; if revocation servers are unreachable, see CheckCertificateRevocation.",
                _account.Name,
                _account.Host,
                innerException: ex);
        }
        catch (Exception ex) when (IsMailKitFailure(ex))
        {
            socket.Dispose();
            throw Translate(ex, "connect");
        }

        TimeSpan handshake = clock.Elapsed - tcp;
        _server = new Pop3ServerInfo(
            new HashSet<string>(_client.AuthenticationMechanisms, StringComparer.OrdinalIgnoreCase),
            _client.Capabilities.HasFlag(Pop3Capabilities.UIDL),
            _client.Capabilities.HasFlag(Pop3Capabilities.Pipelining),
            _client.Capabilities.HasFlag(Pop3Capabilities.User),
            _client.Capabilities.HasFlag(Pop3Capabilities.Top),
            _client.Capabilities.HasFlag(Pop3Capabilities.StartTLS) || _account.Security == Pop3Security.StartTls,
            _client.Implementation,
            _client.LoginDelay,
            null);

        return new Pop3ConnectInfo(
            remote,
            tcp,
            handshake,
            _client.IsEncrypted,
            _client.IsEncrypted ? _client.SslProtocol.ToString() : null,
            _certificate?.Subject,
            _certificate?.Issuer,
            _certificate is null ? null : new DateTimeOffset(_certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero));
    }

    public async Task AuthenticateOAuthAsync(SaslMechanismKind mechanism, string userName, string accessToken, CancellationToken cancellationToken)
    {
        var sasl = new OAuthSaslMechanism(mechanism, userName, accessToken, _account.Host, _account.EffectivePort);
        string command = "AUTH " + sasl.MechanismName;
        _log.ClearRecent();
        _log.Authenticating = true;
        try
        {
            await _client.AuthenticateAsync(sasl, cancellationToken).ConfigureAwait(false);
        }
        catch (MailKit.Security.AuthenticationException ex)
        {
            throw AuthenticationRejected(command, sasl.ErrorChallenge, ex);
        }
        catch (Exception ex) when (IsMailKitFailure(ex))
        {
            throw Translate(ex, command, sasl.ErrorChallenge);
        }
        finally
        {
            _log.Authenticating = false;
        }
    }

    public async Task AuthenticatePasswordAsync(string userName, string password, CancellationToken cancellationToken)
    {
        bool plain = _server?.SaslMechanisms.Contains("PLAIN") == true;
        string command = plain ? "AUTH PLAIN" : "USER/PASS";
        if (!plain)
        {
            // Let MailKit use USER/PASS only: remove every SASL mechanism it could pick instead.
            _client.AuthenticationMechanisms.Clear();
        }

        _log.ClearRecent();
        _log.Authenticating = true;
        try
        {
            if (plain)
            {
                await _client.AuthenticateAsync(new SaslMechanismPlain(userName, password), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _client.AuthenticateAsync(Encoding.UTF8, new NetworkCredential(userName, password), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (MailKit.Security.AuthenticationException ex)
        {
            throw AuthenticationRejected(command, null, ex);
        }
        catch (Exception ex) when (IsMailKitFailure(ex))
        {
            throw Translate(ex, command);
        }
        finally
        {
            _log.Authenticating = false;
        }
    }

    public Task<(int Count, long Size)> StatAsync(CancellationToken cancellationToken) =>
        RunAsync("STAT", async ct =>
        {
            int count = await _client.GetMessageCountAsync(ct).ConfigureAwait(false);
            long size = 0;
            if (_log.LastServerLine is { } line && line.StartsWith("+OK", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 3)
                {
                    _ = long.TryParse(parts[2], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out size);
                }
            }

            return (count, size);
        }, cancellationToken);

    public Task<IReadOnlyList<string>> GetUidlsAsync(CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<string>>("UIDL", async ct => [.. await _client.GetMessageUidsAsync(ct).ConfigureAwait(false)], cancellationToken);

    public Task<IReadOnlyList<long>> GetSizesAsync(CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<long>>("LIST", async ct => (await _client.GetMessageSizesAsync(ct).ConfigureAwait(false)).Select(s => (long)s).ToList(), cancellationToken);

    public Task<Stream> GetHeadersAsync(int index, CancellationToken cancellationToken) =>
        RunBodyAsync("TOP", ct => _client.GetStreamAsync(index, headersOnly: true, ct), cancellationToken);

    public Task<Stream> RetrieveAsync(int index, CancellationToken cancellationToken) =>
        RunBodyAsync("RETR", ct => _client.GetStreamAsync(index, headersOnly: false, ct), cancellationToken);

    public Task<IReadOnlyList<Stream>> RetrieveManyAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken) =>
        RunBodyAsync<IReadOnlyList<Stream>>("RETR", async ct => [.. await _client.GetStreamsAsync(indexes.ToList(), headersOnly: false, ct).ConfigureAwait(false)], cancellationToken);

    public Task DeleteAsync(int index, CancellationToken cancellationToken) =>
        RunAsync("DELE", async ct =>
        {
            await _client.DeleteMessageAsync(index, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public Task QuitAsync(CancellationToken cancellationToken) =>
        RunAsync("QUIT", async ct =>
        {
            await _client.DisconnectAsync(quit: true, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public ValueTask DisposeAsync()
    {
        _client.Dispose(); // no QUIT: pending DELEs are not committed
        _log.Dispose();
        _certificate?.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<T> RunAsync<T>(string command, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken)
    {
        _log.ClearRecent();
        try
        {
            return await action(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsMailKitFailure(ex))
        {
            throw Translate(ex, command);
        }
    }

    private async Task<T> RunBodyAsync<T>(string command, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken)
    {
        _log.ClearRecent();
        _log.SuppressServerData = true;
        try
        {
            return await action(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsMailKitFailure(ex))
        {
            throw Translate(ex, command);
        }
        finally
        {
            _log.SuppressServerData = false;
        }
    }

    private static bool IsMailKitFailure(Exception ex) =>
        ex is CommandException or ProtocolException or IOException or SocketException or ServiceNotConnectedException
            or ServiceNotAuthenticatedException or MailKit.Security.AuthenticationException or SaslException or NotSupportedException
            or InvalidOperationException and not ObjectDisposedException;

    private Pop3CommandException AuthenticationRejected(string command, string? errorChallenge, Exception inner)
    {
        string? reply = ServerWords(errorChallenge);
        ServerReplyAdvice advice = ServerReplyCatalog.Explain(reply, _account);
        return new Pop3CommandException(
            advice.ErrorCode ?? SmartPopErrorCodes.AuthenticationRejected,
            $"SmartPop account '{_account.Name}': {_account.Host} rejected {command} for '{_account.UserName}'" + (reply is null ? "." : $": {reply}"),
            advice.Remedy,
            _account.Name,
            _account.Host,
            command,
            reply,
            inner);
    }

    private Pop3Exception Translate(Exception ex, string command, string? errorChallenge = null)
    {
        string? reply = ServerWords(errorChallenge);
        if (ex is Pop3CommandException or CommandException)
        {
            ServerReplyAdvice advice = ServerReplyCatalog.Explain(reply, _account);
            return new Pop3CommandException(
                advice.ErrorCode ?? SmartPopErrorCodes.CommandFailed,
                $"SmartPop account '{_account.Name}': {_account.Host} refused {command}" + (reply is null ? "." : $": {reply}"),
                advice.Remedy,
                _account.Name,
                _account.Host,
                command,
                reply,
                ex);
        }

        if (ex is NotSupportedException && command == "UIDL")
        {
            return new Pop3CommandException(SmartPopErrorCodes.UidlNotSupported, $"SmartPop account '{_account.Name}': {_account.Host} does not support UIDL.", null, _account.Name, _account.Host, command, reply, ex);
        }

        return new Pop3ConnectionException(
            SmartPopErrorCodes.ConnectionLost,
            $"SmartPop account '{_account.Name}': the connection to {_account.Host} failed during {command} ({ex.GetType().Name})" + (reply is null ? "." : $"; last server reply: {reply}"),
            "Nothing was lost: undelivered messages stay on the server and are collected in the next poll. If it persists, check the network and the server.",
            _account.Name,
            _account.Host,
            reply,
            ex);
    }

    private string? ServerWords(string? errorChallenge)
    {
        string? last = _log.LastError ?? _log.LastServerLine;
        if (!string.IsNullOrEmpty(errorChallenge))
        {
            return last is null ? $"+ {errorChallenge}" : $"{last} (error challenge: {errorChallenge})";
        }

        return last;
    }

    private static X509Certificate2Collection LoadRoots(string file)
    {
        var roots = new X509Certificate2Collection();
        byte[] content = File.ReadAllBytes(file);
        if (System.Text.Encoding.ASCII.GetString(content).Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            roots.ImportFromPemFile(file);
        }
        else
        {
#if NET9_0_OR_GREATER
            roots.Add(X509CertificateLoader.LoadCertificate(content));
#else
            roots.Add(new X509Certificate2(content));
#endif
        }

        return roots;
    }

    private string DescribeCertificateProblem()
    {
        if (_certificate is null)
        {
            return string.Empty;
        }

        string problem = _policyErrors == SslPolicyErrors.None ? string.Empty : $": certificate problem {_policyErrors}";
        if (_chainProblem is not null)
        {
            problem += $" ({_chainProblem})";
        }

        return $"{problem}; certificate subject '{_certificate.Subject}', issuer '{_certificate.Issuer}'";
    }

    private bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        _certificate?.Dispose();
        _certificate = certificate is null ? null : new X509Certificate2(certificate);
        _policyErrors = errors;
        X509Certificate2Collection? roots = _account.TrustedRootCertificates is { Count: > 0 } configured
            ? configured
            : _account.TrustedRootCertificateFile is { Length: > 0 } file ? LoadRoots(file) : null;
        if (roots is null || roots.Count == 0 || _certificate is null)
        {
            return errors == SslPolicyErrors.None;
        }

        // Custom trust: the chain must end in one of the configured roots; the name must still match.
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0 || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(roots);
        custom.ChainPolicy.RevocationMode = _account.CheckCertificateRevocation ? X509RevocationMode.Online : X509RevocationMode.NoCheck;

        // Private CAs rarely publish a revocation list: "revocation unknown" is accepted for a custom root, "revoked" is not.
        custom.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreEndRevocationUnknown
            | X509VerificationFlags.IgnoreCertificateAuthorityRevocationUnknown
            | X509VerificationFlags.IgnoreRootRevocationUnknown;
        if (chain is not null)
        {
            foreach (X509ChainElement element in chain.ChainElements.Skip(1))
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        bool ok = custom.Build(_certificate);
        if (!ok)
        {
            _policyErrors |= SslPolicyErrors.RemoteCertificateChainErrors;
            _chainProblem = string.Join("; ", custom.ChainStatus.Select(s => s.StatusInformation.Trim()));
        }
        else
        {
            _policyErrors = SslPolicyErrors.None;
        }

        return ok;
    }
}
