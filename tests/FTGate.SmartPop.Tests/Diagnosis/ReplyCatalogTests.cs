using System.Net;
using System.Net.Sockets;
using FTGate.SmartPop.Internal;
using FTGate.SmartPop.Tests.Integration;
using FTGate.SmartPop.Tests.Unit;
using FTGate.Tests.Infrastructure;

namespace FTGate.SmartPop.Tests.Diagnosis;

/// <summary>
/// The reply catalogue reads the whole reply: RFC 2449 / RFC 3206 response codes first, then the provider's words. Checked on a
/// real Dovecot whose passdb fails temporarily, and on the literal replies of Exchange, Gmail and Dovecot.
/// </summary>
public sealed class ReplyCatalogTests(IntegrationServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Dovecot_PassdbIntrospectionUnreachable_SysTempIsNamedAsTheServersTemporaryFailure_NotPopDisabled()
    {
        servers.Require();
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        int deadPort = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        await using DovecotServer broken = await DovecotServer.StartAsync(servers.OAuth, ["--introspection-url", $"http://dovecot:dovecot-secret@127.0.0.1:{deadPort}/token/introspection"], Ct);
        var provider = new RealTokenProvider(servers.OAuth, "bob@example.test", await servers.OAuth.GetUserTokensAsync("bob@example.test", "bob-password", cancellationToken: Ct));
        using var harness = new Harness(servers, provider);
        SmartPopAccount account = harness.Account("bob@example.test", a =>
        {
            a.Port = broken.Pop3sPort;
            a.TrustedRootCertificates = [broken.CaCertificate];
        });

        TestReport report = await harness.Client.TestAsync(account, Ct);

        TestStep login = report.Step(TestStepKind.Login);
        Assert.True(login.Status == TestStepStatus.Failed, report.Describe());
        Assert.Contains("[SYS/TEMP]", login.ServerReply, StringComparison.Ordinal);
        Assert.Contains("temporary failure on its own side", login.Cause, StringComparison.Ordinal);
        Assert.Contains("The token and the account settings are not the cause", login.Cause, StringComparison.Ordinal);
        Assert.DoesNotContain("POP is disabled", login.Cause, StringComparison.Ordinal);
        Assert.DoesNotContain("Set-CASMailbox", login.Remedy, StringComparison.Ordinal);
        Assert.Contains("Try again in a few minutes", login.Remedy, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-ERR [SYS/TEMP] Temporary authentication failure. [mail:2026-12-03 08:00:00]", "temporary failure on its own side")]
    [InlineData("-ERR [IN-USE] Mailbox is locked by another POP3 session.", "Another POP3 session holds the mailbox lock")]
    [InlineData("-ERR [LOGIN-DELAY] Too soon since the last login.", "refuses logins this soon")]
    [InlineData("-ERR [AUTH] Authentication failed.", "rejected the access token")]
    [InlineData("-ERR [SYS/PERM] Your account is not enabled for POP access. Please visit your Gmail settings page and enable your account for POP access.", "POP access is disabled in the Gmail account's settings")]
    [InlineData("-ERR Authentication failure: unknown user name or bad password.", "Exchange Online answers this one text for several causes")]
    public void Explain_LiteralReplies_ResponseCodeDecidesBeforeProviderWords(string reply, string expected)
    {
        SmartPopAccount account = TestAccounts.OAuth();

        ServerReplyAdvice advice = ServerReplyCatalog.Explain(reply, account);

        Assert.Contains(expected, advice.Cause, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_SysTempEvenWithExchangeWords_IsTheTemporaryFailure()
    {
        ServerReplyAdvice advice = ServerReplyCatalog.Explain("-ERR [SYS/TEMP] Authentication failure: backend down", TestAccounts.OAuth());

        Assert.Contains("[SYS/TEMP]", advice.Cause, StringComparison.Ordinal);
        Assert.DoesNotContain("Set-CASMailbox", advice.Remedy, StringComparison.Ordinal);
    }
}
