using System.Security.Cryptography;
using System.Text;
using MailKit;
using MailKit.Net.Pop3;
using MailKit.Security;

namespace FTGate.Testing.Tests;

public sealed class TestPop3ServerTests : IAsyncLifetime
{
    private const string User = "user@example.test";
    private const string ClientId = "pop-tests";

    // Dot-stuffing cases (lines starting with "." and a lone "."), LF-only line ends, 8-bit bytes, and no trailing newline.
    private static readonly byte[] Tricky = [.. Encoding.ASCII.GetBytes("From: a@example.test\nSubject: dots\n\n.leading dot\n..two dots\n.\nend "), 0xE9, 0xFF, .. Encoding.ASCII.GetBytes("\nno newline at end")];

    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;
    private TestOAuthAuthority _authority = null!;
    private TestPop3Server _server = null!;

    public async ValueTask InitializeAsync()
    {
        _authority = await TestOAuthAuthority.StartAsync(cancellationToken: _ct);
        _authority.RegisterClient(ClientId);
        _server = await TestPop3Server.StartAsync(_authority, cancellationToken: _ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        await _authority.DisposeAsync();
    }

    private async Task<string> SignInAsync(string user = User)
    {
        TokenResponse tokens = await OAuthClient.SignInAsync(_authority, ClientId, user, _ct);
        Assert.NotNull(tokens.AccessToken);
        return tokens.AccessToken!;
    }

    [Fact]
    public async Task MailKit_TlsPinnedXOAuth2WithAuthorityToken_ListsAndRetrievesByteExact()
    {
        TestMessage tricky = _server.GetMailbox(User).Add(Tricky, "uid-tricky");
        byte[] crlf = Encoding.ASCII.GetBytes("Subject: plain\r\n\r\nbody\r\n");
        _server.GetMailbox(User).Add(crlf, "uid-plain");
        string token = await SignInAsync();

        using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct);
        Assert.True(client.IsSecure);
        Assert.Contains("XOAUTH2", client.AuthenticationMechanisms);
        await client.AuthenticateAsync(new SaslMechanismOAuth2(User, token), _ct);

        Assert.Equal(2, client.Count);
        Assert.Equal(["uid-tricky", "uid-plain"], await client.GetMessageUidsAsync(_ct));
        Assert.Equal([(int)tricky.Size, crlf.Length], await client.GetMessageSizesAsync(_ct));
        using Stream first = await client.GetStreamAsync(0, cancellationToken: _ct);
        byte[] received = await Pop3.ReadAllAsync(first, _ct);
        Assert.Equal(SHA256.HashData(tricky.GetClientBytes()), SHA256.HashData(received));
        Assert.Equal(tricky.Size + 2, received.Length); // Dovecot's shape: no trailing newline gets one CRLF.
        using Stream second = await client.GetStreamAsync(1, cancellationToken: _ct);
        Assert.Equal(crlf, await Pop3.ReadAllAsync(second, _ct)); // CRLF stored: the exact bytes come back.
        await client.DisconnectAsync(true, _ct);
        Assert.Equal(2, _server.Counters.RetrCount);
        Assert.Equal(1, _authority.Counters.Introspections);
    }

    [Fact]
    public async Task MailKit_PlainPortStartTls_AuthenticatesOverTls()
    {
        _server.GetMailbox(User).Add("Subject: x\r\n\r\ny\r\n");
        string token = await SignInAsync();
        using var client = new Pop3Client { Timeout = 5000, CheckCertificateRevocation = false, ServerCertificateValidationCallback = _server.ValidateCertificate };

        await client.ConnectAsync(_server.Host, _server.Port, SecureSocketOptions.StartTls, _ct);
        await client.AuthenticateAsync(new SaslMechanismOAuth2(User, token), _ct);

        Assert.True(client.IsSecure);
        Assert.Equal(1, client.Count);
    }

    [Fact]
    public async Task ValidateCertificate_OtherCertificate_Rejected()
    {
        await using TestPop3Server other = await TestPop3Server.StartAsync(cancellationToken: _ct);
        using var client = new Pop3Client { Timeout = 5000, CheckCertificateRevocation = false, ServerCertificateValidationCallback = other.ValidateCertificate };

        await Assert.ThrowsAsync<SslHandshakeException>(() => client.ConnectAsync(_server.Host, _server.TlsPort, SecureSocketOptions.SslOnConnect, _ct));
        Assert.Equal(64, _server.CertificateThumbprint.Length);
    }

