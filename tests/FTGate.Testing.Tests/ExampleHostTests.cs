using System.Net;
using FTGate.OAuth;
using MailKit.Net.Pop3;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;

namespace FTGate.Testing.Tests;

/// <summary>The examples docs/testing.md quotes: how a host's own tests use FTGate.Testing. Keep them short and readable.</summary>
public sealed class ExampleHostTests
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    // docs/testing.md: example 1 (begin)
    [Fact]
    public async Task Example_HostTest_FetchesSeededMailboxWithOAuthToken()
    {
        // The two fakes: an OAuth authority and a POP3 server that asks it whether tokens are valid.
        await using var authority = await TestOAuthAuthority.StartAsync(cancellationToken: _ct);
        await using var pop3 = await TestPop3Server.StartAsync(authority, cancellationToken: _ct);
        pop3.GetMailbox("alice@example.test").Add("Subject: Hello\r\n\r\nHi Alice\r\n");
        string token = authority.IssueAccessToken("alice@example.test"); // Or run a real flow, see example 2.

        // The host's code under test would do this part.
        using var client = new Pop3Client { ServerCertificateValidationCallback = pop3.ValidateCertificate, CheckCertificateRevocation = false };
        await client.ConnectAsync(pop3.Host, pop3.TlsPort, SecureSocketOptions.SslOnConnect, _ct);
        await client.AuthenticateAsync(new SaslMechanismOAuth2("alice@example.test", token), _ct);
        var message = await client.GetMessageAsync(0, _ct);
        await client.DeleteMessageAsync(0, _ct);
        await client.DisconnectAsync(quit: true, _ct);

        Assert.Equal("Hello", message.Subject);
        await pop3.Counters.WaitUntilAsync(c => c.QuitCount == 1, _ct).WaitAsync(TimeSpan.FromSeconds(5), _ct); // QUIT is applied on the server's task
        Assert.Equal(0, pop3.GetMailbox("alice@example.test").Count); // DELE + QUIT committed.
    }
    // docs/testing.md: example 1 (end)

    // docs/testing.md: example 2 (begin)
    [Fact]
    public async Task Example_HostTest_AuthorizeNowThroughTheSdkThenFetch()
    {
        await using var authority = await TestOAuthAuthority.StartAsync(cancellationToken: _ct);
        await using var pop3 = await TestPop3Server.StartAsync(authority, cancellationToken: _ct);
        pop3.GetMailbox("alice@example.test").Add("Subject: Hello\r\n\r\nHi Alice\r\n");

        // The three lines: FTGate with a generic OAuth2 provider pointed at the test authority.
        var services = new ServiceCollection();
        services.AddFTGate().UseInMemoryTokenStore().AddTestOAuth2("Test", authority, "alice@example.test");
        await using ServiceProvider provider = services.BuildServiceProvider();

        IAuthProvider auth = provider.GetRequiredService<IAuthProviderRegistry>().Get("Test");

        // "Authorize Now", with the authority playing the browser (it signs alice in and consents at once).
        AuthorizationChallenge challenge = await auth.BeginAuthorizationAsync(new AuthorizationRequest(new Uri(FTGateTestingBuilderExtensions.TestRedirectUri)), _ct);
        Uri callback = await authority.SignInAsync(challenge.AuthorizationUri, _ct);
        await auth.CompleteAuthorizationAsync(AuthorizationCallback.FromUri(callback), _ct);
        AccessToken token = await auth.GetAccessTokenAsync("alice@example.test", _ct);

        using var client = new Pop3Client { ServerCertificateValidationCallback = pop3.ValidateCertificate, CheckCertificateRevocation = false };
        await client.ConnectAsync(pop3.Host, pop3.TlsPort, SecureSocketOptions.SslOnConnect, _ct);
        await client.AuthenticateAsync(new SaslMechanismOAuth2(token.UserName, token.Value), _ct);

        Assert.Equal(1, client.Count);
        Assert.Equal(1, authority.Counters.AuthorizationCodeGrants);
    }
    // docs/testing.md: example 2 (end)

    [Fact]
    public async Task SdkProvider_TokenRejectedByServer_ForcedRefreshIsExactlyOneRefreshAndWorks()
    {
        await using var authority = await TestOAuthAuthority.StartAsync(cancellationToken: _ct);
        await using var pop3 = await TestPop3Server.StartAsync(authority, o => o.Style = Pop3ServerStyle.Exchange, _ct);
        var services = new ServiceCollection();
        services.AddFTGate().UseInMemoryTokenStore().AddTestOAuth2("Test", authority, "alice@example.test");
        await using ServiceProvider provider = services.BuildServiceProvider();
        IAuthProvider auth = provider.GetRequiredService<IAuthProviderRegistry>().Get("Test");
        AuthorizationChallenge challenge = await auth.BeginAuthorizationAsync(new AuthorizationRequest(new Uri(FTGateTestingBuilderExtensions.TestRedirectUri)), _ct);
        await auth.CompleteAuthorizationAsync(AuthorizationCallback.FromUri(await authority.SignInAsync(challenge.AuthorizationUri, _ct)), _ct);
        AccessToken cached = await auth.GetAccessTokenAsync("alice@example.test", _ct);
        authority.ExpireAccessTokens(); // The server now rejects the token the SDK still holds as valid.

        using var client = new Pop3Client { ServerCertificateValidationCallback = pop3.ValidateCertificate, CheckCertificateRevocation = false };
        await client.ConnectAsync(pop3.Host, pop3.TlsPort, SecureSocketOptions.SslOnConnect, _ct);
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismOAuth2(cached.UserName, cached.Value), _ct));
        AccessToken fresh = await auth.RefreshAccessTokenAsync("alice@example.test", _ct);
        await client.AuthenticateAsync(new SaslMechanismOAuth2(fresh.UserName, fresh.Value), _ct);

        Assert.NotEqual(cached.Value, fresh.Value);
        Assert.Equal(1, authority.Counters.RefreshTokenGrants);
        Assert.Equal(1, pop3.Counters.FailedLogins);
    }

    [Fact]
    public async Task AddTestOAuth2_ConfiguresValidGenericProviderOptions()
    {
        await using var authority = await TestOAuthAuthority.StartAsync(cancellationToken: _ct);
        var services = new ServiceCollection();

        services.AddFTGate().AddTestOAuth2("Test", authority, "alice@example.test", o => o.RefreshMargin = TimeSpan.FromMinutes(1));
        await using ServiceProvider provider = services.BuildServiceProvider();
        OAuth2AuthOptions options = provider.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<OAuth2AuthOptions>>().Get("Test");

        Assert.Equal(authority.Issuer.ToString().TrimEnd('/'), options.Authority);
        Assert.Equal(FTGateTestingBuilderExtensions.TestClientId, options.ClientId);
        Assert.Equal("alice@example.test", options.UserName);
        Assert.Contains(TestOAuthAuthority.MailScope, options.Scopes);
        Assert.Equal(TimeSpan.FromMinutes(1), options.RefreshMargin);
        Assert.Equal(["Test"], provider.GetRequiredService<IAuthProviderRegistry>().Names);
    }

    [Fact]
    public async Task AddTestOAuth2_RegistersThePublicClientWithTheAuthority()
    {
        await using var authority = await TestOAuthAuthority.StartAsync(cancellationToken: _ct);
        new ServiceCollection().AddFTGate().AddTestOAuth2("Test", authority, "alice@example.test");
        (string verifier, string challenge) = OAuthClient.NewPkce();

        Dictionary<string, string> callback = await OAuthClient.AuthorizeAsync(
            OAuthClient.AuthorizationUrl(authority, FTGateTestingBuilderExtensions.TestClientId, challenge, "s", "alice@example.test"), _ct);

        TokenResponse tokens = await OAuthClient.PostAsync(
            authority.TokenEndpoint,
            new Dictionary<string, string>
            {
                ["grant_type"] = "authorization_code",
                ["code"] = callback["code"],
                ["redirect_uri"] = OAuthClient.RedirectUri,
                ["client_id"] = FTGateTestingBuilderExtensions.TestClientId,
                ["code_verifier"] = verifier,
            },
            _ct);

        Assert.Equal(HttpStatusCode.OK, tokens.Status);
        Assert.Equal("alice@example.test", (await authority.ValidateAsync(tokens.AccessToken ?? string.Empty, _ct))?.UserName);
    }
}
