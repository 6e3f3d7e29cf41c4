using System.Security.Cryptography.X509Certificates;
using FTGate.OAuth;
using FTGate.Testing;
using FTGate.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FTGate.SmartPop.Tests.Scenarios;

/// <summary>
/// A POP3 server plus the authority that issues its tokens, as the SmartPop scenario suite sees it. One adapter runs the
/// in-process fakes of FTGate.Testing, the other the real Dovecot 2.3 + oidc-provider of tests/infra: the scenarios are written
/// once against this interface and must give the same results on both.
/// </summary>
/// <remarks>
/// Documented difference: Dovecot's UIDL is the Maildir file name (<c>pop3_uidl_format = %f</c>), TestPop3Server's is the uid
/// given to <c>Add</c> (or a generated <c>ftgate-NNNNNN</c>). Scenarios therefore only compare UIDLs returned by <see cref="AddMessage"/>
/// with what the SDK delivered, never literal values.
/// </remarks>
internal interface IPop3Target : IAsyncDisposable
{
    /// <summary>For messages: "TestPop3Server" or "Dovecot".</summary>
    string Name { get; }

    string Host { get; }

    /// <summary>TLS from the first byte (POP3S).</summary>
    int TlsPort { get; }

    /// <summary>Plain, offers STLS.</summary>
    int PlainPort { get; }

    /// <summary>The root(s) SmartPop's <see cref="SmartPopAccount.TrustedRootCertificates"/> must hold to trust the server.</summary>
    X509Certificate2Collection TrustedRoots { get; }

    /// <summary>The OAuth user this target's scenarios own (nobody else in the assembly touches its mailbox).</summary>
    string OAuthUser { get; }

    /// <summary>A password user (USER/PASS, AUTH PLAIN).</summary>
    string PasswordUser { get; }

    string Password { get; }

    void ClearMailbox(string user);

    /// <summary>Adds raw RFC 5322 bytes (LF line ends) and returns the message's UIDL.</summary>
    string AddMessage(string user, byte[] content);

    /// <summary>The UIDLs in the mailbox once every session has ended (QUIT committed), sorted.</summary>
    Task<IReadOnlyList<string>> ListUidlsAsync(string user, CancellationToken cancellationToken);

    /// <summary>
    /// Runs Authorize Now for <paramref name="user"/> with the SDK's generic OAuth2 provider (discovery, PKCE, the authority's real
    /// sign-in) and returns that provider, authorized, with an access token and a refresh token in its in-memory store.
    /// </summary>
    Task<IAuthProvider> AuthorizeAsync(string user, CancellationToken cancellationToken);

    /// <summary>Makes the user's access tokens invalid at the server (the SDK's cache still believes they are good).</summary>
    Task ExpireAccessTokensAsync(string user, CancellationToken cancellationToken);

    /// <summary>Revokes the user's grants: access and refresh tokens die; the next refresh gets <c>invalid_grant</c>.</summary>
    Task RevokeGrantsAsync(string user, CancellationToken cancellationToken);
}

/// <summary>FTGate.Testing's <see cref="TestPop3Server"/> (Dovecot style) and <see cref="TestOAuthAuthority"/>, in process.</summary>
internal sealed class TestServerTarget : IPop3Target
{
    private readonly List<ServiceProvider> _containers = [];

    private TestServerTarget(TestOAuthAuthority authority, TestPop3Server server)
    {
        Authority = authority;
        Server = server;
        Server.AddUser(PasswordUser, Password);
    }

    public TestOAuthAuthority Authority { get; }

    public TestPop3Server Server { get; }

    public string Name => "TestPop3Server";

    public string Host => Server.Host;

    public int TlsPort => Server.TlsPort;

    public int PlainPort => Server.Port;

    public X509Certificate2Collection TrustedRoots => [Server.Certificate];

    public string OAuthUser => "alice@example.test";

    public string PasswordUser => "carol@example.test";

    public string Password => "carol-password";

    public static async Task<TestServerTarget> StartAsync(Action<TestPop3ServerOptions>? configure, CancellationToken cancellationToken)
    {
        TestOAuthAuthority authority = await TestOAuthAuthority.StartAsync(cancellationToken: cancellationToken);
        TestPop3Server server = await TestPop3Server.StartAsync(authority, configure, cancellationToken);
        return new TestServerTarget(authority, server);
    }

    public void ClearMailbox(string user) => Server.GetMailbox(user).Clear();

    public string AddMessage(string user, byte[] content) => Server.GetMailbox(user).Add(content).Uid;