    [Fact]
    public async Task MailKit_OAuthBearer_Authenticates()
    {
        string token = await SignInAsync();
        using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct);

        await client.AuthenticateAsync(new SaslMechanismOAuthBearer(User, token), _ct);

        Assert.True(client.IsAuthenticated);
        Assert.Equal(1, _server.Counters.SuccessfulLogins);
    }

    [Fact]
    public async Task MailKit_TokenOfAnotherUser_RejectedLikeDovecot()
    {
        string token = await SignInAsync("someone.else@example.test");
        using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct);

        // Dovecot sends "+ <base64 JSON>" and MailKit's POP3 loop does not answer it (library-notes §3.6).
        var error = await Assert.ThrowsAsync<Pop3ProtocolException>(() => client.AuthenticateAsync(new SaslMechanismOAuth2(User, token), _ct));

        Assert.Contains("AUTH", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, _server.Counters.FailedLogins);
    }

    [Fact]
    public async Task Dele_ThenQuit_CommitsDeletion()
    {
        TestMailbox mailbox = _server.GetMailbox(User);
        mailbox.Add("Subject: 1\r\n\r\n1\r\n", "one");
        mailbox.Add("Subject: 2\r\n\r\n2\r\n", "two");
        string token = await SignInAsync();
        using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct);
        await client.AuthenticateAsync(new SaslMechanismOAuth2(User, token), _ct);

        await client.DeleteMessageAsync(0, _ct);
        Assert.Equal(2, mailbox.Count); // Only marked.
        await client.DisconnectAsync(true, _ct);

        await WaitForAsync(_server, c => c.QuitCount == 1);
        Assert.Equal(["two"], mailbox.Messages.Select(m => m.Uid));
        Assert.Equal(1, _server.Counters.MessagesDeleted);
    }

    [Fact]
    public async Task Dele_ThenDroppedConnection_CommitsNothing()
    {
        TestMailbox mailbox = _server.GetMailbox(User);
        mailbox.Add("Subject: 1\r\n\r\n1\r\n");
        string token = await SignInAsync();
        using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct);
        await client.AuthenticateAsync(new SaslMechanismOAuth2(User, token), _ct);

        await client.DeleteMessageAsync(0, _ct);
        await client.DisconnectAsync(false, _ct); // No QUIT.

        await WaitForAsync(_server, c => c.ActiveSessions == 0);
        Assert.Equal(1, mailbox.Count);
        Assert.Equal(0, _server.Counters.MessagesDeleted);
    }

    [Fact]
    public async Task Rset_UnmarksDeletions()
    {
        TestMailbox mailbox = _server.AddUser(User, "secret");
        mailbox.Add("Subject: 1\r\n\r\n1\r\n");
        using Pop3Client client = await Pop3.ConnectPlainAsync(_server, _ct);
        await client.AuthenticateAsync(User, "secret", _ct);

        await client.DeleteMessageAsync(0, _ct);
        await client.ResetAsync(_ct);
        await client.DisconnectAsync(true, _ct);

        await WaitForAsync(_server, c => c.QuitCount == 1);
        Assert.Equal(1, mailbox.Count);
    }

    [Fact]
    public async Task UserPass_And_AuthPlain_CheckPasswords()
    {
        _server.AddUser(User, "secret");
        using (Pop3Client plain = await Pop3.ConnectPlainAsync(_server, _ct))
        {
            plain.AuthenticationMechanisms.Clear(); // Forces USER/PASS.
            await Assert.ThrowsAsync<AuthenticationException>(() => plain.AuthenticateAsync(User, "wrong", _ct));
            await plain.AuthenticateAsync(User, "secret", _ct);
            Assert.True(plain.IsAuthenticated);
        }

        using Pop3Client sasl = await Pop3.ConnectTlsAsync(_server, _ct);
        await sasl.AuthenticateAsync(new SaslMechanismPlain(User, "secret"), _ct);
        Assert.Equal(2, _server.Counters.SuccessfulLogins);
        Assert.Equal(1, _server.Counters.FailedLogins);
    }

    [Fact]
    public async Task Top_ReturnsHeadersAndRequestedLines()
    {
        _server.GetMailbox(User).Add("Subject: top\r\nFrom: a@b\r\n\r\nline1\r\n.line2\r\nline3\r\n");
        using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct);
        await client.AuthenticateAsync(new SaslMechanismOAuth2(User, _authority.IssueAccessToken(User)), _ct);

        using Stream headers = await client.GetStreamAsync(0, headersOnly: true, cancellationToken: _ct);

        Assert.Equal("Subject: top\r\nFrom: a@b\r\n\r\n", Encoding.ASCII.GetString(await Pop3.ReadAllAsync(headers, _ct)));
        Assert.Equal(1, _server.Counters.TopCount);
    }

    [Fact]
    public async Task Pipelining_GetStreams_ReturnsAllMessagesInOrder()
    {
        TestMailbox mailbox = _server.GetMailbox(User);
        for (int i = 0; i < 5; i++)
        {
            mailbox.Add($"Subject: {i}\r\n\r\nbody {i}\r\n");
        }

        using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct);
        await client.AuthenticateAsync(new SaslMechanismOAuth2(User, _authority.IssueAccessToken(User)), _ct);
        Assert.True(client.Capabilities.HasFlag(Pop3Capabilities.Pipelining));

        IList<Stream> streams = await client.GetStreamsAsync(0, 5, cancellationToken: _ct);

        for (int i = 0; i < 5; i++)
        {
            Assert.Equal($"Subject: {i}\r\n\r\nbody {i}\r\n", Encoding.ASCII.GetString(await Pop3.ReadAllAsync(streams[i], _ct)));
        }
    }

    [Fact]
    public async Task MailboxFromEmlFiles_UidIsFileName()
    {
        string folder = Directory.CreateTempSubdirectory("ftgate-eml-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "b.eml"), "Subject: b\n\nB\n", _ct);
            await File.WriteAllTextAsync(Path.Combine(folder, "a.eml"), "Subject: a\n\nA\n", _ct);
            await File.WriteAllTextAsync(Path.Combine(folder, "ignored.txt"), "x", _ct);

            IReadOnlyList<TestMessage> added = await _server.GetMailbox(User).AddDirectoryAsync(folder, cancellationToken: _ct);

            Assert.Equal(["a", "b"], added.Select(m => m.Uid));
            Assert.Equal("Subject: a\r\n\r\nA\r\n", Encoding.ASCII.GetString(added[0].GetClientBytes()));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task ConcurrentSessions_EachSeesItsMailbox()
    {
        string[] users = [.. Enumerable.Range(0, 6).Select(i => $"user{i}@example.test")];
        foreach (string user in users)
        {
            _server.GetMailbox(user).Add($"Subject: {user}\r\n\r\nx\r\n");
        }

        int[] counts = await Task.WhenAll(users.Select(async user =>
        {
            using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct);
            await client.AuthenticateAsync(new SaslMechanismOAuth2(user, _authority.IssueAccessToken(user)), _ct);
            int count = client.Count;
            await client.DisconnectAsync(true, _ct);
            return count;
        }));

        Assert.All(counts, c => Assert.Equal(1, c));
        Assert.Equal(6, _server.Counters.Sessions);
    }

    [Fact]
    public async Task DisposeAsync_WithIdleClientConnected_ReturnsQuickly()
    {
        TestPop3Server server = await TestPop3Server.StartAsync(cancellationToken: _ct);
        using Pop3Client client = await Pop3.ConnectTlsAsync(server, _ct);

        // Disposing does not wait for the idle client to leave (a hang would outlast this generous bound).
        await server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10), _ct);

        Assert.Equal(0, server.Counters.ActiveSessions);
    }

    [Fact]
    public async Task ExpiredAccessToken_Rejected()
    {
        string token = _authority.IssueAccessToken(User);
        _authority.ExpireAccessTokens();
        _server.Style = Pop3ServerStyle.Exchange;
        using Pop3Client client = await Pop3.ConnectTlsAsync(_server, _ct);

        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismOAuth2(User, token), _ct));
    }

    /// <summary>Waits (at most 5 s) for a state of the server: every counter change signals it, nothing polls.</summary>
    internal static Task WaitForAsync(TestPop3Server server, Func<TestPop3Counters, bool> condition) =>
        server.Counters.WaitUntilAsync(condition, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(5));
}
