using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FTGate.WebAdmin.Tests;

/// <summary>Issue 17, items 2–4: login throttling, host filtering and the public URL, forwarded headers, server-side sessions.</summary>
public sealed class AdminSecurityTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Create_ShortAdminPassword_RefusesToStart_SayingTheMinimum()
    {
        WebAdminStartupException ex = Assert.Throws<WebAdminStartupException>(() => WebAdminApp.Create(
            ["--urls", "http://127.0.0.1:0", "--FTGATE_ADMIN_PASSWORD=short pass "]));
        Assert.Contains(WebAdminApp.AdminPasswordVariable, ex.Message, StringComparison.Ordinal);
        Assert.Contains("at least 12", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("short pass", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_AfterFiveFailures_DelaysGrow_And429RefusesEvenTheRightPassword()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var logs = new LogCapture();
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct, logs, null, configure: b => b.Services.AddSingleton<TimeProvider>(time));
        using var client = new AdminClient(server.BaseUri);

        for (int i = 1; i <= 6; i++)
        {
            using HttpResponseMessage wrong = await client.PostFormAsync("login", "login", new() { ["password"] = $"guess-number-{i}" }, Ct);
            Assert.Equal(HttpStatusCode.OK, wrong.StatusCode);
        }

        // The sixth failure started a 1 s delay: the right password is refused while it lasts.
        using (HttpResponseMessage blocked = await client.PostFormAsync("login", "login", new() { ["password"] = WebAdminServer.AdminPassword }, Ct))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), blocked.Headers.RetryAfter?.Delta);
        }

        time.Advance(TimeSpan.FromSeconds(1.5));
        using (HttpResponseMessage seventh = await client.PostFormAsync("login", "login", new() { ["password"] = "guess-number-7" }, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, seventh.StatusCode);
        }

        using (HttpResponseMessage longer = await client.PostFormAsync("login", "login", new() { ["password"] = WebAdminServer.AdminPassword }, Ct))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, longer.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(2), longer.Headers.RetryAfter?.Delta); // growing
        }

        time.Advance(TimeSpan.FromSeconds(3));
        await client.SignInAsync(WebAdminServer.AdminPassword, Ct);

        string log = string.Join("\n", logs.Lines);
        Assert.Contains("Admin sign-in failed from 127.0.0.1", log, StringComparison.Ordinal);
        Assert.Contains("7 failure(s) in a row", log, StringComparison.Ordinal);
        Assert.DoesNotContain("guess-number", log, StringComparison.Ordinal);
        Assert.DoesNotContain(WebAdminServer.AdminPassword, log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_ForwardedFor_IsIgnoredUnlessFromAKnownProxy()
    {
        var logs = new LogCapture();
        await using (WebAdminServer direct = await WebAdminServer.StartAsync(Ct, logs, null))
        {
            using var client = new AdminClient(direct.BaseUri);
            client.DefaultHeaders.Add("X-Forwarded-For", "203.0.113.9");
            using HttpResponseMessage wrong = await client.PostFormAsync("login", "login", new() { ["password"] = "wrong-password" }, Ct);
            Assert.Contains(logs.Lines, l => l.Contains("Admin sign-in failed from 127.0.0.1", StringComparison.Ordinal));
            Assert.DoesNotContain(logs.Lines, l => l.Contains("203.0.113.9", StringComparison.Ordinal));
        }

        var proxied = new LogCapture();
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct, proxied, null, new() { ["WebAdmin:KnownProxies:0"] = "127.0.0.1" });
        using var viaProxy = new AdminClient(server.BaseUri);
        viaProxy.DefaultHeaders.Add("X-Forwarded-For", "203.0.113.9");
        using (HttpResponseMessage wrong = await viaProxy.PostFormAsync("login", "login", new() { ["password"] = "wrong-password" }, Ct))
        {
            Assert.True(proxied.Lines.Any(l => l.Contains("Admin sign-in failed from 203.0.113.9", StringComparison.Ordinal)), string.Join("\n", proxied.Lines));
        }

        // Behind a known proxy the session cookie is Secure (even when the proxy's hop to the admin is plain http).
        using HttpResponseMessage signedIn = await viaProxy.PostFormAsync("login", "login", new() { ["password"] = WebAdminServer.AdminPassword }, Ct);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        string cookie = Assert.Single(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("ftgate.admin=", StringComparison.Ordinal));
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Cookie_WithoutProxy_IsNotMarkedSecure_OnPlainHttp()
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var client = new AdminClient(server.BaseUri);
        using HttpResponseMessage signedIn = await client.PostFormAsync("login", "login", new() { ["password"] = WebAdminServer.AdminPassword }, Ct);
        string cookie = Assert.Single(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("ftgate.admin=", StringComparison.Ordinal));
        Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("attacker.example:80")]
    [InlineData("127.0.0.1.nip.io")]
    public async Task UnknownHostHeader_Gets400(string host)
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseUri };
        using var request = new HttpRequestMessage(HttpMethod.Get, "login");
        request.Headers.Host = host;

        using HttpResponseMessage response = await http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task RedirectUri_ComesFromTheBoundAddressOrPublicUrl_NeverFromTheHostHeader()
    {
        await using (WebAdminServer server = await WebAdminServer.StartAsync(Ct))
        {
            using var admin = new AdminClient(server.BaseUri);
            await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);
            string html = await GetWithHostAsync(admin, server, "providers/edit?name=New&type=OAuth2", $"localhost:{server.BaseUri.Port}");
            Assert.Contains($"<code id=\"redirect-uri\">http://127.0.0.1:{server.BaseUri.Port}/oauth/callback</code>", html, StringComparison.Ordinal);
        }

        await using (WebAdminServer server = await WebAdminServer.StartAsync(Ct, null, null, new() { ["WebAdmin:PublicUrl"] = "https://admin.example.com:8443" }))
        {
            using var admin = new AdminClient(server.BaseUri);
            await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);
            string html = await GetWithHostAsync(admin, server, "providers/edit?name=New&type=OAuth2", "admin.example.com");
            Assert.Contains("<code id=\"redirect-uri\">https://admin.example.com:8443/oauth/callback</code>", html, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("WebAdmin:PublicUrl", "admin.example.com", "PublicUrl")]
    [InlineData("WebAdmin:PublicUrl", "https://admin.example.com/path?x=1", "PublicUrl")]
    [InlineData("WebAdmin:KnownProxies:0", "proxy.example.com", "KnownProxies")]
    public void Create_BadHostSetting_RefusesToStart_NamingTheSetting(string key, string value, string named)
    {
        WebAdminStartupException ex = Assert.Throws<WebAdminStartupException>(() => WebAdminApp.Create(
            ["--urls", "http://127.0.0.1:0", $"--{WebAdminApp.AdminPasswordVariable}={WebAdminServer.AdminPassword}", $"--{key}={value}"]));
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignOut_WorksWithAntiforgery_AndACopyOfTheCookieIsRefusedAfterwards()
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var admin = new AdminClient(server.BaseUri);
        await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);
        using var stolen = new AdminClient(server.BaseUri);
        stolen.Cookies.Add(admin.Cookies.GetCookies(server.BaseUri));
        using (HttpResponseMessage before = await stolen.GetAsync("providers", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        // The layout's Sign out form carries an antiforgery token.
        using (HttpResponseMessage signOut = await admin.PostFormAsync("providers", "logout", [], Ct))
        {
            Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
            Assert.Equal("/login", signOut.Headers.Location?.OriginalString);
        }

        using HttpResponseMessage after = await stolen.GetAsync("providers", Ct);
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.StartsWith("/login", after.Headers.Location!.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sessions_StartedBeforeThePasswordChanged_AreRefused()
    {
        string data = FTGate.Tests.Infrastructure.Infra.NewTempDirectory("ftg-sess");
        var jar = new CookieContainer();
        Uri first;
        await using (WebAdminServer server = await WebAdminServer.StartAsync(Ct, null, data))
        {
            using var admin = new AdminClient(server.BaseUri);
            await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);
            jar.Add(admin.Cookies.GetCookies(server.BaseUri));
            first = server.BaseUri;
        }

        await using WebAdminServer restarted = await WebAdminServer.StartAsync(
            Ct, null, data, new() { [WebAdminApp.AdminPasswordVariable] = "a-different-admin-password" });
        using var old = new AdminClient(restarted.BaseUri);
        foreach (Cookie cookie in jar.GetCookies(first))
        {
            old.Cookies.Add(restarted.BaseUri, new Cookie(cookie.Name, cookie.Value, "/"));
        }

        using HttpResponseMessage response = await old.GetAsync("providers", Ct);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/login", response.Headers.Location!.OriginalString, StringComparison.Ordinal);
    }

    private static async Task<string> GetWithHostAsync(AdminClient admin, WebAdminServer server, string path, string host)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server.BaseUri, path));
        request.Headers.Host = host;
        using HttpResponseMessage response = await admin.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync(Ct);
    }
}

