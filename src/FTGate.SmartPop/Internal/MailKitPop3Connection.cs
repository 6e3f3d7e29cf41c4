using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Globalization;
using System.Text;
using FTGate.OAuth;
using MailKit;
using MailKit.Net.Pop3;
using MailKit.Security;
using Microsoft.Extensions.Logging;

namespace FTGate.SmartPop.Internal;

internal sealed class MailKitPop3ConnectionFactory(ILoggerFactory loggerFactory, TimeProvider? time = null) : IPop3ConnectionFactory
{
    public IPop3Connection Create(SmartPopAccount account) =>
        new MailKitPop3Connection(account, account.ProtocolLog ? loggerFactory.CreateLogger("FTGate.SmartPop.Protocol") : null, time ?? TimeProvider.System);
}

/// <summary>
/// The real POP3 session (pop3-streaming.md §7.1, the hybrid route). SmartPop owns the transport: TCP, its own
/// <see cref="SslStream"/> (certificate validation, revocation and custom trust as configured), and for STLS accounts the
/// greeting and STLS exchange, after which the greeting is replayed to MailKit. MailKit's <see cref="Pop3Client"/> gets the
/// secured stream with <c>ConnectAsync(Stream, ..., SecureSocketOptions.None)</c> and does the greeting, CAPA and
/// AUTH (SASL XOAUTH2/OAUTHBEARER/PLAIN, USER/PASS). Every command after the login (STAT, UIDL, LIST, RETR, DELE, QUIT) is
/// SmartPop's own, read raw by <see cref="Pop3Reader"/>: MailKit buffers each message whole, cuts UIDLs at a space and throws
/// on listings it cannot parse, while a collector must stream, keep every byte of a UIDL and survive a broken listing. Every
/// read is limited to CommandTimeout and every status line to 64 KiB (<see cref="GuardedStream"/>). Failures surface as
/// <see cref="Pop3Exception"/>.
/// </summary>
internal sealed class MailKitPop3Connection : IPop3Connection
{
    private readonly SmartPopAccount _account;
    private readonly RedactingProtocolLogger _log;
    private readonly Pop3Client _client;
    private readonly TimeProvider _time;
    private Socket? _socket;
    private SslStream? _ssl;
    private GuardedStream? _guard;
    private Pop3Reader? _reader;
    private Pop3ServerInfo? _server;
    private X509Certificate2? _certificate;
    private SslPolicyErrors _policyErrors;
    private string? _chainProblem;

    public MailKitPop3Connection(SmartPopAccount account, ILogger? protocolLogger, TimeProvider time)
    {
        _account = account;
        _time = time;
        _log = new RedactingProtocolLogger(account.Name, protocolLogger);
        _client = new Pop3Client(_log)
        {
            Timeout = (int)Math.Clamp(account.CommandTimeout.TotalMilliseconds, 1000, int.MaxValue),
        };
    }

    public Pop3ServerInfo Server => _server ?? throw new InvalidOperationException("Not connected.");

