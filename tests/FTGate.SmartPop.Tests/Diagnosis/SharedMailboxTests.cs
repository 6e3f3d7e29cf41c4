using FTGate.OAuth;
using FTGate.SmartPop.Tests.Scenarios;
using FTGate.Testing;
using FTGate.Tests.Infrastructure;

namespace FTGate.SmartPop.Tests.Diagnosis;

/// <summary>
/// The shared-mailbox rule end to end: a provider authorized as alice, an account for sales@: the token is alice's, the SASL user
/// is sales@. Exchange (TestPop3Server in Exchange style) lets it in once alice holds FullAccess; Dovecot refuses a token used
/// for another user's mailbox, and the Test says why.
/// </summary>
public sealed class SharedMailboxTests(IntegrationServers servers)
{
    private const string Alice = "alice@example.test";
    private const string Sales = "sales@example.test";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Exchange_SharedMailboxWithoutThenWithFullAccess_NamesFullAccessThenCollectsSalesMail()
    {
        await using TestServerTarget target = await TestServerTarget.StartAsync(o => o.Style = Pop3ServerStyle.Exchange, Ct);
        IAuthProvider provider = await target.AuthorizeAsync(Alice, Ct);
        using var h = new ScenarioHarness(target, provider);
        target.Server.GetMailbox(Sales).Add("Subject: for sales\r\n\r\nhello sales\r\n");
        target.Server.GetMailbox(Alice).Add("Subject: for alice\r\n\r\nalice's own\r\n");
        SmartPopAccount sales = h.Account(a =>
        {
            a.Name = "sales";
            a.UserName = Sales;
        });

        TestReport refused = await h.Client.TestAsync(sales, Ct);

        Assert.Equal(TestStepStatus.Passed, refused.Step(TestStepKind.TokenAcquisition).Status);
        Assert.Contains($"token for {Alice}, mailbox {Sales}", refused.Step(TestStepKind.TokenAcquisition).Detail, StringComparison.Ordinal);
        TestStep login = refused.Step(TestStepKind.Login);
        Assert.Equal(TestStepStatus.Failed, login.Status);
        Assert.Equal("-ERR Authentication failure: unknown user name or bad password.", login.ServerReply);
        Assert.Contains($"(1) {Alice} lacks FullAccess on the shared mailbox {Sales}", login.Cause, StringComparison.Ordinal);
        Assert.Contains($"Add-MailboxPermission -Identity {Sales} -User {Alice} -AccessRights FullAccess", login.Remedy, StringComparison.Ordinal);
        Assert.DoesNotContain("Authorize Now", login.Remedy, StringComparison.Ordinal); // never loops on re-authorization
        Assert.DoesNotContain("succeeded", login.Cause, StringComparison.Ordinal); // the refresh retry failed: no note saying otherwise
        Assert.Contains("so was a freshly refreshed one", login.Cause, StringComparison.Ordinal);

        target.Server.GrantFullAccess(Sales, Alice);
        TestReport passed = await h.Client.TestAsync(sales, Ct);
        var sink = new CollectingSink();
        FetchResult fetched = await h.Client.FetchAsync(sales, sink, cancellationToken: Ct);

        Assert.True(passed.Succeeded, passed.Describe());
        Assert.Contains($"Logged in to mailbox {Sales} with XOAUTH2 (token for {Alice})", passed.Step(TestStepKind.Login).Detail, StringComparison.Ordinal);
        Assert.StartsWith("1 message(s)", passed.Step(TestStepKind.Stat).Detail, StringComparison.Ordinal);
        Assert.True(fetched.Completed, fetched.Error?.Message);
        Assert.Contains("hello sales", Assert.Single(sink.Messages), StringComparison.Ordinal);
        Assert.Equal(1, target.Server.GetMailbox(Alice).Count); // alice's own mail was not touched
    }

