using System.Net;
using System.Text.Json.Nodes;

namespace FTGate.WebAdmin.Tests;

/// <summary>The provider pages over HTTP: sign-in, antiforgery, headers, validation with the SDK's messages, masked secrets.</summary>
public sealed class ProviderPageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Create_WithoutAdminPassword_RefusesToStart()
    {
        WebAdminStartupException ex = Assert.Throws<WebAdminStartupException>(() => WebAdminApp.Create(
            ["--urls", "http://127.0.0.1:0", "--FTGATE_ADMIN_PASSWORD="]));
        Assert.Contains(WebAdminApp.AdminPasswordVariable, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pages_WithoutSession_RedirectToSignIn_AndAWrongPasswordIsRefused()
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var client = new AdminClient(server.BaseUri);

        using HttpResponseMessage providers = await client.GetAsync("providers", Ct);
        Assert.Equal(HttpStatusCode.Redirect, providers.StatusCode);
        Assert.StartsWith("/login", providers.Headers.Location!.OriginalString, StringComparison.Ordinal); // relative: never a host from the request

        using HttpResponseMessage wrong = await client.PostFormAsync("login", "login", new() { ["password"] = "guess" }, Ct);
        Assert.Equal(HttpStatusCode.OK, wrong.StatusCode);
        Assert.Contains("login-error", await wrong.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        using HttpResponseMessage still = await client.GetAsync("providers", Ct);
        Assert.Equal(HttpStatusCode.Redirect, still.StatusCode);
    }

    [Fact]
    public async Task Responses_CarrySecurityHeaders()
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var client = new AdminClient(server.BaseUri);

        using HttpResponseMessage response = await client.GetAsync("login", Ct);

        string csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
    }

    [Fact]
    public async Task Post_WithoutAntiforgeryToken_IsRefused()
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var admin = new AdminClient(server.BaseUri);
        await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);
        using var http = new HttpClient(new HttpClientHandler { CookieContainer = admin.Cookies, AllowAutoRedirect = false }) { BaseAddress = server.BaseUri };

        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["name"] = "X", ["type"] = "OAuth2" });
        using HttpResponseMessage response = await http.PostAsync("providers?handler=Add", form, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("Microsoft", "https://entra.microsoft.com/", "docs/microsoft.md")]
    [InlineData("Google", "https://console.cloud.google.com/apis/credentials", "docs/google.md")]
    [InlineData("OAuth2", "docs/troubleshooting.md", "docs/troubleshooting.md")]
    public async Task PropertyPage_ShowsEveryField_HelpLinks_AndTheRedirectUriToRegister(string type, string portal, string docs)
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var admin = new AdminClient(server.BaseUri);
        await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);

        using HttpResponseMessage page = await admin.GetAsync($"providers/edit?name=New&type={type}", Ct);
        string html = WebUtility.HtmlDecode(await page.Content.ReadAsStringAsync(Ct));

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains(portal, html, StringComparison.Ordinal);
        Assert.Contains(docs, html, StringComparison.Ordinal);
        Assert.Contains($"<code id=\"redirect-uri\">{new Uri(server.BaseUri, "oauth/callback").AbsoluteUri}</code>", html, StringComparison.Ordinal);
        foreach (string field in new[] { "ClientId", "ClientSecret", "UserName" })
        {
            Assert.Contains($"id=\"f-{field}\"", html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Save_InvalidProvider_ShowsTheSdkValidationMessages_AndSavesNothing()
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var admin = new AdminClient(server.BaseUri);
        await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);

        using HttpResponseMessage response = await admin.PostFormAsync(
            "providers/edit?name=Contoso&type=Microsoft",
            "providers/edit?name=Contoso&handler=Save",
            new() { ["type"] = "Microsoft", ["f.ClientId"] = "admin@contoso.com", ["f.TenantId"] = "contoso.onmicrosoft.com" },
            Ct);

        string body = WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Provider 'Contoso': ClientId 'admin@contoso.com' is an e-mail address", body, StringComparison.Ordinal);
        Assert.Contains("Provider 'Contoso': UserName is required", body, StringComparison.Ordinal);
        Assert.Null(JsonNode.Parse(await File.ReadAllTextAsync(server.ConfigurationFile, Ct))!["FTGate"]!["Providers"]!["Contoso"]);
    }

    [Fact]
    public async Task Save_Secret_IsStoredButNeverRenderedBack_AndAnEmptyFieldKeepsIt()
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var admin = new AdminClient(server.BaseUri);
        await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);
        const string Secret = "s3cr3t-value-never-shown";
        var fields = new Dictionary<string, string>
        {
            ["type"] = "OAuth2",
            ["f.TokenEndpoint"] = "https://login.example.com/token",
            ["f.AuthorizationEndpoint"] = "https://login.example.com/authorize",
            ["f.ClientId"] = "client",
            ["f.ClientSecret"] = Secret,
            ["f.UserName"] = "user@example.com",
        };
        await OAuthProviderSetup.SaveAsync(admin, "Example", fields, Ct);

        using HttpResponseMessage page = await admin.GetAsync("providers/edit?name=Example", Ct);
        string html = WebUtility.HtmlDecode(await page.Content.ReadAsStringAsync(Ct));
        Assert.DoesNotContain(Secret, html, StringComparison.Ordinal);
        Assert.Contains("stored — leave empty to keep it", html, StringComparison.Ordinal);

        fields["f.ClientSecret"] = "";
        fields["f.UserName"] = "other@example.com"; // not a bound field: the stored secret stays
        await OAuthProviderSetup.SaveAsync(admin, "Example", fields, Ct);
        JsonNode saved = JsonNode.Parse(await File.ReadAllTextAsync(server.ConfigurationFile, Ct))!["FTGate"]!["Providers"]!["Example"]!;
        Assert.Null(saved["ClientSecret"]); // kept in the encrypted token store, bound to the endpoints
        Assert.DoesNotContain(Secret, await File.ReadAllTextAsync(server.ConfigurationFile, Ct), StringComparison.Ordinal);
        Assert.Equal("other@example.com", saved["UserName"]!.ToString());
        Assert.Equal("OAuth2", saved["Type"]!.ToString());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(server.ConfigurationFile));
        }

        using HttpResponseMessage list = await admin.GetAsync("providers", Ct);
        string listHtml = await list.Content.ReadAsStringAsync(Ct);
        Assert.Contains("data-provider=\"Example\"", listHtml, StringComparison.Ordinal);
        Assert.Contains("not authorized", listHtml, StringComparison.Ordinal);
    }
}
