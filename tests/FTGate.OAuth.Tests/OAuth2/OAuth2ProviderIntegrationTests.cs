using System.Web;
using FTGate.OAuth.Internal;
using FTGate.OAuth.Tests.TestSupport;
using FTGate.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using Moq;

namespace FTGate.OAuth.Tests.OAuth2;

/// <summary>
/// Runs alone (DisableParallelization): some tests change server-wide settings (fail-next, refresh-token lifetime).
/// </summary>
[CollectionDefinition(nameof(OAuthServerExclusive), DisableParallelization = true)]
public sealed class OAuthServerExclusive;

/// <summary>The generic provider against the real loopback OAuth server (npm oidc-provider 8.8.1), signed in through its real pages.</summary>
[Collection(nameof(OAuthServerExclusive))]
public sealed class OAuth2ProviderIntegrationTests(IntegrationServers servers)
{
    private const string Alice = "alice@example.test";
    private static readonly Uri Redirect = new("http://127.0.0.1:53682/callback");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private (OAuth2AuthProvider Provider, InMemoryTokenStore Store, CapturingLoggerFactory Logs) Create(Action<OAuth2AuthOptions>? configure = null)
    {
        servers.Require();
        var options = new OAuth2AuthOptions
        {
            Authority = servers.OAuth.Issuer.ToString().TrimEnd('/'),
            ClientId = OAuthServer.NativeClientId,
            UserName = Alice,
        };
        configure?.Invoke(options);
        var monitor = new Mock<IOptionsMonitor<OAuth2AuthOptions>>();
        monitor.Setup(m => m.Get("generic")).Returns(options);
        var store = new InMemoryTokenStore();
        var logs = new CapturingLoggerFactory();
        return (new OAuth2AuthProvider("generic", monitor.Object, store, TimeProvider.System, logs), store, logs);
    }