    public async Task<IReadOnlyList<string>> ListUidlsAsync(string user, CancellationToken cancellationToken)
    {
        // The server applies QUIT on its own task: wait (signalled by the server, at most 2 s) until every session has ended.
        try
        {
            await Server.Counters.WaitUntilAsync(c => c.ActiveSessions == 0, cancellationToken).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
        }
        catch (TimeoutException)
        {
            // A session a fault left open (a stalled transfer): list what is committed now, as before.
        }

        return [.. Server.GetMailbox(user).Messages.Select(m => m.Uid).Order(StringComparer.Ordinal)];
    }

    public async Task<IAuthProvider> AuthorizeAsync(string user, CancellationToken cancellationToken)
    {
        var services = new ServiceCollection();
        services.AddFTGate().UseInMemoryTokenStore().AddTestOAuth2(ScenarioHarness.ProviderName, Authority, user);
        ServiceProvider container = services.BuildServiceProvider();
        _containers.Add(container);
        IAuthProvider provider = container.GetRequiredService<IAuthProviderRegistry>().Get(ScenarioHarness.ProviderName);
        AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(new Uri(FTGateTestingBuilderExtensions.TestRedirectUri)), cancellationToken);
        Uri callback = await Authority.SignInAsync(challenge.AuthorizationUri, cancellationToken);
        await provider.CompleteAuthorizationAsync(AuthorizationCallback.FromUri(callback), cancellationToken);
        return provider;
    }

    public Task ExpireAccessTokensAsync(string user, CancellationToken cancellationToken)
    {
        Authority.ExpireAccessTokens();
        return Task.CompletedTask;
    }

    public Task RevokeGrantsAsync(string user, CancellationToken cancellationToken)
    {
        Authority.RevokeUser(user);
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (ServiceProvider container in _containers)
        {
            await container.DisposeAsync();
        }

        await Server.DisposeAsync();
        await Authority.DisposeAsync();
    }
}

/// <summary>
/// The real Dovecot 2.3 (passdb oauth2, introspection) and the real oidc-provider of tests/infra, shared by the test assembly
/// (<see cref="IntegrationServers"/>). The scenarios use bob@ for OAuth (DovecotTests own alice@) and carol@ for passwords.
/// </summary>
internal sealed class DovecotTarget(IntegrationServers servers) : IPop3Target
{
    private const string RedirectUri = "http://127.0.0.1/callback";
    private readonly List<ServiceProvider> _containers = [];

    public string Name => "Dovecot";

    public string Host => servers.Dovecot.Host;

    public int TlsPort => servers.Dovecot.Pop3sPort;

    public int PlainPort => servers.Dovecot.Pop3Port;

    public X509Certificate2Collection TrustedRoots => [servers.Dovecot.CaCertificate];

    public string OAuthUser => "bob@example.test";

    public string PasswordUser => "carol@example.test";

    public string Password => "carol-password";

    public void ClearMailbox(string user) => servers.Dovecot.ClearMailbox(user);

    public string AddMessage(string user, byte[] content) => servers.Dovecot.AddMessage(user, content);

    public Task<IReadOnlyList<string>> ListUidlsAsync(string user, CancellationToken cancellationToken) =>
        Task.FromResult(servers.Dovecot.ListMessages(user)); // Dovecot expunges before it answers QUIT

    public async Task<IAuthProvider> AuthorizeAsync(string user, CancellationToken cancellationToken)
    {
        var services = new ServiceCollection();
        services.AddFTGate().UseInMemoryTokenStore().AddOAuth2(ScenarioHarness.ProviderName, o =>
        {
            o.Authority = servers.OAuth.Issuer.ToString().TrimEnd('/');
            o.ClientId = OAuthServer.NativeClientId;
            o.UserName = user;
            o.RedirectUri = RedirectUri;
            o.Scopes = ["openid", "email", "offline_access", "mail"];
        });
        ServiceProvider container = services.BuildServiceProvider();
        _containers.Add(container);
        IAuthProvider provider = container.GetRequiredService<IAuthProviderRegistry>().Get(ScenarioHarness.ProviderName);
        AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(new Uri(RedirectUri)), cancellationToken);
        using var browser = new HeadlessBrowser();
        Uri callback = await browser.AuthorizeAsync(challenge.AuthorizationUri, user, user.Split('@')[0] + "-password", cancellationToken: cancellationToken);
        await provider.CompleteAuthorizationAsync(AuthorizationCallback.FromUri(callback), cancellationToken);
        return provider;
    }

    public Task ExpireAccessTokensAsync(string user, CancellationToken cancellationToken) => servers.OAuth.ExpireAccessTokensAsync(user, cancellationToken);

    public Task RevokeGrantsAsync(string user, CancellationToken cancellationToken) => servers.OAuth.RevokeUserAsync(user, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        foreach (ServiceProvider container in _containers)
        {
            await container.DisposeAsync();
        }
    }
}
