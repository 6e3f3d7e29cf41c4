using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Web;
using FTGate.OAuth.Internal;
using FTGate.OAuth.Tests.TestSupport;

namespace FTGate.OAuth.Tests.Google;

public sealed class GoogleAuthProviderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task BeginAuthorizationAsync_DelegatedOptions_UrlCarriesPkceStateOfflineConsentAndLoginHint()
    {
        var h = new GoogleTestHarness();

        AuthorizationChallenge challenge = await h.Provider.BeginAuthorizationAsync(new AuthorizationRequest(GoogleTestHarness.Redirect), Ct);

        Uri url = challenge.AuthorizationUri;
        var q = HttpUtility.ParseQueryString(url.Query);
        Assert.Equal("accounts.google.com", url.Host);
        Assert.Equal("code", q["response_type"]);
        Assert.Equal(GoogleTestHarness.ClientId, q["client_id"]);
        Assert.Equal(GoogleTestHarness.Redirect.OriginalString, q["redirect_uri"]);
        Assert.Equal("offline", q["access_type"]);
        Assert.Equal("consent", q["prompt"]);
        Assert.Equal(GoogleTestHarness.User, q["login_hint"]);
        Assert.Equal("S256", q["code_challenge_method"]);
        Assert.False(string.IsNullOrEmpty(q["code_challenge"]));
        Assert.Equal(challenge.State, q["state"]);
        Assert.True(challenge.State.Length >= 40);
        Assert.Contains("https://mail.google.com/", q["scope"]!.Split(' '));
        Assert.Equal(h.Time.GetUtcNow() + TimeSpan.FromMinutes(10), challenge.ExpiresOn);
        Assert.Empty(h.Handler.Requests);
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_ValidCallback_PostsVerifierMatchingChallengeAndStoresTokens()
    {
        var h = new GoogleTestHarness();
        AuthorizationChallenge challenge = await h.Provider.BeginAuthorizationAsync(new AuthorizationRequest(GoogleTestHarness.Redirect), Ct);
        string challengeValue = HttpUtility.ParseQueryString(challenge.AuthorizationUri.Query)["code_challenge"]!;

        AuthorizationResult result = await h.Provider.CompleteAuthorizationAsync(new AuthorizationCallback { Code = "4/0Acode", State = challenge.State }, Ct);

        RecordedRequest post = Assert.Single(h.TokenRequests);
        Assert.Equal("authorization_code", post.Form["grant_type"]);
        Assert.Equal("4/0Acode", post.Form["code"]);
        Assert.Equal(GoogleTestHarness.Redirect.OriginalString, post.Form["redirect_uri"]);
        Assert.Equal(challengeValue, GoogleTestHarness.S256(post.Form["code_verifier"]));
        Assert.Equal(GoogleTestHarness.User, result.UserName);
        Assert.Contains("https://mail.google.com/", result.Scopes);
        Assert.Empty(result.Warnings);

        AccessToken token = await h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct);
        Assert.Equal("ya29.ACCESS-ONE", token.Value);
        Assert.Single(h.TokenRequests);
        AuthorizationStatus status = await h.Provider.GetStatusAsync(GoogleTestHarness.User, Ct);
        Assert.Equal(AuthorizationState.Authorized, status.State);
        Assert.Equal(h.Time.GetUtcNow(), status.AuthorizedOn);
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_StateReplayed_ThrowsStateReplayed()
    {
        var h = new GoogleTestHarness();
        AuthorizationChallenge challenge = await h.Provider.BeginAuthorizationAsync(new AuthorizationRequest(GoogleTestHarness.Redirect), Ct);
        await h.Provider.CompleteAuthorizationAsync(new AuthorizationCallback { Code = "c1", State = challenge.State }, Ct);

        var ex = await Assert.ThrowsAsync<AuthorizationException>(() => h.Provider.CompleteAuthorizationAsync(new AuthorizationCallback { Code = "c1", State = challenge.State }, Ct));

        Assert.Equal(FTGateErrorCodes.StateReplayed, ex.ErrorCode);
        Assert.Single(h.TokenRequests);
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_OtherAccountSignedIn_ThrowsWrongAccountNamingBothAndStoresNothing()
    {
        var h = new GoogleTestHarness(r => r.Uri.AbsolutePath == "/token"
            ? GoogleTestHarness.TokenJson(email: "Someone.Else@Example.com")
            : new HttpResponseMessage(HttpStatusCode.OK));

        var ex = await Assert.ThrowsAsync<AuthorizationException>(() => h.AuthorizeAsync());

        Assert.Equal(FTGateErrorCodes.WrongAccount, ex.ErrorCode);
        Assert.Contains("Someone.Else@Example.com", ex.Message, StringComparison.Ordinal);
        Assert.Contains(GoogleTestHarness.User, ex.Message, StringComparison.Ordinal);
        Assert.Equal(AuthorizationState.NotAuthorized, (await h.Provider.GetStatusAsync(GoogleTestHarness.User, Ct)).State);
        Assert.Contains(h.Handler.Requests, r => r.Uri.AbsolutePath == "/revoke");
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_SameAccountDifferentCase_Succeeds()
    {
        var h = new GoogleTestHarness(_ => GoogleTestHarness.TokenJson(email: "USER@Example.COM"));

        AuthorizationResult result = await h.AuthorizeAsync();

        Assert.Equal(GoogleTestHarness.User, result.UserName);
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_NoRefreshToken_ThrowsNoRefreshToken()
    {
        var h = new GoogleTestHarness(_ => GoogleTestHarness.TokenJson(refreshToken: null));

        var ex = await Assert.ThrowsAsync<AuthorizationException>(() => h.AuthorizeAsync());

        Assert.Equal(FTGateErrorCodes.NoRefreshToken, ex.ErrorCode);
        Assert.Equal(AuthorizationState.NotAuthorized, (await h.Provider.GetStatusAsync(GoogleTestHarness.User, Ct)).State);
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_GmailScopeUnticked_ThrowsScopeNotGranted()
    {
        var h = new GoogleTestHarness(r => r.Uri.AbsolutePath == "/token"
            ? GoogleTestHarness.TokenJson(scope: "openid https://www.googleapis.com/auth/userinfo.email")
            : new HttpResponseMessage(HttpStatusCode.OK));

        var ex = await Assert.ThrowsAsync<AuthorizationException>(() => h.AuthorizeAsync());

        Assert.Equal(FTGateErrorCodes.ScopeNotGranted, ex.ErrorCode);
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_AccessDeniedCallback_ThrowsAccessDeniedWithTestUserRemedy()
    {
        var h = new GoogleTestHarness();
        AuthorizationChallenge challenge = await h.Provider.BeginAuthorizationAsync(new AuthorizationRequest(GoogleTestHarness.Redirect), Ct);

        var ex = await Assert.ThrowsAsync<AuthorizationException>(() =>
            h.Provider.CompleteAuthorizationAsync(new AuthorizationCallback { Error = "access_denied", State = challenge.State }, Ct));

        Assert.Equal(FTGateErrorCodes.AccessDenied, ex.ErrorCode);
        Assert.Contains("Test users", ex.Remedy, StringComparison.Ordinal);
        Assert.Empty(h.Handler.Requests);
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_AppInTestingStatus_ResultWarnsAboutSevenDayExpiry()
    {
        var h = new GoogleTestHarness(configure: o => o.AppInTestingStatus = true);

        AuthorizationResult result = await h.AuthorizeAsync();

        string warning = Assert.Single(result.Warnings);
        Assert.Contains("7 days", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAccessTokenAsync_OutsideRefreshMargin_ServesStoredTokenWithoutCallingGoogle()
    {
        var h = new GoogleTestHarness();
        await h.AuthorizeAsync();
        h.Time.Advance(TimeSpan.FromMinutes(50)); // expires at +59:59, margin 5 min: still valid

        AccessToken token = await h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct);

        Assert.Equal("ya29.ACCESS-ONE", token.Value);
        Assert.Single(h.TokenRequests);
    }

    [Fact]
    public async Task GetAccessTokenAsync_InsideRefreshMarginWithConcurrentCallers_RefreshesOnceUsingInjectedClock()
    {
        var h = new GoogleTestHarness();
        await h.AuthorizeAsync();
        h.Responder = _ => GoogleTestHarness.TokenJson(accessToken: "ya29.ACCESS-TWO", refreshToken: null, email: null);
        h.Time.Advance(TimeSpan.FromMinutes(56)); // 3m59s left: inside the 5-minute margin (TokenResponse.IsStale would not say so by the real clock)

        AccessToken[] tokens = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct)));

        Assert.All(tokens, t => Assert.Equal("ya29.ACCESS-TWO", t.Value));
        RecordedRequest refresh = h.TokenRequests.Last();
        Assert.Equal(2, h.TokenRequests.Count());
        Assert.Equal("refresh_token", refresh.Form["grant_type"]);
        Assert.Equal("1//REFRESH-ONE", refresh.Form["refresh_token"]);
        Assert.Equal(h.Time.GetUtcNow() + TimeSpan.FromSeconds(3599), tokens[0].ExpiresOn);
    }

    [Fact]
    public async Task GetAccessTokenAsync_RotatedRefreshToken_PersistsNewRefreshToken()
    {
        var h = new GoogleTestHarness();
        await h.AuthorizeAsync();
        h.Responder = _ => GoogleTestHarness.TokenJson(accessToken: "ya29.ACCESS-TWO", refreshToken: "1//REFRESH-TWO", email: null);
        h.Time.Advance(TimeSpan.FromHours(1));
        await h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct);
        h.Responder = _ => GoogleTestHarness.TokenJson(accessToken: "ya29.ACCESS-THREE", refreshToken: null, email: null);
        h.Time.Advance(TimeSpan.FromHours(1));

        AccessToken third = await h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct);

        Assert.Equal("ya29.ACCESS-THREE", third.Value);
        Assert.Equal("1//REFRESH-TWO", h.TokenRequests.Last().Form["refresh_token"]);
    }

    [Fact]
    public async Task GetAccessTokenAsync_Google429_ThrowsTransientAndKeepsRefreshToken()
    {
        var h = new GoogleTestHarness();
        await h.AuthorizeAsync();
        h.Time.Advance(TimeSpan.FromHours(1));
        h.Responder = _ => GoogleTestHarness.Error(HttpStatusCode.TooManyRequests, "rate_limit_exceeded", "Rate Limit Exceeded");

        var ex = await Assert.ThrowsAsync<TransientAuthorizationException>(() => h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct));

        Assert.Equal(FTGateErrorCodes.ProviderUnavailable, ex.ErrorCode);
        Assert.Equal(AuthorizationState.Authorized, (await h.Provider.GetStatusAsync(GoogleTestHarness.User, Ct)).State);
        h.Responder = _ => GoogleTestHarness.TokenJson(accessToken: "ya29.ACCESS-TWO", refreshToken: null, email: null);
        AccessToken token = await h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct);
        Assert.Equal("ya29.ACCESS-TWO", token.Value);
        Assert.Equal("1//REFRESH-ONE", h.TokenRequests.Last().Form["refresh_token"]);
    }

    [Fact]
    public async Task GetAccessTokenAsync_Google429WithRetryAfter_CarriesRetryAfter()
    {
        var h = new GoogleTestHarness();
        await h.AuthorizeAsync();
        h.Time.Advance(TimeSpan.FromHours(1));
        h.Responder = _ =>
        {
            HttpResponseMessage response = GoogleTestHarness.Error(HttpStatusCode.TooManyRequests, "rate_limit_exceeded", "Rate Limit Exceeded");
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(120));
            return response;
        };

        var ex = await Assert.ThrowsAsync<TransientAuthorizationException>(() => h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct));

        Assert.Equal(TimeSpan.FromSeconds(120), ex.RetryAfter);
    }

    [Fact]
    public async Task GetAccessTokenAsync_Google503_ThrowsTransientWithoutRetryAndKeepsRefreshToken()
    {
        var h = new GoogleTestHarness();
        await h.AuthorizeAsync();
        h.Time.Advance(TimeSpan.FromHours(1));
        h.Responder = _ => GoogleTestHarness.Error(HttpStatusCode.ServiceUnavailable, "internal_failure", "Backend Error");

        await Assert.ThrowsAsync<TransientAuthorizationException>(() => h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct));

        Assert.Equal(2, h.TokenRequests.Count());
        var grant = await new GrantStore(h.Store, "gmail").GetAsync(GoogleTestHarness.User, Ct);
        Assert.Equal("1//REFRESH-ONE", grant!.RefreshToken);
    }

    [Fact]
    public async Task GetAccessTokenAsync_InvalidGrantExpiredOrRevoked_ThrowsReauthorizationRequiredAndPersistsStatus()
    {
        var h = new GoogleTestHarness(configure: o => o.AppInTestingStatus = true);
        await h.AuthorizeAsync();
        h.Time.Advance(TimeSpan.FromHours(1));
        h.Responder = _ => GoogleTestHarness.Error(HttpStatusCode.BadRequest, "invalid_grant", "Token has been expired or revoked.");

        var ex = await Assert.ThrowsAsync<ReauthorizationRequiredException>(() => h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct));

        Assert.Equal(FTGateErrorCodes.ReauthorizationRequired, ex.ErrorCode);
        Assert.Equal("invalid_grant", ex.Error);
        Assert.Equal("Token has been expired or revoked.", ex.ErrorDescription);
        Assert.Contains("Testing", ex.Remedy, StringComparison.Ordinal);
        Assert.Contains("7 days", ex.Remedy, StringComparison.Ordinal);
        Assert.Contains("password", ex.Remedy, StringComparison.Ordinal);
        AuthorizationStatus status = await h.Provider.GetStatusAsync(GoogleTestHarness.User, Ct);
        Assert.Equal(AuthorizationState.ReauthorizationRequired, status.State);
        Assert.Contains("Token has been expired or revoked.", status.Reason, StringComparison.Ordinal);
        Assert.Equal(ex.Remedy, status.Remedy);

        int requests = h.TokenRequests.Count();
        await Assert.ThrowsAsync<ReauthorizationRequiredException>(() => h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct));
        Assert.Equal(requests, h.TokenRequests.Count());
        Assert.Contains(h.Logs.Entries, e => e.EventId.Id == 1402);
    }

    [Fact]
    public async Task GetAccessTokenAsync_ReauthorizedAfterInvalidGrant_ClearsStatus()
    {
        var h = new GoogleTestHarness();
        await h.AuthorizeAsync();
        h.Time.Advance(TimeSpan.FromHours(1));
        h.Responder = _ => GoogleTestHarness.Error(HttpStatusCode.BadRequest, "invalid_grant", "Token has been expired or revoked.");
        await Assert.ThrowsAsync<ReauthorizationRequiredException>(() => h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct));
        h.UseDefaultResponder();

        await h.AuthorizeAsync();

        Assert.Equal(AuthorizationState.Authorized, (await h.Provider.GetStatusAsync(GoogleTestHarness.User, Ct)).State);
        Assert.Equal("ya29.ACCESS-ONE", (await h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct)).Value);
    }

    [Fact]
    public async Task GetAccessTokenAsync_InvalidClient_ThrowsInvalidClientAndKeepsGrant()
    {
        var h = new GoogleTestHarness();
        await h.AuthorizeAsync();
        h.Time.Advance(TimeSpan.FromHours(1));
        h.Responder = _ => GoogleTestHarness.Error(HttpStatusCode.Unauthorized, "invalid_client", "The OAuth client was not found.");

        var ex = await Assert.ThrowsAsync<AuthorizationException>(() => h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct));

        Assert.Equal(FTGateErrorCodes.InvalidClient, ex.ErrorCode);
        Assert.Contains("Credentials", ex.Remedy, StringComparison.Ordinal);
        Assert.Equal(AuthorizationState.Authorized, (await h.Provider.GetStatusAsync(GoogleTestHarness.User, Ct)).State);
    }

    [Fact]
    public async Task GetAccessTokenAsync_NeverAuthorized_ThrowsNotAuthorizedWithoutCallingGoogle()
    {
        var h = new GoogleTestHarness();

        var ex = await Assert.ThrowsAsync<ReauthorizationRequiredException>(() => h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct));

        Assert.Equal(FTGateErrorCodes.NotAuthorized, ex.ErrorCode);
        Assert.Empty(h.Handler.Requests);
    }

    [Fact]
    public async Task GetStatusAsync_TestingAppOnDaySix_WarnsInStatusAndLog()
    {
        var h = new GoogleTestHarness(configure: o => o.AppInTestingStatus = true);
        await h.AuthorizeAsync();
        h.Time.Advance(TimeSpan.FromDays(4));
        Assert.Empty((await h.Provider.GetStatusAsync(GoogleTestHarness.User, Ct)).Warnings);
        h.Time.Advance(TimeSpan.FromDays(2));
        h.Responder = _ => GoogleTestHarness.TokenJson(accessToken: "ya29.DAY6", refreshToken: null, email: null);

        await h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct);
        AuthorizationStatus status = await h.Provider.GetStatusAsync(GoogleTestHarness.User, Ct);

        Assert.Contains("7 days", Assert.Single(status.Warnings), StringComparison.Ordinal);
        Assert.Contains(h.Logs.Entries, e => e.EventId.Id == 1205);
    }

    [Fact]
    public async Task SignOutAsync_Authorized_RevokesAtGoogleAndForgetsTokens()
    {
        var h = new GoogleTestHarness();
        await h.AuthorizeAsync();

        await h.Provider.SignOutAsync(GoogleTestHarness.User, Ct);

        RecordedRequest revoke = Assert.Single(h.Handler.Requests, r => r.Uri.AbsolutePath == "/revoke");
        Assert.Contains("1%2F%2FREFRESH-ONE", revoke.Uri.Query + revoke.Body, StringComparison.Ordinal);
        Assert.Equal(AuthorizationState.NotAuthorized, (await h.Provider.GetStatusAsync(GoogleTestHarness.User, Ct)).State);
        await Assert.ThrowsAsync<ReauthorizationRequiredException>(() => h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct));
    }

    [Fact]
    public async Task AuthorizeWithDeviceCodeAsync_Always_ThrowsNotSupportedNamingGmailScope()
    {
        var h = new GoogleTestHarness();

        var ex = await Assert.ThrowsAsync<NotSupportedException>(() => h.Provider.AuthorizeWithDeviceCodeAsync((_, _) => Task.CompletedTask, Ct));

        Assert.Contains("https://mail.google.com/", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllFlows_SuccessAndFailures_NoSecretInLogsOrExceptionMessages()
    {
        var h = new GoogleTestHarness(configure: o => o.AppInTestingStatus = true);
        var messages = new List<string>();
        AuthorizationChallenge challenge = await h.Provider.BeginAuthorizationAsync(new AuthorizationRequest(GoogleTestHarness.Redirect), Ct);
        await h.Provider.CompleteAuthorizationAsync(new AuthorizationCallback { Code = "4/0AcodeSECRET", State = challenge.State }, Ct);
        string verifier = h.TokenRequests.Single().Form["code_verifier"];
        foreach ((HttpStatusCode status, string error) in new[] { (HttpStatusCode.TooManyRequests, "rate_limit_exceeded"), (HttpStatusCode.ServiceUnavailable, "backend"), (HttpStatusCode.Unauthorized, "invalid_client"), (HttpStatusCode.BadRequest, "invalid_grant") })
        {
            h.Time.Advance(TimeSpan.FromHours(1));
            h.Responder = _ => GoogleTestHarness.Error(status, error, "x");
            var ex = await Assert.ThrowsAnyAsync<FTGateException>(() => h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct));
            messages.Add(ex.ToString() + ex.Remedy);
        }

        var wrong = new GoogleTestHarness(_ => GoogleTestHarness.TokenJson(email: "other@example.com"));
        messages.Add((await Assert.ThrowsAsync<AuthorizationException>(() => wrong.AuthorizeAsync())).ToString());

        string all = h.Logs.AllText + "\n" + wrong.Logs.AllText + "\n" + string.Join("\n", messages);
        Assert.NotEmpty(h.Logs.Entries);
        foreach (string secret in new[] { "ya29.ACCESS-ONE", "1//REFRESH-ONE", "REFRESH-ONE", GoogleTestHarness.ClientSecret, "4/0AcodeSECRET", verifier, challenge.State })
        {
            Assert.DoesNotContain(secret, all, StringComparison.Ordinal);
        }
    }
}
