using System.Net;
using System.Net.Http.Headers;
using System.Text;
using FTGate.OAuth.Tests.Google;
using FTGate.OAuth.Tests.TestSupport;

namespace FTGate.OAuth.Tests.Grants;

/// <summary>The shared refresh-token grant flow, through the Google and generic providers' real HTTP seams.</summary>
public sealed class RefreshTokenGrantFlowTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GetAccessTokenAsync_Google429WithRetryAfterDate_NoRequestInsideWindowThenRefreshes()
    {
        var h = new GoogleTestHarness();
        await h.AuthorizeAsync();
        h.Time.Advance(TimeSpan.FromHours(1));
        DateTimeOffset until = h.Time.GetUtcNow() + TimeSpan.FromSeconds(90);
        h.Responder = _ =>
        {
            HttpResponseMessage response = GoogleTestHarness.Error(HttpStatusCode.TooManyRequests, "rate_limit_exceeded", "Rate Limit Exceeded");
            response.Headers.RetryAfter = new RetryConditionHeaderValue(until);
            return response;
        };

        var first = await Assert.ThrowsAsync<TransientAuthorizationException>(() => h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct));
        int afterFirst = h.TokenRequests.Count();
        h.Time.Advance(TimeSpan.FromSeconds(30));
        var second = await Assert.ThrowsAsync<TransientAuthorizationException>(() => h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct));

        Assert.Equal(TimeSpan.FromSeconds(90), first.RetryAfter);
        Assert.Equal(afterFirst, h.TokenRequests.Count());
        Assert.Contains("no request was sent", second.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(60), second.RetryAfter);
        Assert.DoesNotContain("retries", first.Message + second.Message + first.Remedy, StringComparison.OrdinalIgnoreCase);

        h.Time.Advance(TimeSpan.FromSeconds(61));
        h.Responder = _ => GoogleTestHarness.TokenJson(accessToken: "ya29.ACCESS-TWO", refreshToken: null, email: null);
        AccessToken token = await h.Provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct);
        Assert.Equal("ya29.ACCESS-TWO", token.Value);
        Assert.Equal(afterFirst + 1, h.TokenRequests.Count());
    }

    [Fact]
    public async Task GetAccessTokenAsync_GenericEndpointAnswersHtml200_TransientNamingTheBodyAndGrantKept()
    {
        var h = new GenericProviderHarness(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("<html>Sign in to the Wi-Fi</html>", Encoding.UTF8, "text/html") });
        await h.SeedGrantAsync();
        h.Time.Advance(TimeSpan.FromHours(1));

        var ex = await Assert.ThrowsAsync<TransientAuthorizationException>(() => h.Provider.GetAccessTokenAsync(GenericProviderHarness.User, Ct));

        Assert.Contains("not a token response", ex.Message, StringComparison.Ordinal);
        Assert.Equal("RT-1", (await h.GrantAsync())?.RefreshToken);
        Assert.Equal(1, h.TokenRequests);
    }

    [Fact]
    public async Task GetAccessTokenAsync_GenericEndpointTimesOut_SaysTimedOutAfterSeconds()
    {
        var h = new GenericProviderHarness(_ => throw new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 7 seconds elapsing.", new TimeoutException()), httpTimeout: TimeSpan.FromSeconds(7));
        await h.SeedGrantAsync();
        h.Time.Advance(TimeSpan.FromHours(1));

        var ex = await Assert.ThrowsAsync<TransientAuthorizationException>(() => h.Provider.GetAccessTokenAsync(GenericProviderHarness.User, Ct));

        Assert.Contains("timed out after 7 s", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("HTTP 0", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("HTTP 408", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAccessTokenAsync_GenericRotation_PersistsRotatedTokenAndSendsOldOnce()
    {
        var h = new GenericProviderHarness();
        await h.SeedGrantAsync();
        h.Time.Advance(TimeSpan.FromHours(1));

        Task<AccessToken>[] calls = [.. Enumerable.Range(0, 8).Select(_ => h.Provider.GetAccessTokenAsync(GenericProviderHarness.User, Ct))];
        AccessToken[] tokens = await Task.WhenAll(calls);

        Assert.All(tokens, t => Assert.Equal("AT-2", t.Value));
        Assert.Equal(1, h.TokenRequests);
        Assert.Equal("RT-1", h.Handler.Requests.Single().Form["refresh_token"]);
        Assert.Equal("RT-2", (await h.GrantAsync())?.RefreshToken);
    }

    [Fact]
    public async Task RefreshAccessTokenAsync_ServerRefusesWithInvalidGrant_StatusNeedsReauthorizationAndNoSecondRequest()
    {
        var h = new GenericProviderHarness(_ => FakeHttpHandler.Json(HttpStatusCode.BadRequest, """{"error":"invalid_grant","error_description":"grant request is invalid"}"""));
        await h.SeedGrantAsync();

        await Assert.ThrowsAsync<ReauthorizationRequiredException>(() => h.Provider.RefreshAccessTokenAsync(GenericProviderHarness.User, Ct));
        await Assert.ThrowsAsync<ReauthorizationRequiredException>(() => h.Provider.RefreshAccessTokenAsync(GenericProviderHarness.User, Ct));

        Assert.Equal(1, h.TokenRequests);
        AuthorizationStatus status = await h.Provider.GetStatusAsync(GenericProviderHarness.User, Ct);
        Assert.Equal(AuthorizationState.ReauthorizationRequired, status.State);
        Assert.Contains("grant request is invalid", status.Reason, StringComparison.Ordinal);
    }
}
