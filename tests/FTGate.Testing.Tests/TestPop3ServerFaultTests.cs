using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using MailKit;
using MailKit.Net.Pop3;
using MailKit.Security;

namespace FTGate.Testing.Tests;

/// <summary>Each fault switch, and what MailKit (and so the SDK) sees.</summary>
public sealed class TestPop3ServerFaultTests : IAsyncLifetime
{
    private const string User = "user@example.test";
    private const string GmailChallenge = "+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==";

    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;
    private TestOAuthAuthority _authority = null!;
    private TestPop3Server _server = null!;

    public async ValueTask InitializeAsync()
    {
        _authority = await TestOAuthAuthority.StartAsync(cancellationToken: _ct);
        _server = await TestPop3Server.StartAsync(_authority, cancellationToken: _ct);
        _server.GetMailbox(User).Add("Subject: 1\r\n\r\none\r\n", "one");
        _server.GetMailbox(User).Add("Subject: 2\r\n\r\n" + string.Concat(Enumerable.Repeat("0123456789\r\n", 100)), "two");
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        await _authority.DisposeAsync();
    }

    private SaslMechanismOAuth2 ValidLogin() => new(User, _authority.IssueAccessToken(User));

    [Fact]
    public async Task ExchangeStyle_RejectedToken_MailKitThrowsAuthenticationExceptionAndSessionStaysUsable()
    {
        _server.Style = Pop3ServerStyle.Exchange;
        _server.Faults.RejectAuthentications(1);
        using var log = new MemoryStream();
        using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct, new ProtocolLogger(log, leaveOpen: true));
        Assert.DoesNotContain("OAUTHBEARER", client.AuthenticationMechanisms);