    private static async Task<AuthorizationResult> SignInAsync(OAuth2AuthProvider provider, string login, string password)
    {
        AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(Redirect), Ct);
        using var browser = new HeadlessBrowser();
        Uri redirected = await browser.AuthorizeAsync(challenge.AuthorizationUri, login, password, cancellationToken: Ct);
        return await provider.CompleteAuthorizationAsync(AuthorizationCallback.FromUri(redirected), Ct);
    }

    private static async Task<StoredGrant> GrantAsync(InMemoryTokenStore store, string user) =>
        (await new GrantStore(store, "generic").GetAsync(user, Ct))!;

    private async Task<string> RawRefreshErrorAsync(string refreshToken)
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => servers.OAuth.TokenRequestAsync(
            new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refreshToken, ["client_id"] = OAuthServer.NativeClientId }, Ct));
        return ex.Message;
    }

    [Fact]
    public async Task BeginAuthorizationAsync_Discovery_UrlTargetsDiscoveredEndpointWithPkceStateAndLoginHint()
    {
        var (provider, _, _) = Create();

        AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(Redirect), Ct);

        Assert.Equal(servers.OAuth.AuthorizationEndpoint.GetLeftPart(UriPartial.Path), challenge.AuthorizationUri.GetLeftPart(UriPartial.Path));
        var q = HttpUtility.ParseQueryString(challenge.AuthorizationUri.Query);
        Assert.Equal("S256", q["code_challenge_method"]);
        Assert.Equal(challenge.State, q["state"]);
        Assert.Equal(Alice, q["login_hint"]);
        Assert.Equal("openid email offline_access", q["scope"]);
        Assert.Equal(OAuthServer.NativeClientId, q["client_id"]);
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_PkceWithScriptedSignInAndConsent_StoresTokensForSignedInUser()
    {
        var (provider, store, _) = Create();

        AuthorizationResult result = await SignInAsync(provider, Alice, "alice-password");

        Assert.Equal(Alice, result.UserName);
        AccessToken token = await provider.GetAccessTokenAsync(Alice, Ct);
        Assert.Equal(43, token.Value.Length);
        Assert.NotNull((await GrantAsync(store, Alice)).RefreshToken);
        Assert.Equal(AuthorizationState.Authorized, (await provider.GetStatusAsync(Alice, Ct)).State);
    }

    [Theory]
    [InlineData(OAuthServer.WebClientId, ClientAuthenticationMethod.ClientSecretBasic)]
    [InlineData(OAuthServer.WebPostClientId, ClientAuthenticationMethod.ClientSecretPost)]
    public async Task CompleteAuthorizationAsync_ConfidentialClient_AuthenticatesWithConfiguredMethod(string clientId, ClientAuthenticationMethod method)
    {
        var (provider, _, _) = Create(o =>
        {
            o.ClientId = clientId;
            o.ClientSecret = OAuthServer.WebClientSecret;
            o.ClientAuthentication = method;
        });

        AuthorizationResult result = await SignInAsync(provider, Alice, "alice-password");

        Assert.Equal(Alice, result.UserName);
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_InvalidClientSecret_ThrowsInvalidClient()
    {
        var (provider, _, logs) = Create(o =>
        {
            o.ClientId = OAuthServer.WebClientId;
            o.ClientSecret = "wrong-secret-VALUE";
        });

        var ex = await Assert.ThrowsAsync<AuthorizationException>(() => SignInAsync(provider, Alice, "alice-password"));

        Assert.Equal(FTGateErrorCodes.InvalidClient, ex.ErrorCode);
        Assert.Equal("invalid_client", ex.Error);
        Assert.DoesNotContain("wrong-secret-VALUE", ex.ToString() + logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_OtherUserSignsIn_ThrowsWrongAccountNamingBoth()
    {
        var (provider, _, _) = Create();

        var ex = await Assert.ThrowsAsync<AuthorizationException>(() => SignInAsync(provider, "bob@example.test", "bob-password"));

        Assert.Equal(FTGateErrorCodes.WrongAccount, ex.ErrorCode);
        Assert.Contains("bob@example.test", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Alice, ex.Message, StringComparison.Ordinal);
        Assert.Equal(AuthorizationState.NotAuthorized, (await provider.GetStatusAsync(Alice, Ct)).State);
    }

    [Fact]
    public async Task RefreshAccessTokenAsync_ServerRotates_PersistsNewRefreshTokenAndOldOneIsRejected()
    {
        var (provider, store, _) = Create();
        await SignInAsync(provider, Alice, "alice-password");
        StoredGrant before = await GrantAsync(store, Alice);

        AccessToken refreshed = await provider.RefreshAccessTokenAsync(Alice, Ct);

        StoredGrant after = await GrantAsync(store, Alice);
        Assert.NotEqual(before.AccessToken, refreshed.Value);
        Assert.Equal(refreshed.Value, after.AccessToken);
        Assert.NotEqual(before.RefreshToken, after.RefreshToken);
        AccessToken again = await provider.RefreshAccessTokenAsync(Alice, Ct); // uses the persisted rotated token
        Assert.NotEqual(refreshed.Value, again.Value);
        Assert.Contains("invalid_grant", await RawRefreshErrorAsync(before.RefreshToken!), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefreshAccessTokenAsync_GrantRevokedAtServer_ThrowsReauthorizationRequiredAndPersistsStatus()
    {
        var (provider, _, _) = Create(o => o.UserName = "carol@example.test");
        await SignInAsync(provider, "carol@example.test", "carol-password");
        await servers.OAuth.RevokeUserAsync("carol@example.test", Ct);

        var ex = await Assert.ThrowsAsync<ReauthorizationRequiredException>(() => provider.RefreshAccessTokenAsync("carol@example.test", Ct));

        Assert.Equal(FTGateErrorCodes.ReauthorizationRequired, ex.ErrorCode);
        Assert.Equal("invalid_grant", ex.Error);
        AuthorizationStatus status = await provider.GetStatusAsync("carol@example.test", Ct);
        Assert.Equal(AuthorizationState.ReauthorizationRequired, status.State);
        Assert.NotNull(status.Remedy);
    }

    [Fact]
    public async Task RefreshAccessTokenAsync_RefreshTokenExpired_ThrowsReauthorizationRequired()
    {
        var (provider, _, _) = Create(o => o.UserName = "carol@example.test");
        await SignInAsync(provider, "carol@example.test", "carol-password");

        await servers.OAuth.ExpireRefreshTokensAsync("carol@example.test", Ct); // its lifetime is over
        var ex = await Assert.ThrowsAsync<ReauthorizationRequiredException>(() => provider.RefreshAccessTokenAsync("carol@example.test", Ct));

        Assert.Equal("invalid_grant", ex.Error);
    }

    [Fact]
    public async Task RefreshAccessTokenAsync_TokenEndpoint503Then429_ThrowsTransientAndKeepsRefreshToken()
    {
        var (provider, store, _) = Create();
        await SignInAsync(provider, Alice, "alice-password");
        string? refreshToken = (await GrantAsync(store, Alice)).RefreshToken;

        await servers.OAuth.FailNextAsync("token", 503, cancellationToken: Ct);
        await Assert.ThrowsAsync<TransientAuthorizationException>(() => provider.RefreshAccessTokenAsync(Alice, Ct));
        await servers.OAuth.FailNextAsync("token", 429, cancellationToken: Ct);
        await Assert.ThrowsAsync<TransientAuthorizationException>(() => provider.RefreshAccessTokenAsync(Alice, Ct));

        Assert.Equal(refreshToken, (await GrantAsync(store, Alice)).RefreshToken);
        Assert.Equal(AuthorizationState.Authorized, (await provider.GetStatusAsync(Alice, Ct)).State);
        await provider.RefreshAccessTokenAsync(Alice, Ct);
        Assert.NotEqual(refreshToken, (await GrantAsync(store, Alice)).RefreshToken);
    }

    [Fact]
    public async Task AuthorizeWithDeviceCodeAsync_ApprovedInBrowser_PollsAndStoresTokens()
    {
        var (provider, _, _) = Create();
        Task? approval = null;
        DeviceCodeInfo? shown = null;

        AuthorizationResult result = await provider.AuthorizeWithDeviceCodeAsync(
            (info, ct) =>
            {
                shown = info;
                approval = Task.Run(async () =>
                {
                    using var browser = new HeadlessBrowser();
                    await browser.ApproveDeviceCodeAsync(info.VerificationUri, info.UserCode, Alice, "alice-password", ct);
                }, ct);
                return Task.CompletedTask;
            },
            Ct);

        await approval!;
        Assert.Equal(Alice, result.UserName);
        Assert.NotNull(shown!.VerificationUriComplete);
        Assert.NotNull(await provider.GetAccessTokenAsync(Alice, Ct));
    }

    [Fact]
    public async Task AuthorizeWithDeviceCodeAsync_CancelledWhilePolling_ThrowsOperationCanceled()
    {
        var (provider, _, _) = Create();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => provider.AuthorizeWithDeviceCodeAsync(
            (_, _) =>
            {
                cts.CancelAfter(TimeSpan.FromMilliseconds(200));
                return Task.CompletedTask;
            },
            cts.Token));
    }

    [Fact]
    public async Task GetAccessTokenAsync_ClientCredentials_IssuesTokenOnceAndCachesIt()
    {
        var (provider, _, _) = Create(o =>
        {
            o.Mode = OAuth2GrantMode.ClientCredentials;
            o.ClientId = OAuthServer.WebClientId;
            o.ClientSecret = OAuthServer.WebClientSecret;
        });

        AccessToken first = await provider.GetAccessTokenAsync(Alice, Ct);
        AccessToken second = await provider.GetAccessTokenAsync(Alice, Ct);

        Assert.Equal(first.Value, second.Value);
        Assert.True(second.FromCache);
        Assert.Equal(Alice, first.UserName);
    }

    [Fact]
    public async Task GetAccessTokenAsync_ClientCredentialsWrongSecret_ThrowsInvalidClient()
    {
        var (provider, _, _) = Create(o =>
        {
            o.Mode = OAuth2GrantMode.ClientCredentials;
            o.ClientId = OAuthServer.WebClientId;
            o.ClientSecret = "not-the-secret";
        });

        var ex = await Assert.ThrowsAsync<AuthorizationException>(() => provider.GetAccessTokenAsync(Alice, Ct));

        Assert.Equal(FTGateErrorCodes.InvalidClient, ex.ErrorCode);
    }

    [Fact]
    public async Task SignOutAsync_Authorized_RevokesAtServerAndForgetsTokens()
    {
        var (provider, store, logs) = Create();
        await SignInAsync(provider, Alice, "alice-password");
        string refreshToken = (await GrantAsync(store, Alice)).RefreshToken!;

        await provider.SignOutAsync(Alice, Ct);

        Assert.Contains(logs.Entries, e => e.EventId.Id == 1312 && e.Message.Contains("revoked at the server: True", StringComparison.Ordinal));
        Assert.Contains("invalid_grant", await RawRefreshErrorAsync(refreshToken), StringComparison.Ordinal);
        Assert.Equal(AuthorizationState.NotAuthorized, (await provider.GetStatusAsync(Alice, Ct)).State);
    }

    [Fact]
    public async Task ExplicitEndpoints_WithoutDiscovery_AuthorizeAndRefresh()
    {
        var (provider, _, _) = Create(o =>
        {
            o.Authority = null;
            o.AuthorizationEndpoint = servers.OAuth.AuthorizationEndpoint.ToString();
            o.TokenEndpoint = servers.OAuth.TokenEndpoint.ToString();
            o.RevocationEndpoint = servers.OAuth.RevocationEndpoint.ToString();
        });

        await SignInAsync(provider, Alice, "alice-password");

        Assert.NotNull(await provider.RefreshAccessTokenAsync(Alice, Ct));
    }

    [Fact]
    public async Task AllFlows_NoSecretInLogsOrExceptions()
    {
        var (provider, store, logs) = Create();
        await SignInAsync(provider, Alice, "alice-password");
        StoredGrant first = await GrantAsync(store, Alice);
        await provider.RefreshAccessTokenAsync(Alice, Ct);
        StoredGrant second = await GrantAsync(store, Alice);
        await servers.OAuth.FailNextAsync("token", 503, cancellationToken: Ct);
        var transient = await Assert.ThrowsAsync<TransientAuthorizationException>(() => provider.RefreshAccessTokenAsync(Alice, Ct));
        await provider.SignOutAsync(Alice, Ct);

        string all = logs.AllText + transient;
        Assert.NotEmpty(logs.Entries);
        foreach (string secret in new[] { first.AccessToken, first.RefreshToken!, second.AccessToken, second.RefreshToken! })
        {
            Assert.DoesNotContain(secret, all, StringComparison.Ordinal);
        }
    }

}
