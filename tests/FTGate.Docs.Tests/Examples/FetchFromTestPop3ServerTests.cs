// Packages: FTGate.SmartPop, FTGate.Testing, Microsoft.Extensions.DependencyInjection, xunit.v3
using System.Collections.Concurrent;
using System.Text;
using FTGate;
using FTGate.OAuth;
using FTGate.SmartPop;
using FTGate.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace MailServer.Tests;

public sealed class FetchFromTestPop3ServerTests
{
    [Fact]
    public async Task FetchAsync_AuthorizedAccount_DeliversEveryMessageOnce()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;

        // The fakes: an OAuth authority, and a POP3 server that asks it whether a token is valid.
        await using TestOAuthAuthority authority = await TestOAuthAuthority.StartAsync(cancellationToken: ct);
        await using TestPop3Server pop3 = await TestPop3Server.StartAsync(authority, cancellationToken: ct);
        pop3.GetMailbox("alice@example.test").Add("Subject: Hello\r\n\r\nHi Alice\r\n", uid: "m1");
        pop3.GetMailbox("alice@example.test").Add("Subject: Again\r\n\r\nStill there?\r\n", uid: "m2");

        // The SDK as the mail server registers it: a provider pointed at the authority, one SmartPop account.
        var services = new ServiceCollection();
        services.AddFTGate()
            .UseInMemoryTokenStore()
            .AddTestOAuth2("Test", authority, "alice@example.test")
            .AddSmartPop("alice", account =>
            {
                account.Host = pop3.Host;
                account.Port = pop3.TlsPort;
                account.UserName = "alice@example.test";
                account.AuthProvider = "Test";
                account.TrustedRootCertificates = [pop3.Certificate]; // the server's self-signed certificate
                account.CheckCertificateRevocation = false;           // which has no revocation list
            });
        await using ServiceProvider provider = services.BuildServiceProvider();

        // Authorize Now, with the authority playing the browser (it signs alice in and consents at once).
        IAuthProvider auth = provider.GetRequiredService<IAuthProviderRegistry>().Get("Test");
        AuthorizationChallenge challenge = await auth.BeginAuthorizationAsync(new AuthorizationRequest(new Uri(FTGateTestingBuilderExtensions.TestRedirectUri)), ct);
        await auth.CompleteAuthorizationAsync(AuthorizationCallback.FromUri(await authority.SignInAsync(challenge.AuthorizationUri, ct)), ct);

        // Collect: SmartPopClient logs in with XOAUTH2 and hands each message to the sink.
        ISmartPopClient client = provider.GetRequiredService<ISmartPopClient>();
        SmartPopAccount alice = provider.GetRequiredService<ISmartPopAccounts>().Get("alice");
        var sink = new CollectingSink();
        FetchResult first = await client.FetchAsync(alice, sink, cancellationToken: ct);
        FetchResult second = await client.FetchAsync(alice, sink, cancellationToken: ct);

        Assert.True(first.Completed);
        Assert.Equal(2, first.Delivered);
        Assert.Equal(0, second.Delivered); // seen UIDLs are not fetched again
        Assert.Equal(["m1", "m2"], sink.Messages.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("Subject: Hello", sink.Messages["m1"], StringComparison.Ordinal);
    }

    /// <summary>The mail server's delivery, here kept in memory. FTGate.SmartPop.IMessageSink, not xunit's.</summary>
    private sealed class CollectingSink : IMessageSink
    {
        public ConcurrentDictionary<string, string> Messages { get; } = new();

        public async Task DeliverAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default)
        {
            using var reader = new StreamReader(message, Encoding.UTF8);
            Messages[metadata.Uidl] = await reader.ReadToEndAsync(cancellationToken);
        }
    }
}