        var error = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(ValidLogin(), _ct));

        Assert.Equal("Authentication failed.", error.Message); // The server text is not in the exception...
        string transcript = Encoding.UTF8.GetString(log.ToArray());
        Assert.Contains("S: -ERR Authentication failure: unknown user name or bad password.", transcript, StringComparison.Ordinal); // ...only in the log.
        Assert.Contains("C: ********", transcript, StringComparison.Ordinal); // MailKit redacts the token.
        Assert.True(client.IsConnected);
        await client.AuthenticateAsync(ValidLogin(), _ct); // The same session can retry with a refreshed token.
        Assert.Equal(2, client.Count);
    }

    [Fact]
    public async Task GmailStyle_RejectedToken_MailKitThrowsProtocolExceptionAfterErrorChallenge()
    {
        _server.Style = Pop3ServerStyle.Gmail;
        using var log = new MemoryStream();
        using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct, new ProtocolLogger(log, leaveOpen: true));

        var error = await Assert.ThrowsAsync<Pop3ProtocolException>(() => client.AuthenticateAsync(new SaslMechanismOAuth2(User, "bogus"), _ct));

        Assert.Equal("POP3 server did not respond with a +OK response to the AUTH command.", error.Message);
        Assert.Contains("S: " + GmailChallenge, Encoding.UTF8.GetString(log.ToArray()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GmailStyle_RawClientAnswersErrorChallenge_GetsInvalidCredentials()
    {
        _server.Style = Pop3ServerStyle.Gmail;
        await using var raw = await RawSession.ConnectAsync(_server, _ct);
        Assert.StartsWith("+OK Gpop ready", await raw.ReadLineAsync(), StringComparison.Ordinal);

        await raw.WriteLineAsync("AUTH XOAUTH2");
        Assert.Equal("+ ", await raw.ReadLineAsync());
        await raw.WriteLineAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes($"user={User}\u0001auth=Bearer bogus\u0001\u0001")));
        Assert.Equal(GmailChallenge, await raw.ReadLineAsync());
        await raw.WriteLineAsync(string.Empty);

        Assert.Equal("-ERR [AUTH] Invalid credentials.", await raw.ReadLineAsync());
    }

    [Fact]
    public async Task DovecotStyle_RawOneLineXOAuth2_LogsIn()
    {
        string payload = Convert.ToBase64String(Encoding.UTF8.GetBytes($"user={User}\u0001auth=Bearer {_authority.IssueAccessToken(User)}\u0001\u0001"));
        await using var raw = await RawSession.ConnectAsync(_server, _ct);
        Assert.Equal("+OK Dovecot ready.", await raw.ReadLineAsync());

        await raw.WriteLineAsync("AUTH XOAUTH2 " + payload);

        Assert.Equal("+OK Logged in.", await raw.ReadLineAsync());
        await raw.WriteLineAsync("STAT");
        Assert.StartsWith("+OK 2 ", await raw.ReadLineAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AccountNotEnabledForPop_MailKitAuthenticateFailsOnStatWithSysPerm()
    {
        _server.Style = Pop3ServerStyle.Gmail;
        _server.Faults.AccountNotEnabledForPop = true;
        using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct);

        var error = await Assert.ThrowsAsync<Pop3CommandException>(() => client.AuthenticateAsync(ValidLogin(), _ct));

        Assert.Equal(
            "[SYS/PERM] Your account is not enabled for POP access. Please visit your Gmail settings page and enable your account for POP access.",
            error.StatusText);
        Assert.Equal(1, _server.Counters.SuccessfulLogins); // The login itself succeeded.
    }

    [Fact]
    public async Task DropConnectionDuringRetr_MailKitFailsAndNothingIsCommitted()
    {
        _server.Faults.DropConnectionDuringRetr(messageNumber: 2, afterBytes: 50);
        using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct);
        await client.AuthenticateAsync(ValidLogin(), _ct);
        await client.DeleteMessageAsync(0, _ct);

        Exception error = await Assert.ThrowsAnyAsync<Exception>(() => client.GetStreamAsync(1, cancellationToken: _ct));

        Assert.True(error is Pop3ProtocolException or IOException, error.GetType().FullName);
        Assert.False(client.IsConnected);
        await TestPop3ServerTests.WaitForAsync(_server, c => c.ActiveSessions == 0);
        Assert.Equal(2, _server.GetMailbox(User).Count); // The DELE of message 1 was not committed.

        // One-shot: the next session downloads message 2 in full.
        using Pop3Client again = await Pop3.ConnectTlsAsync(_server, _ct);
        await again.AuthenticateAsync(ValidLogin(), _ct);
        using Stream stream = await again.GetStreamAsync(1, cancellationToken: _ct);
        Assert.Equal(_server.GetMailbox(User).Messages[1].GetClientBytes(), await Pop3.ReadAllAsync(stream, _ct));
    }

    [Fact]
    public async Task ResponseDelay_SlowsEveryResponse()
    {
        using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct);
        await client.AuthenticateAsync(ValidLogin(), _ct);
        _server.Faults.ResponseDelay = TimeSpan.FromMilliseconds(200);
        var watch = Stopwatch.StartNew();

        await client.NoOpAsync(_ct);

        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(180), watch.Elapsed.ToString());
    }

    [Fact]
    public async Task LineDelay_BeyondClientTimeout_MailKitTimesOut()
    {
        using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct);
        await client.AuthenticateAsync(ValidLogin(), _ct);
        client.Timeout = 200;
        _server.Faults.LineDelay = TimeSpan.FromMilliseconds(500);

        Exception error = await Assert.ThrowsAnyAsync<Exception>(() => client.GetStreamAsync(0, cancellationToken: _ct));

        Assert.True(error is IOException or TimeoutException, error.ToString());
    }

    [Fact]
    public async Task LineDelay_CancellationTokenStopsTheDownload()
    {
        using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct);
        await client.AuthenticateAsync(ValidLogin(), _ct);
        _server.Faults.LineDelay = TimeSpan.FromMilliseconds(100);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_ct);
        cts.CancelAfter(300);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetStreamAsync(1, cancellationToken: cts.Token));
    }

    [Fact]
    public async Task DisableUidl_CapaWithoutUidl_MailKitReportsNoUids()
    {
        _server.Faults.DisableUidl = true;
        using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct);
        await client.AuthenticateAsync(ValidLogin(), _ct);

        Assert.False(client.SupportsUids);
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetMessageUidsAsync(_ct));

        await using var raw = await RawSession.ConnectAsync(_server, _ct);
        await raw.ReadLineAsync();
        await raw.WriteLineAsync("AUTH XOAUTH2 " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"user={User}\u0001auth=Bearer {_authority.IssueAccessToken(User)}\u0001\u0001")));
        await raw.ReadLineAsync();
        await raw.WriteLineAsync("UIDL");
        Assert.Equal("-ERR Unknown command: UIDL", await raw.ReadLineAsync());
    }

    [Fact]
    public async Task RequireTlsForAuthentication_PlainLoginRefusedUntilStls()
    {
        await using TestPop3Server strict = await TestPop3Server.StartAsync(_authority, o => o.RequireTlsForAuthentication = true, _ct);
        await using var raw = await RawSession.ConnectAsync(strict, _ct);
        await raw.ReadLineAsync();

        await raw.WriteLineAsync("USER " + User);

        Assert.Equal("-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.", await raw.ReadLineAsync());
    }

    [Fact]
    public async Task ThrowingValidator_EndsOnlyThatSession_AndIsReported()
    {
        await using TestPop3Server server = await TestPop3Server.StartAsync(new TestPop3ServerOptions
        {
            TokenValidator = TestTokenValidator.FromDelegate((_, _) => throw new InvalidOperationException("validator bug")),
        }, _ct);
        using Pop3Client client = await Pop3.ConnectTlsAsync(server, _ct);

        await Assert.ThrowsAnyAsync<Exception>(() => client.AuthenticateAsync(new SaslMechanismOAuth2(User, "t"), _ct));

        await TestPop3ServerTests.WaitForAsync(server, _ => server.SessionErrors.Count == 1); // a session ends after its error is recorded
        Assert.Equal("validator bug", server.SessionErrors.Single().Message);
        using Pop3Client next = await Pop3.ConnectTlsAsync(server, _ct); // The server still accepts connections.
        Assert.True(next.IsConnected);
    }

    /// <summary>A line-oriented client on the plain port, for the replies MailKit never shows.</summary>
    private sealed class RawSession : IAsyncDisposable
    {
        private readonly TcpClient _client;
        private readonly StreamReader _reader;
        private readonly Stream _stream;
        private readonly CancellationToken _ct;

        private RawSession(TcpClient client, CancellationToken ct)
        {
            _client = client;
            _stream = client.GetStream();
            _reader = new StreamReader(_stream, Encoding.Latin1);
            _ct = ct;
        }

        public static async Task<RawSession> ConnectAsync(TestPop3Server server, CancellationToken ct)
        {
            var client = new TcpClient();
            await client.ConnectAsync(server.Host, server.Port, ct);
            return new RawSession(client, ct);
        }

        public async Task<string?> ReadLineAsync()
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            return await _reader.ReadLineAsync(timeout.Token);
        }

        public async Task WriteLineAsync(string line) => await _stream.WriteAsync(Encoding.Latin1.GetBytes(line + "\r\n"), _ct);

        public ValueTask DisposeAsync()
        {
            _reader.Dispose();
            _client.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