/// <summary>Issue 17, item 5: the same name rules on Add, Save and configuration load.</summary>
public sealed class NameRuleTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("colon:name")]
    [InlineData("slash/name")]
    [InlineData(" padded")]
    public async Task Save_BadName_IsRefusedLikeAdd(string name)
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var admin = new AdminClient(server.BaseUri);
        await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);
        string escaped = Uri.EscapeDataString(name);

        using HttpResponseMessage provider = await admin.PostFormAsync(
            $"providers/edit?name={escaped}&type=OAuth2",
            $"providers/edit?name={escaped}&handler=Save",
            new() { ["type"] = "OAuth2", ["f.ClientId"] = "c", ["f.TokenEndpoint"] = "https://login.example.com/token", ["f.AuthorizationEndpoint"] = "https://login.example.com/authorize", ["f.UserName"] = "u@example.com" },
            Ct);
        using HttpResponseMessage account = await admin.PostFormAsync(
            $"accounts/edit?name={escaped}",
            $"accounts/edit?name={escaped}&handler=Save",
            new() { ["f.Host"] = "pop.example.com", ["f.UserName"] = "u", ["f.AuthType"] = "Password", ["f.Password"] = "p" },
            Ct);

        Assert.Equal(HttpStatusCode.OK, provider.StatusCode);
        Assert.Contains("Provider &#x27;", await provider.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, account.StatusCode);
        string saved = await File.ReadAllTextAsync(server.ConfigurationFile, Ct);
        Assert.DoesNotContain(name.Trim(), saved, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_HandWrittenBadName_RefusesToStart_NamingIt()
    {
        string data = FTGate.Tests.Infrastructure.Infra.NewTempDirectory("ftg-names");
        await File.WriteAllTextAsync(Path.Combine(data, "ftgate.json"), """{ "FTGate": { "Providers": { "colon:name": { "Type": "OAuth2" } } } }""", Ct);

        WebAdminStartupException ex = await Assert.ThrowsAsync<WebAdminStartupException>(() => WebAdminServer.StartAsync(Ct, null, data));

        Assert.Contains("colon:name", ex.Message, StringComparison.Ordinal);
        Assert.Contains("may not contain ':'", ex.Message, StringComparison.Ordinal);
    }
}
