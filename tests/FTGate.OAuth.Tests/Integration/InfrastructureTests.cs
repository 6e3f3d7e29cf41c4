using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using FTGate.Tests.Infrastructure;

namespace FTGate.OAuth.Tests.Integration;

/// <summary>Proves the integration servers themselves: a real token from the OAuth server logs in to the real Dovecot.</summary>
public sealed class InfrastructureTests(IntegrationServers servers)
{
    [Fact]
    public async Task OAuthServerToken_LogsInToDovecotWithXoauth2_AndABogusTokenIsRefused()
    {
        servers.Require();
        TestContext.Current.SendDiagnosticMessage($"{servers.OAuth.Version}; {servers.Dovecot.Version}");
        TokenSet tokens = await servers.OAuth.GetUserTokensAsync("bob@example.test", "bob-password", cancellationToken: TestContext.Current.CancellationToken);
        Assert.NotNull(tokens.RefreshToken);

        string reply = await LoginAsync("bob@example.test", tokens.AccessToken);
        Assert.True(reply == "+OK Logged in.", reply + "\n" + string.Join("\n", File.ReadLines(servers.Dovecot.LogPath).TakeLast(15)));
        Assert.Equal("-ERR [AUTH] Authentication failed.", await LoginAsync("bob@example.test", "not-a-token"));
        Assert.Equal("-ERR [AUTH] Authentication failed.", await LoginAsync("alice@example.test", tokens.AccessToken));
    }

    private async Task<string> LoginAsync(string user, string token)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(servers.Dovecot.Host, servers.Dovecot.Pop3sPort, TestContext.Current.CancellationToken);
        await using var tls = new SslStream(tcp.GetStream(), false, servers.Dovecot.TrustTestCa());
        await tls.AuthenticateAsClientAsync("localhost");
        using var reader = new StreamReader(tls, Encoding.ASCII);
        await using var writer = new StreamWriter(tls, Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };
        Assert.StartsWith("+OK", await reader.ReadLineAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        await writer.WriteLineAsync("AUTH XOAUTH2");
        Assert.StartsWith("+", await reader.ReadLineAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        await writer.WriteLineAsync(Convert.ToBase64String(Encoding.ASCII.GetBytes($"user={user}\u0001auth=Bearer {token}\u0001\u0001")));
        string? line = await reader.ReadLineAsync(TestContext.Current.CancellationToken);
        if (line is not null && line.StartsWith("+ ", StringComparison.Ordinal))
        {
            await writer.WriteLineAsync("");
            line = await reader.ReadLineAsync(TestContext.Current.CancellationToken);
        }

        await writer.WriteLineAsync("QUIT");
        return line ?? "";
    }
}
