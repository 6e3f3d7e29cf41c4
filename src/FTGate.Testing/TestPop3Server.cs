using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FTGate.Testing.Internal;

namespace FTGate.Testing;

/// <summary>
/// An in-process POP3 server on 127.0.0.1 for hosts' tests: TLS from the first byte on <see cref="TlsPort"/> and plain text with STLS
/// on <see cref="Port"/>, SASL XOAUTH2 (two-step, <c>+ </c> continuation) and OAUTHBEARER checked by an
/// <see cref="ITestTokenValidator"/> (normally a <see cref="TestOAuthAuthority"/>), AUTH PLAIN and USER/PASS, and the mailbox commands
/// with commit-on-QUIT semantics. It answers like Dovecot, Exchange Online or Gmail (<see cref="Style"/>) and can reproduce their
/// failures (<see cref="Faults"/>).
/// </summary>
/// <example>
/// <code>
/// await using var authority = await TestOAuthAuthority.StartAsync();
/// await using var pop3 = await TestPop3Server.StartAsync(authority);
/// pop3.GetMailbox("user@example.test").Add("Subject: hi\r\n\r\nHello\r\n");
/// using var client = new Pop3Client { ServerCertificateValidationCallback = pop3.ValidateCertificate };
/// await client.ConnectAsync(pop3.Host, pop3.TlsPort, SecureSocketOptions.SslOnConnect);
/// </code>
/// </example>
public sealed class TestPop3Server : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, TestMailbox> _mailboxes = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<Pop3Session, byte> _sessions = new();
    private readonly ConcurrentQueue<Exception> _errors = new();
    private readonly TcpListener _plainListener;
    private readonly TcpListener? _tlsListener;
    private readonly bool _ownsCertificate;
    private readonly Task _plainLoop;
    private readonly Task _tlsLoop;
    private int _disposed;

    private TestPop3Server(TestPop3ServerOptions options)
    {
        Style = options.Style;
        TokenValidator = options.TokenValidator;
        OfferStls = options.OfferStls;
        RequireTlsForAuthentication = options.RequireTlsForAuthentication;
        AcceptAppOnlyTokens = options.AcceptAppOnlyTokens;
        RequiredScope = options.RequiredScope;
        _ownsCertificate = options.Certificate is null;
        Certificate = options.Certificate ?? TestCertificates.CreateSelfSigned("FTGate Test POP3 Server");
        CertificateThumbprint = Certificate.GetCertHashString(HashAlgorithmName.SHA256);

        _plainListener = new TcpListener(IPAddress.Loopback, 0);
        _plainListener.Start();
        Port = ((IPEndPoint)_plainListener.LocalEndpoint).Port;
        if (options.EnableTlsPort)
        {
            _tlsListener = new TcpListener(IPAddress.Loopback, 0);
            _tlsListener.Start();
            TlsPort = ((IPEndPoint)_tlsListener.LocalEndpoint).Port;
        }

        _plainLoop = AcceptLoopAsync(_plainListener, implicitTls: false);
        _tlsLoop = _tlsListener is null ? Task.CompletedTask : AcceptLoopAsync(_tlsListener, implicitTls: true);
    }

    /// <summary>The address the server listens on: <c>127.0.0.1</c>.</summary>
    public string Host => "127.0.0.1";

    /// <summary>The plain-text port (like 110), offering STLS unless <see cref="TestPop3ServerOptions.OfferStls"/> is off.</summary>
    public int Port { get; }

    /// <summary>The TLS-on-connect port (like 995); 0 when <see cref="TestPop3ServerOptions.EnableTlsPort"/> is off.</summary>
    public int TlsPort { get; }

    /// <summary>The server certificate (self-signed unless one was given in the options).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The SHA-256 hash of <see cref="Certificate"/>, upper-case hex, for pinning.</summary>
    public string CertificateThumbprint { get; }

    /// <summary>Whose replies the server imitates; applies to the next command (the greeting only to new connections).</summary>
    public Pop3ServerStyle Style { get; set; }

    /// <summary>Decides whether OAuth access tokens are active; <see langword="null"/> rejects every OAuth login.</summary>
    public ITestTokenValidator? TokenValidator { get; set; }

    /// <summary>Fault switches.</summary>
    public TestPop3Faults Faults { get; } = new();

    /// <summary>Counters for assertions.</summary>
    public TestPop3Counters Counters { get; } = new();

    /// <summary>Unexpected exceptions that ended a session (for example a throwing <see cref="ITestTokenValidator"/>); normally empty.</summary>
    public IReadOnlyCollection<Exception> SessionErrors => [.. _errors];

    /// <summary>The mailboxes created so far.</summary>
    public IReadOnlyCollection<TestMailbox> Mailboxes => [.. _mailboxes.Values];

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Mailbox, string User), bool> _fullAccess = new();

    internal bool OfferStls { get; }

    internal bool RequireTlsForAuthentication { get; }

    internal bool AcceptAppOnlyTokens { get; }

    internal string? RequiredScope { get; }

    /// <summary>Starts a server.</summary>
    /// <param name="options">The options. Default: Dovecot style, both ports, a generated certificate, no token validator.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server; dispose it to stop.</returns>
    public static Task<TestPop3Server> StartAsync(TestPop3ServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(new TestPop3Server(options ?? new TestPop3ServerOptions()));
    }

    /// <summary>Starts a server whose OAuth logins are checked by <paramref name="authority"/> (the SASL user must be the token's user).</summary>
    /// <param name="authority">The authority that issued the tokens.</param>
    /// <param name="configure">Further options.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server; dispose it to stop.</returns>
    public static Task<TestPop3Server> StartAsync(TestOAuthAuthority authority, Action<TestPop3ServerOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(authority);
        var options = new TestPop3ServerOptions { TokenValidator = authority };
        configure?.Invoke(options);
        return StartAsync(options, cancellationToken);
    }

    /// <summary>The mailbox of <paramref name="userName"/>, created empty on first use (OAuth logins create it too).</summary>
    /// <param name="userName">The user name, compared case-insensitively.</param>
    /// <returns>The mailbox.</returns>
    public TestMailbox GetMailbox(string userName)
    {
        ArgumentException.ThrowIfNullOrEmpty(userName);
        return _mailboxes.GetOrAdd(userName, static name => new TestMailbox(name));
    }

    /// <summary>Creates (or returns) the mailbox of <paramref name="userName"/> and sets its password for AUTH PLAIN and USER/PASS.</summary>
    /// <param name="userName">The user name.</param>
    /// <param name="password">The password.</param>
    /// <returns>The mailbox.</returns>
    public TestMailbox AddUser(string userName, string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        TestMailbox mailbox = GetMailbox(userName);
        mailbox.Password = password;
        return mailbox;
    }

    /// <summary>
    /// Exchange's <c>Add-MailboxPermission -Identity mailbox -User user -AccessRights FullAccess</c>: an OAuth token of
    /// <paramref name="userName"/> may then log in to <paramref name="mailbox"/> (the SASL user). Without it a token is accepted
    /// only for its own user, as Dovecot and Gmail do.
    /// </summary>
    /// <param name="mailbox">The shared mailbox.</param>
    /// <param name="userName">The delegate whose tokens may open it.</param>
    public void GrantFullAccess(string mailbox, string userName)
    {
        ArgumentException.ThrowIfNullOrEmpty(mailbox);
        ArgumentException.ThrowIfNullOrEmpty(userName);
        _fullAccess[(mailbox.ToUpperInvariant(), userName.ToUpperInvariant())] = true;
    }

    internal bool HasFullAccess(string mailbox, string userName) => _fullAccess.ContainsKey((mailbox.ToUpperInvariant(), userName.ToUpperInvariant()));

    /// <summary>
    /// Accepts exactly this server's certificate: assign it to <c>Pop3Client.ServerCertificateValidationCallback</c> (it has the
    /// <see cref="RemoteCertificateValidationCallback"/> shape).
    /// </summary>
    /// <param name="sender">The TLS stream.</param>
    /// <param name="certificate">The certificate the server presented.</param>
    /// <param name="chain">The chain (ignored: the certificate is pinned).</param>
    /// <param name="sslPolicyErrors">The policy errors (ignored: a self-signed certificate always has some).</param>
    /// <returns><see langword="true"/> when <paramref name="certificate"/> is <see cref="Certificate"/>.</returns>
    public bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors sslPolicyErrors) =>
        certificate is not null
        && string.Equals(certificate.GetCertHashString(HashAlgorithmName.SHA256), CertificateThumbprint, StringComparison.OrdinalIgnoreCase);

    /// <summary>Stops listening, closes every connection (committing nothing) and waits for the sessions to end.</summary>
    /// <returns>A task that completes when everything has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _plainListener.Stop();
        _tlsListener?.Stop();
        await Task.WhenAll(_plainLoop, _tlsLoop).ConfigureAwait(false);
        var running = new List<Task>();
        foreach (Pop3Session session in _sessions.Keys)
        {
            session.Dispose();
            if (session.Task is { } task)
            {
                running.Add(task);
            }
        }

        await Task.WhenAll(running).ConfigureAwait(false);
        _stopping.Dispose();
        if (_ownsCertificate)
        {
            Certificate.Dispose();
        }
    }

    internal TestMailbox? TryGetMailbox(string userName) => _mailboxes.TryGetValue(userName, out TestMailbox? mailbox) ? mailbox : null;

    private async Task AcceptLoopAsync(TcpListener listener, bool implicitTls)
    {
        await Task.Yield();
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            client.NoDelay = true;
            var session = new Pop3Session(this, client, implicitTls);
            _sessions[session] = 0;
            session.Task = RunSessionAsync(session);
        }
    }

    private async Task RunSessionAsync(Pop3Session session)
    {
        Counters.SessionStarted();
        try
        {
            await Task.Yield();
            await session.RunAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // A throwing token validator or a bug: keep the server up, end only this session, and let the test see it.
            _errors.Enqueue(e);
        }
        finally
        {
            session.Dispose();
            _sessions.TryRemove(session, out _);
            Counters.SessionEnded();
        }
    }
}