    [Fact]
    public async Task Exchange_AppOnlyProvider_TokenIsTheAppsAndEachAccountLogsInToItsOwnMailbox()
    {
        await using TestOAuthAuthority authority = await TestOAuthAuthority.StartAsync(cancellationToken: Ct);
        authority.RegisterClient("collector", "collector-secret");
        await using TestPop3Server server = await TestPop3Server.StartAsync(authority, o => o.Style = Pop3ServerStyle.Exchange, Ct);
        server.GetMailbox(Sales).Add("Subject: s\r\n\r\nsales mail\r\n");
        server.GetMailbox("ops@example.test").Add("Subject: o\r\n\r\nops mail\r\n");
        using var host = new ProviderHost(b => b.AddOAuth2("App", o =>
        {
            o.Authority = authority.Issuer.ToString().TrimEnd('/');
            o.ClientId = "collector";
            o.ClientSecret = "collector-secret";
            o.Mode = OAuth2GrantMode.ClientCredentials;
            o.Scopes = [TestOAuthAuthority.MailScope];
        }));

        TestReport sales = await host.Client.TestAsync(Account(server, Sales, "App"), Ct);
        TestReport ops = await host.Client.TestAsync(Account(server, "ops@example.test", "App"), Ct);

        Assert.True(sales.Succeeded, sales.Describe());
        Assert.True(ops.Succeeded, ops.Describe());
        Assert.Contains($"token for the application (app-only), mailbox {Sales}", sales.Step(TestStepKind.TokenAcquisition).Detail, StringComparison.Ordinal);
        Assert.Contains("Logged in to mailbox ops@example.test with XOAUTH2 (app-only token)", ops.Step(TestStepKind.Login).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dovecot_TokenOfBobUsedForAliceMailbox_RefusedAndTestSaysTheServerWantsTheMailboxOwnToken()
    {
        servers.Require();
        await using var target = new DovecotTarget(servers);
        IAuthProvider provider = await target.AuthorizeAsync("bob@example.test", Ct);
        using var h = new ScenarioHarness(target, provider);
        SmartPopAccount alice = h.Account(a =>
        {
            a.Name = "alice-via-bob";
            a.UserName = Alice;
        });

        TestReport report = await h.Client.TestAsync(alice, Ct);

        Assert.Contains($"token for bob@example.test, mailbox {Alice}", report.Step(TestStepKind.TokenAcquisition).Detail, StringComparison.Ordinal);
        TestStep login = report.Step(TestStepKind.Login);
        Assert.Equal(TestStepStatus.Failed, login.Status);
        Assert.Contains("-ERR [AUTH] Authentication failed.", login.ServerReply, StringComparison.Ordinal);
        Assert.Contains($"The token belongs to bob@example.test but the mailbox is {Alice}", login.Cause, StringComparison.Ordinal);
        Assert.Contains("accepts a token only for the mailbox's own user", login.Cause, StringComparison.Ordinal);
        Assert.Contains($"authorized as {Alice}", login.Remedy, StringComparison.Ordinal);
        Assert.Equal(SmartPopErrorCodes.AuthenticationRejected, login.ErrorCode);
    }

    [Fact]
    public async Task Exchange_ProvenTokenRejectedTwice_NarrowsToWhatInspectionCouldNotProve_AndNoFalseRefreshNote()
    {
        await using TestPop3Server server = await TestPop3Server.StartAsync(new TestPop3ServerOptions { Style = Pop3ServerStyle.Exchange }, Ct); // no validator: every token is refused
        var provider = new JwtProvider("alice@contoso.com", """{"aud":"https://outlook.office.com","iss":"https://sts.windows.net/t/","scp":"POP.AccessAsUser.All","upn":"alice@contoso.com","exp":4102444800}""");
        var client = new SmartPopClient(new OneProviderRegistry(provider), new InMemoryUidlStore(), Microsoft.Extensions.Options.Options.Create(new SmartPopOptions()));
        SmartPopAccount account = Account(server, "alice@contoso.com", provider.Name);

        TestReport report = await client.TestAsync(account, Ct);

        Assert.Equal(TestStepStatus.Passed, report.Step(TestStepKind.TokenInspection).Status);
        TestStep login = report.Step(TestStepKind.Login);
        Assert.Equal(TestStepStatus.Failed, login.Status);
        Assert.Equal(1, provider.Refreshes);
        Assert.Contains("although the token's audience, scope and user are right", login.Cause, StringComparison.Ordinal);
        Assert.Contains("(1) POP is disabled for the mailbox alice@contoso.com", login.Cause, StringComparison.Ordinal);
        Assert.DoesNotContain("audience or scope is not", login.Cause, StringComparison.Ordinal);
        Assert.DoesNotContain("succeeded", login.Cause, StringComparison.Ordinal);
        Assert.Contains("Set-CASMailbox -Identity alice@contoso.com -PopEnabled $true", login.Remedy, StringComparison.Ordinal);
        Assert.DoesNotContain("New-ServicePrincipal", login.Remedy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exchange_GraphTokenRejected_ListsTheTokenProblemsFirst()
    {
        await using TestPop3Server server = await TestPop3Server.StartAsync(new TestPop3ServerOptions { Style = Pop3ServerStyle.Exchange }, Ct);
        var provider = new JwtProvider("alice@contoso.com", """{"aud":"https://graph.microsoft.com","iss":"https://sts.windows.net/t/","scp":"Mail.Read","upn":"alice@contoso.com"}""");
        var client = new SmartPopClient(new OneProviderRegistry(provider), new InMemoryUidlStore(), Microsoft.Extensions.Options.Options.Create(new SmartPopOptions()));

        TestReport report = await client.TestAsync(Account(server, "alice@contoso.com", provider.Name), Ct);

        Assert.Equal(TestStepStatus.Warning, report.Step(TestStepKind.TokenInspection).Status);
        TestStep login = report.Step(TestStepKind.Login);
        Assert.Contains("(1) the token is wrong: audience is 'https://graph.microsoft.com'", login.Cause, StringComparison.Ordinal);
        Assert.Contains("POP.AccessAsUser.All", login.Cause, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gmail_RejectedToken_ReadsTheErrorChallengeAndAuthCode()
    {
        await using TestPop3Server server = await TestPop3Server.StartAsync(new TestPop3ServerOptions { Style = Pop3ServerStyle.Gmail }, Ct);
        var provider = new JwtProvider("user@gmail.example", "{}");
        var client = new SmartPopClient(new OneProviderRegistry(provider), new InMemoryUidlStore(), Microsoft.Extensions.Options.Options.Create(new SmartPopOptions()));

        TestReport report = await client.TestAsync(Account(server, "user@gmail.example", provider.Name), Ct);

        TestStep login = report.Step(TestStepKind.Login);
        Assert.Contains("-ERR [AUTH] Invalid credentials.", login.ServerReply, StringComparison.Ordinal);
        Assert.Contains("https://mail.google.com/", login.ServerReply, StringComparison.Ordinal); // the decoded error challenge
        Assert.Contains("rejected the access token", login.Cause, StringComparison.Ordinal);
        Assert.Contains("Authorize provider 'jwt' again signed in as user@gmail.example", login.Remedy, StringComparison.Ordinal);
    }

    internal static SmartPopAccount Account(TestPop3Server server, string user, string provider) => new()
    {
        Name = "diag",
        Host = server.Host,
        Port = server.TlsPort,
        Security = Pop3Security.SslOnConnect,
        UserName = user,
        AuthProvider = provider,
        TrustedRootCertificates = [server.Certificate],
        CheckCertificateRevocation = false,
    };
}