    public bool IsEncrypted => _ssl is not null;

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
        _socket = socket;
        try
        {
            Stream forMailKit = await SecureAsync(new NetworkStream(socket, ownsSocket: false), cancellationToken).ConfigureAwait(false);
            await _client.ConnectAsync(forMailKit, _account.Host, _account.EffectivePort, SecureSocketOptions.None, cancellationToken).ConfigureAwait(false);
        }
        catch (Pop3Exception)
        {
            throw;
        }
        catch (Exception ex) when (IsMailKitFailure(ex))
        {
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
            _ssl is not null,
            _ssl?.SslProtocol.ToString(),
            _certificate?.Subject,
            _certificate?.Issuer,
            _certificate is null ? null : new DateTimeOffset(_certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero));
    }

    /// <summary>Secures the transport as the account says and returns the stream MailKit gets (greeting still unread, or replayed).</summary>
    private async Task<Stream> SecureAsync(NetworkStream network, CancellationToken cancellationToken)
    {
        if (_account.Security == Pop3Security.None)
        {
            return _guard = new GuardedStream(network, _account.CommandTimeout, _time);
        }

        byte[]? greeting = null;
        if (_account.Security == Pop3Security.StartTls)
        {
            // STLS by SmartPop (the TLS must be ours to read RETR on it): greeting, STLS, handshake; MailKit then gets the
            // greeting replayed and sees a secured stream (RFC 2595: CAPA is asked again after TLS).
            var plain = new GuardedStream(network, _account.CommandTimeout, _time);
            var reader = new Pop3Reader(plain);
            string first = await ReadStatusAsync(reader, "greeting", cancellationToken).ConfigureAwait(false);
            greeting = Encoding.Latin1.GetBytes(first + "\r\n");
            await WriteAsync(reader, "STLS", cancellationToken).ConfigureAwait(false);
            string reply = await ReadStatusAsync(reader, "STLS", cancellationToken).ConfigureAwait(false);
            if (!reply.StartsWith("+OK", StringComparison.Ordinal))
            {
                throw new Pop3ConnectionException(
                    SmartPopErrorCodes.StartTlsNotOffered,
                    $"SmartPop account '{_account.Name}': {_account.Host} does not offer STLS, so STARTTLS is impossible: {Printable(reply)}",
                    "Use Security = SslOnConnect on port 995, or a server that supports STLS.",
                    _account.Name,
                    _account.Host,
                    Printable(reply));
            }

            if (reader.HasBufferedData)
            {
                throw Violation("STLS", "the server sent data before the TLS handshake");
            }
        }

        var ssl = new SslStream(network, leaveInnerStreamOpen: false, ValidateCertificate);
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(_account.CommandTimeout);
            await ssl.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions
                {
                    TargetHost = _account.Host,
                    CertificateRevocationCheckMode = _account.CheckCertificateRevocation ? X509RevocationMode.Online : X509RevocationMode.NoCheck,
                },
                limit.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw TlsFailed(ex);
        }

        _ssl = ssl;
        _guard = new GuardedStream(ssl, _account.CommandTimeout, _time);
        return greeting is null ? _guard : new ReplayStream(greeting, _guard);
    }

    private Pop3ConnectionException TlsFailed(Exception ex) => new(
        SmartPopErrorCodes.TlsFailed,
        $"SmartPop account '{_account.Name}': the TLS handshake with {_account.Host}:{_account.EffectivePort} failed{DescribeCertificateProblem()}" + (ex is OperationCanceledException ? $" (no answer within CommandTimeout {_account.CommandTimeout.TotalSeconds:0} s)." : "."),
        (_policyErrors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0
            ? "The server's certificate does not name this host. Use the exact host name the certificate names (for Microsoft 365 'outlook.office365.com', for Gmail 'pop.gmail.com')."
            : _policyErrors != SslPolicyErrors.None
                ? "The server's certificate does not chain to a trusted root (see the chain problem above). Fix the server's certificate chain, or for a private CA set TrustedRootCertificates / TrustedRootCertificateFile; if only the revocation check fails because revocation servers are unreachable, fix the network or set CheckCertificateRevocation = false."
                : "Check that the port speaks TLS from the first byte (995) or use StartTls on 110; if revocation servers are unreachable, see CheckCertificateRevocation.",
        _account.Name,
        _account.Host,
        innerException: ex);

    public async Task AuthenticateOAuthAsync(SaslMechanismKind mechanism, string userName, string accessToken, CancellationToken cancellationToken)
    {
        var sasl = new OAuthSaslMechanism(mechanism, userName, accessToken, _account.Host, _account.EffectivePort);
        string command = "AUTH " + sasl.MechanismName;
        _log.ClearRecent();
        _log.Authenticating = true;
        try
        {
            await _client.AuthenticateAsync(sasl, cancellationToken).ConfigureAwait(false);
            EnterTransaction();
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

            EnterTransaction();
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

    public async Task<(int Count, long Size)> StatAsync(CancellationToken cancellationToken)
    {
        string reply = await CommandAsync("STAT", cancellationToken).ConfigureAwait(false);
        string[] parts = reply.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 3
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out long size))
        {
            throw Violation("STAT", $"the STAT reply is not '+OK count size': {Printable(reply)}");
        }

        return (count, size);
    }

    public async Task<IReadOnlyList<string>> ListRawAsync(string command, CancellationToken cancellationToken)
    {
        Pop3Reader reader = Reader;
        await CommandAsync(command, cancellationToken).ConfigureAwait(false);
        var lines = new List<string>();
        long total = 0;
        try
        {
            reader.BeginData();
            var text = new StringBuilder();
            byte[] chunk = new byte[8192];
            while (true)
            {
                int n = await reader.ReadDataAsync(chunk, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                total += n;
                if (total > MaxListingBytes)
                {
                    throw Violation(command, $"the {command} listing is longer than {MaxListingBytes / (1024 * 1024)} MiB");
                }

                text.Append(Encoding.Latin1.GetString(chunk, 0, n));
                int lf;
                while ((lf = IndexOf(text, '\n')) >= 0)
                {
                    lines.Add(text.ToString(0, lf).TrimEnd('\r'));
                    text.Remove(0, lf + 1);
                }

                if (text.Length > GuardedStream.MaxLine)
                {
                    throw Violation(command, $"the server sent a {command} line of more than {GuardedStream.MaxLine / 1024} KiB");
                }
            }

            if (text.Length > 0)
            {
                lines.Add(text.ToString());
            }
        }
        catch (IOException ex)
        {
            throw Lost(ex, command);
        }

        return lines;
    }

    public async Task SendRetrAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        foreach (int index in indexes)
        {
            text.Append("RETR ").Append((index + 1).ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        }

        byte[] bytes = Encoding.ASCII.GetBytes(text.ToString());
        _log.ClearRecent();
        _log.LogClient(bytes, 0, bytes.Length);
        try
        {
            await Guard.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw Lost(ex, "RETR");
        }
    }

    public async Task<RetrStream> ReadRetrAsync(int index, long maxBytes, CancellationToken cancellationToken)
    {
        string command = "RETR " + (index + 1).ToString(CultureInfo.InvariantCulture);
        string reply = await ReadStatusAsync(Reader, command, cancellationToken).ConfigureAwait(false);
        if (!reply.StartsWith("+OK", StringComparison.Ordinal))
        {
            throw Refused(command, reply);
        }

        return new RetrStream(Reader, maxBytes, cancellationToken);
    }

    public async Task DeleteAsync(int index, CancellationToken cancellationToken) =>
        await CommandAsync("DELE " + (index + 1).ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);

    public async Task QuitAsync(CancellationToken cancellationToken)
    {
        if (_reader is null)
        {
            // Not logged in (the Test after a failed login): MailKit's QUIT.
            await RunAsync("QUIT", async ct =>
            {
                await _client.DisconnectAsync(quit: true, ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
            return;
        }

        await CommandAsync("QUIT", cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose(); // no QUIT: pending DELEs are not committed
        _guard?.Dispose();
        _ssl?.Dispose();
        _socket?.Dispose();
        _log.Dispose();
        _certificate?.Dispose();
        return ValueTask.CompletedTask;
    }

    private const long MaxListingBytes = 64L * 1024 * 1024;

    private Pop3Reader Reader => _reader ?? throw new InvalidOperationException("Not logged in.");

    private GuardedStream Guard => _guard ?? throw new InvalidOperationException("Not connected.");

    /// <summary>After MailKit's login, SmartPop reads the session itself (MailKit's read-ahead buffer is empty between commands).</summary>
    private void EnterTransaction()
    {
        Guard.LimitLines = false;
        _reader = new Pop3Reader(Guard);
    }

    private static int IndexOf(StringBuilder text, char c)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == c)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Sends a one-line command and reads its status line; <c>-ERR</c> throws <see cref="Pop3CommandException"/>.</summary>
    private async Task<string> CommandAsync(string command, CancellationToken cancellationToken)
    {
        Pop3Reader reader = Reader;
        if (reader.HasBufferedData)
        {
            throw Violation(command, "the server sent bytes nobody asked for (the session is out of sync)");
        }

        await WriteAsync(reader, command, cancellationToken).ConfigureAwait(false);
        string reply = await ReadStatusAsync(reader, command, cancellationToken).ConfigureAwait(false);
        return reply.StartsWith("+OK", StringComparison.Ordinal) ? reply : throw Refused(command, reply);
    }

    private async Task WriteAsync(Pop3Reader reader, string command, CancellationToken cancellationToken)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(command + "\r\n");
        _log.ClearRecent();
        _log.LogClient(bytes, 0, bytes.Length);
        try
        {
            await reader.WriteLineAsync(command, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw Lost(ex, command);
        }
    }

    private async Task<string> ReadStatusAsync(Pop3Reader reader, string command, CancellationToken cancellationToken)
    {
        string line;
        try
        {
            line = await reader.ReadLineAsync(GuardedStream.MaxLine, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw Lost(ex, command);
        }

        byte[] shown = Encoding.Latin1.GetBytes(line + "\r\n");
        _log.LogServer(shown, 0, shown.Length);
        if (!line.StartsWith("+OK", StringComparison.Ordinal) && !line.StartsWith("-ERR", StringComparison.Ordinal))
        {
            throw Violation(command, $"the reply is neither +OK nor -ERR: {Printable(line)}");
        }

        return line;
    }

    private Pop3CommandException Refused(string command, string reply)
    {
        string words = Printable(reply);
        ServerReplyAdvice advice = ServerReplyCatalog.Explain(words, _account);
        string verb = command.Split(' ')[0];
        return new Pop3CommandException(
            verb == "UIDL" ? SmartPopErrorCodes.UidlNotSupported : advice.ErrorCode ?? SmartPopErrorCodes.CommandFailed,
            $"SmartPop account '{_account.Name}': {_account.Host} refused {command}: {words}",
            advice.Remedy,
            _account.Name,
            _account.Host,
            verb,
            words);
    }

    private Pop3ConnectionException Violation(string command, string what) => new(
        SmartPopErrorCodes.ProtocolViolation,
        $"SmartPop account '{_account.Name}': {_account.Host} broke the POP3 protocol during {command}: {what}.",
        "Nothing was lost: undelivered messages stay on the server. If it persists, the server (or a proxy in front of it) is broken: tell its administrator.",
        _account.Name,
        _account.Host);

    private Pop3ConnectionException Lost(IOException ex, string command) => ex switch
    {
        Pop3TimeoutException => new Pop3ConnectionException(
            SmartPopErrorCodes.Timeout,
            $"SmartPop account '{_account.Name}': {_account.Host} timed out during {command}: {ex.Message}.",
            "Nothing was lost: undelivered messages stay on the server and are collected in the next poll. If it persists, the server or the network is too slow: check them, or raise CommandTimeout.",
            _account.Name,
            _account.Host,
            innerException: ex),
        Pop3ProtocolViolationException => Violation(command, ex.Message),
        _ => new Pop3ConnectionException(
            SmartPopErrorCodes.ConnectionLost,
            $"SmartPop account '{_account.Name}': the connection to {_account.Host} failed during {command} ({ex.Message}).",
            "Nothing was lost: undelivered messages stay on the server and are collected in the next poll. If it persists, check the network and the server.",
            _account.Name,
            _account.Host,
            innerException: ex),
    };

    /// <summary>Server words made safe to show: control characters and non-ASCII bytes as \xNN, at most 512 characters.</summary>
    internal static string Printable(string text)
    {
        var shown = new StringBuilder(Math.Min(text.Length, 512));
        foreach (char c in text)
        {
            if (shown.Length >= 512)
            {
                shown.Append("...");
                break;
            }

            if (c is >= ' ' and <= '~')
            {
                shown.Append(c);
            }
            else
            {
                shown.Append("\\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return shown.ToString();
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
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is Pop3TimeoutException or Pop3ProtocolViolationException)
            {
                return Lost((IOException)e, command);
            }
        }

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
