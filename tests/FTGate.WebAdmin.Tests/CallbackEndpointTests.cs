using System.Net;
using FTGate.Tests.Infrastructure;

namespace FTGate.WebAdmin.Tests;

/// <summary>The redirect URI endpoint (/oauth/callback) on a real loopback port, driven by HTTP.</summary>
public sealed class CallbackEndpointTests(IntegrationServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Callback_WithoutAdminSession_IsRejectedAndNotProcessed()
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var anonymous = new AdminClient(server.BaseUri);

        using HttpResponseMessage response = await anonymous.GetAsync("oauth/callback?code=stolen-code&state=some-state", Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("without an admin session and was not processed", body, StringComparison.Ordinal);
        Assert.DoesNotContain("stolen-code", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Callback_UnknownState_IsRejected()
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var admin = new AdminClient(server.BaseUri);
        await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);

        using HttpResponseMessage response = await admin.GetAsync("oauth/callback?code=abc&state=never-issued", Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("state_unknown", body, StringComparison.Ordinal);
        Assert.Contains("Authorize Now again", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Authorization has been granted", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Callback_ErrorFromProviderWithoutKnownState_ShowsTheProvidersWords()
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var admin = new AdminClient(server.BaseUri);
        await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);

        using HttpResponseMessage response = await admin.GetAsync("oauth/callback?error=access_denied&error_description=End-User+denied+the+request&state=forged", Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        string body = WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync(Ct));
        Assert.Contains("access_denied", body, StringComparison.Ordinal);
        Assert.Contains("End-User denied the request", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Callback_HtmlInProviderError_IsEncoded()
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var admin = new AdminClient(server.BaseUri);
        await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);

        using HttpResponseMessage response = await admin.GetAsync("oauth/callback?error=x&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E", Ct);

        string body = await response.Content.ReadAsStringAsync(Ct);
        Assert.DoesNotContain("<script>", body, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Callback_ReplayedState_IsRejectedByTheSdk_AndNoCodeOrSecretIsLogged()
    {
        servers.Require();
        var logs = new LogCapture();
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct, logs);
        using var admin = new AdminClient(server.BaseUri);
        await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);
        await OAuthProviderSetup.SaveAsync(admin, "Replay", OAuthProviderSetup.Fields(servers.OAuth, OAuthServer.WebClientSecret), Ct);
        Uri authorize = await OAuthProviderSetup.AuthorizeNowAsync(admin, "Replay", Ct);

        using var person = new HeadlessBrowser();
        Uri callback = await person.AuthorizeAsync(authorize, OAuthProviderSetup.User, OAuthProviderSetup.Password, cancellationToken: Ct);
        Assert.Equal(WebAdminApp.OAuthCallbackPath, callback.AbsolutePath);
        Assert.Equal(server.BaseUri.Port, callback.Port);

        using HttpResponseMessage first = await admin.GetAsync(callback.PathAndQuery, Ct);
        string firstBody = WebUtility.HtmlDecode(await first.Content.ReadAsStringAsync(Ct));
        Assert.True(first.StatusCode == HttpStatusCode.OK, firstBody);
        Assert.Contains("Authorization has been granted for alice@example.test", firstBody, StringComparison.Ordinal);

        using HttpResponseMessage replay = await admin.GetAsync(callback.PathAndQuery, Ct);
        string replayBody = await replay.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Contains("state_replayed", replayBody, StringComparison.Ordinal);
        Assert.DoesNotContain("Authorization has been granted", replayBody, StringComparison.Ordinal);

        string code = System.Web.HttpUtility.ParseQueryString(callback.Query)["code"]!;
        Assert.NotEmpty(logs.Lines);
        Assert.DoesNotContain(logs.Lines, line => line.Contains(code, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, line => line.Contains(OAuthServer.WebClientSecret, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, line => line.Contains(WebAdminServer.AdminPassword, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Callback_StateFromAnotherBrowser_IsRejected()
    {
        servers.Require();
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var admin = new AdminClient(server.BaseUri);
        await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);
        await OAuthProviderSetup.SaveAsync(admin, "Other", OAuthProviderSetup.Fields(servers.OAuth, OAuthServer.WebClientSecret), Ct);
        Uri authorize = await OAuthProviderSetup.AuthorizeNowAsync(admin, "Other", Ct);
        using var person = new HeadlessBrowser();
        Uri callback = await person.AuthorizeAsync(authorize, OAuthProviderSetup.User, OAuthProviderSetup.Password, cancellationToken: Ct);

        // A second admin session (another browser) did not start this authorization: its state is unknown there.
        using var otherBrowser = new AdminClient(server.BaseUri);
        await otherBrowser.SignInAsync(WebAdminServer.AdminPassword, Ct);
        using HttpResponseMessage response = await otherBrowser.GetAsync(callback.PathAndQuery, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("state_unknown", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Callback_ProviderDenied_ShowsTheErrorAndItsRemedy()
    {
        servers.Require();
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var admin = new AdminClient(server.BaseUri);
        await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);
        await OAuthProviderSetup.SaveAsync(admin, "Denied", OAuthProviderSetup.Fields(servers.OAuth, OAuthServer.WebClientSecret), Ct);
        Uri authorize = await OAuthProviderSetup.AuthorizeNowAsync(admin, "Denied", Ct);
        using var person = new HeadlessBrowser();
        Uri callback = await person.AuthorizeAsync(authorize, OAuthProviderSetup.User, OAuthProviderSetup.Password, allow: false, cancellationToken: Ct);
        Assert.Contains("error=access_denied", callback.Query, StringComparison.Ordinal);

        using HttpResponseMessage response = await admin.GetAsync(callback.PathAndQuery, Ct);

        string body = WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("access_denied", body, StringComparison.Ordinal);
        Assert.Contains("What to do:", body, StringComparison.Ordinal);
    }
}
