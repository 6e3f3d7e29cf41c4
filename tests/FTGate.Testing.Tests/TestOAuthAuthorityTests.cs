using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;

namespace FTGate.Testing.Tests;

public sealed class TestOAuthAuthorityTests : IAsyncLifetime
{
    private const string User = "user@example.test";
    private const string PublicClient = "public-client";
    private const string ConfidentialClient = "confidential-client";
    private const string Secret = "s3cret";

    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;
    private TestOAuthAuthority _authority = null!;

    public async ValueTask InitializeAsync()
    {
        _authority = await TestOAuthAuthority.StartAsync(cancellationToken: _ct);
        _authority.RegisterClient(PublicClient, null, "http://127.0.0.1/callback");
        _authority.RegisterClient(ConfidentialClient, Secret);
    }

    public ValueTask DisposeAsync() => _authority.DisposeAsync();

    [Fact]
    public async Task Discovery_ListsEndpointsOnLoopback()
    {
        using var http = new HttpClient();
        using JsonDocument doc = JsonDocument.Parse(await http.GetStringAsync(_authority.DiscoveryEndpoint, _ct));
        JsonElement root = doc.RootElement;

        Assert.Equal(_authority.Issuer.ToString().TrimEnd('/'), root.GetProperty("issuer").GetString());
        Assert.StartsWith("http://127.0.0.1:", root.GetProperty("issuer").GetString(), StringComparison.Ordinal);
        Assert.Equal(_authority.TokenEndpoint.ToString(), root.GetProperty("token_endpoint").GetString());
        Assert.Equal(_authority.IntrospectionEndpoint.ToString(), root.GetProperty("introspection_endpoint").GetString());
        Assert.Equal(["S256"], root.GetProperty("code_challenge_methods_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(1, _authority.Counters.DiscoveryRequests);
    }

    [Fact]
    public async Task Authorize_RedirectsWithCodeStateAndIss_LoopbackAnyPort()
    {
        (_, string challenge) = OAuthClient.NewPkce();

        Dictionary<string, string> callback = await OAuthClient.AuthorizeAsync(OAuthClient.AuthorizationUrl(_authority, PublicClient, challenge, "st-42", User), _ct);

        Assert.StartsWith("ac_", callback["code"], StringComparison.Ordinal);
        Assert.Equal("st-42", callback["state"]);
        Assert.Equal(_authority.Issuer.ToString().TrimEnd('/'), callback["iss"]);
    }

    [Fact]
    public async Task Authorize_PublicClientWithoutPkce_RedirectsWithInvalidRequest()
    {
        Dictionary<string, string> callback = await OAuthClient.AuthorizeAsync(OAuthClient.AuthorizationUrl(_authority, PublicClient, challenge: null, "s", User), _ct);

        Assert.Equal("invalid_request", callback["error"]);
        Assert.False(callback.ContainsKey("code"));
    }

    [Fact]
    public async Task Token_PkceVerifierMismatch_InvalidGrant()
    {
        (_, string challenge) = OAuthClient.NewPkce();
        Dictionary<string, string> callback = await OAuthClient.AuthorizeAsync(OAuthClient.AuthorizationUrl(_authority, PublicClient, challenge, "s", User), _ct);

        TokenResponse response = await OAuthClient.PostAsync(
            _authority.TokenEndpoint,
            new Dictionary<string, string>
            {
                ["grant_type"] = "authorization_code",
                ["code"] = callback["code"],
                ["redirect_uri"] = OAuthClient.RedirectUri,
                ["client_id"] = PublicClient,
                ["code_verifier"] = OAuthClient.NewPkce().Verifier, // Another verifier.
            },
            _ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_grant", response.Error);
        Assert.Contains("PKCE", response.ErrorDescription, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_CodeRedeemedTwice_SecondIsInvalidGrant()
    {
        (string verifier, string challenge) = OAuthClient.NewPkce();
        Dictionary<string, string> callback = await OAuthClient.AuthorizeAsync(OAuthClient.AuthorizationUrl(_authority, PublicClient, challenge, "s", User), _ct);
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = callback["code"],
            ["redirect_uri"] = OAuthClient.RedirectUri,
            ["client_id"] = PublicClient,
            ["code_verifier"] = verifier,
        };

        TokenResponse first = await OAuthClient.PostAsync(_authority.TokenEndpoint, form, _ct);
        TokenResponse second = await OAuthClient.PostAsync(_authority.TokenEndpoint, form, _ct);

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal("invalid_grant", second.Error);
    }

    [Fact]
    public async Task SignIn_IssuesOpaqueTokensAndVerifiableIdToken()
    {
        TokenResponse tokens = await OAuthClient.SignInAsync(_authority, PublicClient, User, _ct);

        Assert.Equal(HttpStatusCode.OK, tokens.Status);
        Assert.StartsWith("at_", tokens.AccessToken, StringComparison.Ordinal);
        Assert.StartsWith("rt_", tokens.RefreshToken, StringComparison.Ordinal);
        Assert.Equal("Bearer", tokens.Get("token_type"));
        Assert.Equal("3600", tokens.Get("expires_in"));

        string[] parts = tokens.Get("id_token")!.Split('.');
        JsonElement payload = JsonDocument.Parse(FromBase64Url(parts[1])).RootElement;
        Assert.Equal(User, payload.GetProperty("email").GetString());
        Assert.Equal(PublicClient, payload.GetProperty("aud").GetString());

        using var http = new HttpClient();
        JsonElement key = JsonDocument.Parse(await http.GetStringAsync(new Uri(_authority.Issuer, "/jwks"), _ct)).RootElement.GetProperty("keys")[0];
        using var ecdsa = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = FromBase64Url(key.GetProperty("x").GetString()!), Y = FromBase64Url(key.GetProperty("y").GetString()!) },
        });
        Assert.True(ecdsa.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), FromBase64Url(parts[2]), HashAlgorithmName.SHA256));
    }

    [Fact]
    public async Task Refresh_RotatesAndRejectsOldRefreshToken_ReuseRevokesGrant()
    {
        TokenResponse initial = await OAuthClient.SignInAsync(_authority, PublicClient, User, _ct);

        TokenResponse rotated = await OAuthClient.RefreshAsync(_authority, PublicClient, initial.RefreshToken!, _ct);
        TokenResponse replay = await OAuthClient.RefreshAsync(_authority, PublicClient, initial.RefreshToken!, _ct);
        TokenResponse afterReplay = await OAuthClient.RefreshAsync(_authority, PublicClient, rotated.RefreshToken!, _ct);

        Assert.Equal(HttpStatusCode.OK, rotated.Status);
        Assert.NotEqual(initial.RefreshToken, rotated.RefreshToken);
        Assert.Equal("invalid_grant", replay.Error);
        Assert.Equal("invalid_grant", afterReplay.Error); // Re-use revoked the whole grant.
        Assert.Null(await _authority.ValidateAsync(rotated.AccessToken!, _ct));
        Assert.Equal(3, _authority.Counters.RefreshTokenGrants);
        Assert.Equal(1, _authority.Counters.AuthorizationCodeGrants);
    }

    [Fact]
    public async Task DeviceFlow_PendingThenApproved_IssuesTokensOnce()
    {
        TokenResponse device = await OAuthClient.PostAsync(
            _authority.DeviceAuthorizationEndpoint,
            new Dictionary<string, string> { ["client_id"] = PublicClient, ["scope"] = "openid offline_access mail.pop" },
            _ct);
        var poll = new Dictionary<string, string> { ["grant_type"] = TestOAuthAuthority.DeviceCodeGrantType, ["device_code"] = device.Get("device_code")!, ["client_id"] = PublicClient };

        TokenResponse pending = await OAuthClient.PostAsync(_authority.TokenEndpoint, poll, _ct);
        Assert.True(_authority.ApproveDeviceCode(device.Get("user_code")!, User));
        TokenResponse granted = await OAuthClient.PostAsync(_authority.TokenEndpoint, poll, _ct);
        TokenResponse again = await OAuthClient.PostAsync(_authority.TokenEndpoint, poll, _ct);

        Assert.Equal("authorization_pending", pending.Error);
        Assert.Equal(HttpStatusCode.OK, granted.Status);
        Assert.Equal(User, (await _authority.ValidateAsync(granted.AccessToken!, _ct))!.UserName);
        Assert.Equal("invalid_grant", again.Error);
        Assert.Equal(3, _authority.Counters.DeviceCodeGrants);
    }

    [Fact]
    public async Task DeviceFlow_Denied_AccessDenied()
    {
        TokenResponse device = await OAuthClient.PostAsync(_authority.DeviceAuthorizationEndpoint, new Dictionary<string, string> { ["client_id"] = PublicClient }, _ct);

        Assert.True(_authority.DenyDeviceCode(device.Get("user_code")!));
        TokenResponse denied = await OAuthClient.PostAsync(
            _authority.TokenEndpoint,
            new Dictionary<string, string> { ["grant_type"] = TestOAuthAuthority.DeviceCodeGrantType, ["device_code"] = device.Get("device_code")!, ["client_id"] = PublicClient },
            _ct);

        Assert.Equal("access_denied", denied.Error);
    }

    [Fact]
    public async Task ClientCredentials_ConfidentialClientGetsAppOnlyToken_PublicClientRefused()
    {
        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "mail.pop/.default" };

        TokenResponse app = await OAuthClient.PostAsync(_authority.TokenEndpoint, form, _ct, (ConfidentialClient, Secret));
        TokenResponse wrongSecret = await OAuthClient.PostAsync(_authority.TokenEndpoint, form, _ct, (ConfidentialClient, "nope"));
        TokenResponse publicClient = await OAuthClient.PostAsync(_authority.TokenEndpoint, new Dictionary<string, string>(form) { ["client_id"] = PublicClient }, _ct);

        Assert.Equal(HttpStatusCode.OK, app.Status);
        Assert.Null(app.RefreshToken);
        TestTokenInfo info = (await _authority.ValidateAsync(app.AccessToken!, _ct))!;
        Assert.Null(info.UserName);
        Assert.Equal(ConfidentialClient, info.ClientId);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongSecret.Status);
        Assert.Equal("invalid_client", wrongSecret.Error);
        Assert.Equal("unauthorized_client", publicClient.Error);
        Assert.Equal(3, _authority.Counters.ClientCredentialsGrants);
    }

    [Fact]
    public async Task FailTokenRequests_TooManyRequests_Sends429WithRetryAfterThenRecovers()
    {
        TokenResponse initial = await OAuthClient.SignInAsync(_authority, PublicClient, User, _ct);
        _authority.RetryAfter = TimeSpan.FromSeconds(7);
        _authority.FailTokenRequests(TestOAuthFailure.TooManyRequests, count: 1, grantType: "refresh_token");

        TokenResponse throttled = await OAuthClient.RefreshAsync(_authority, PublicClient, initial.RefreshToken!, _ct);
        TokenResponse next = await OAuthClient.RefreshAsync(_authority, PublicClient, initial.RefreshToken!, _ct);

        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.Status);
        Assert.Equal(TimeSpan.FromSeconds(7), throttled.Headers.RetryAfter!.Delta);
        Assert.Equal(HttpStatusCode.OK, next.Status); // The failure consumed nothing: the refresh token still works.
    }

    [Theory]
    [InlineData(TestOAuthFailure.InvalidGrantMicrosoft, HttpStatusCode.BadRequest, "invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity.")]
    [InlineData(TestOAuthFailure.InvalidGrantGoogle, HttpStatusCode.BadRequest, "invalid_grant", "Token has been expired or revoked.")]
    [InlineData(TestOAuthFailure.InvalidClient, HttpStatusCode.Unauthorized, "invalid_client", "Client authentication failed.")]
    [InlineData(TestOAuthFailure.ServerError, HttpStatusCode.InternalServerError, "server_error", "The authorization server encountered an unexpected condition.")]
    [InlineData(TestOAuthFailure.ServiceUnavailable, HttpStatusCode.ServiceUnavailable, null, null)]
    public async Task FailTokenRequests_ProviderErrors_HaveTheProvidersShape(TestOAuthFailure failure, HttpStatusCode status, string? error, string? descriptionStart)
    {
        _authority.FailTokenRequests(failure);

        TokenResponse response = await OAuthClient.RefreshAsync(_authority, PublicClient, "rt_whatever", _ct);

        Assert.Equal(status, response.Status);
        Assert.Equal(error, response.Error);
        if (descriptionStart is not null)
        {
            Assert.StartsWith(descriptionStart, response.ErrorDescription, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ResponseDelay_SlowsTheTokenEndpoint()
    {
        _authority.ResponseDelay = TimeSpan.FromMilliseconds(200);
        var watch = Stopwatch.StartNew();

        TokenResponse response = await OAuthClient.RefreshAsync(_authority, PublicClient, "rt_unknown", _ct);

        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(180), watch.Elapsed.ToString());
        Assert.Equal("invalid_grant", response.Error);
    }

    [Fact]
    public async Task Introspection_ActiveThenExpiredOnDemand()
    {
        TokenResponse tokens = await OAuthClient.SignInAsync(_authority, PublicClient, User, _ct);
        var form = new Dictionary<string, string> { ["token"] = tokens.AccessToken! };

        TokenResponse active = await OAuthClient.PostAsync(_authority.IntrospectionEndpoint, form, _ct, (ConfidentialClient, Secret));
        _authority.ExpireAccessTokens();
        TokenResponse expired = await OAuthClient.PostAsync(_authority.IntrospectionEndpoint, form, _ct, (ConfidentialClient, Secret));
        TokenResponse refreshed = await OAuthClient.RefreshAsync(_authority, PublicClient, tokens.RefreshToken!, _ct);

        Assert.Equal("True", active.Get("active"));
        Assert.Equal(User, active.Get("username"));
        Assert.Equal("False", expired.Get("active"));
        Assert.Equal(HttpStatusCode.OK, refreshed.Status); // Refresh tokens survive ExpireAccessTokens.
    }

    [Fact]
    public async Task RevokeUser_KillsAccessAndRefreshTokens()
    {
        TokenResponse tokens = await OAuthClient.SignInAsync(_authority, PublicClient, User, _ct);

        Assert.Equal(2, _authority.RevokeUser(User));

        Assert.Null(await _authority.ValidateAsync(tokens.AccessToken!, _ct));
        Assert.Equal("invalid_grant", (await OAuthClient.RefreshAsync(_authority, PublicClient, tokens.RefreshToken!, _ct)).Error);
    }

    [Fact]
    public async Task Revocation_RefreshTokenRevokesGrant()
    {
        TokenResponse tokens = await OAuthClient.SignInAsync(_authority, PublicClient, User, _ct);

        TokenResponse revoke = await OAuthClient.PostAsync(_authority.RevocationEndpoint, new Dictionary<string, string> { ["token"] = tokens.RefreshToken!, ["client_id"] = PublicClient }, _ct);

        Assert.Equal(HttpStatusCode.OK, revoke.Status);
        Assert.Null(await _authority.ValidateAsync(tokens.AccessToken!, _ct));
        Assert.Equal(1, _authority.Counters.Revocations);
    }

    [Fact]
    public async Task FakeTimeProvider_AdvancingPastLifetime_ExpiresAccessToken()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2025-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using TestOAuthAuthority authority = await TestOAuthAuthority.StartAsync(new TestOAuthAuthorityOptions { TimeProvider = time, AccessTokenLifetime = TimeSpan.FromMinutes(5) }, _ct);
        string token = authority.IssueAccessToken(User);

        Assert.NotNull(await authority.ValidateAsync(token, _ct));
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Null(await authority.ValidateAsync(token, _ct));
    }

    [Fact]
    public async Task SignedInUser_OverridesLoginHint_AndDenyConsentRedirectsWithAccessDenied()
    {
        _authority.SignedInUser = "other@example.test";
        TokenResponse tokens = await OAuthClient.SignInAsync(_authority, PublicClient, User, _ct);
        Assert.Equal("other@example.test", (await _authority.ValidateAsync(tokens.AccessToken!, _ct))!.UserName);

        _authority.DenyConsent = true;
        Uri callback = await _authority.SignInAsync(OAuthClient.AuthorizationUrl(_authority, PublicClient, OAuthClient.NewPkce().Challenge, "s", User), _ct);
        Assert.Equal("access_denied", OAuthClient.ParseQuery(callback.Query)["error"]);
    }

    [Fact]
    public async Task Authorize_UnregisteredRedirectUri_400WithoutRedirect()
    {
        _authority.RegisterClient("strict", null, "https://app.example.test/cb");

        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            _authority.SignInAsync(OAuthClient.AuthorizationUrl(_authority, "strict", OAuthClient.NewPkce().Challenge, "s", User), _ct));
    }

    private static byte[] FromBase64Url(string value)
    {
        string s = value.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }
}
