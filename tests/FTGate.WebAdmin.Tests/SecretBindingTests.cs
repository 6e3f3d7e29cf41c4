using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using FTGate.Testing;

namespace FTGate.WebAdmin.Tests;

/// <summary>
/// Issue 17, item 1: a stored client secret, grant or password is bound to where it was entered for. Each bound field is
/// edited (through the page, then by hand in the file) and a recording endpoint shows that nothing secret reaches it.
/// </summary>
public sealed class SecretBindingTests
{
    private const string Secret = "client-secret-bound-to-its-endpoint";
    private const string ClientId = "binding-client";
    private const string User = "alice@example.test";
    private const string Provider = "Bound";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("TokenEndpoint")]
    [InlineData("AuthorizationEndpoint")]
    [InlineData("RevocationEndpoint")]
    [InlineData("DeviceAuthorizationEndpoint")]
    [InlineData("ClientId")]
    public async Task EditBoundField_PageAndHandEdit_SendNoSecretOrTokenToTheNewValue(string field)
    {
        await using TestOAuthAuthority authority = await TestOAuthAuthority.StartAsync(new TestOAuthAuthorityOptions { UserName = User }, Ct);
        authority.RegisterClient(ClientId, Secret);
        await using RecordingEndpoint recorder = await RecordingEndpoint.StartAsync(Ct);
        string data = Infra();
        string edited = field == "ClientId" ? "attacker-client" : new Uri(recorder.BaseUri, field.ToLowerInvariant()).AbsoluteUri;

        // Authorized with the real endpoints: a client secret and a refresh token are stored.
        await using (WebAdminServer server = await WebAdminServer.StartAsync(Ct, null, data))
        {
            using var admin = new AdminClient(server.BaseUri);
            await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);
            await OAuthProviderSetup.SaveAsync(admin, Provider, Fields(authority, Secret), Ct);
            await AuthorizeAsync(admin, authority);
            Assert.Contains("authorized", await StatusAsync(admin), StringComparison.Ordinal);

            // Through the page: an edit of a bound field without the secret is refused, and says why.
            Dictionary<string, string> fields = Fields(authority, "");
            fields["f." + field] = edited;
            using HttpResponseMessage refused = await admin.PostFormAsync(Page, Page + "&handler=Save", fields, Ct);
            string body = WebUtility.HtmlDecode(await refused.Content.ReadAsStringAsync(Ct));
            Assert.Equal(HttpStatusCode.OK, refused.StatusCode);
            Assert.Contains($"{field} (", body, StringComparison.Ordinal);
            Assert.Contains("Enter the ClientSecret again", body, StringComparison.Ordinal);
            Assert.NotEqual(edited, ProviderSettings(server)[field]?.ToString());
        }

        int tokenRequests = authority.Counters.TokenRequests;
        int revocations = authority.Counters.Revocations;

        // By hand in the file, while the site is stopped.
        string file = Path.Combine(data, "ftgate.json");
        JsonNode root = JsonNode.Parse(await File.ReadAllTextAsync(file, Ct))!;
        root["FTGate"]!["Providers"]![Provider]![field] = edited;
        await File.WriteAllTextAsync(file, root.ToJsonString(), Ct);

        await using (WebAdminServer server = await WebAdminServer.StartAsync(Ct, null, data))
        {
            using var admin = new AdminClient(server.BaseUri);
            await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);

            // The page and the list say why the provider is withheld.
            string page = WebUtility.HtmlDecode(await (await admin.GetAsync(Page, Ct)).Content.ReadAsStringAsync(Ct));
            Assert.Contains("id=\"blocked\"", page, StringComparison.Ordinal);
            Assert.Contains($"{field} (", page, StringComparison.Ordinal);
            Assert.Contains("withheld", page, StringComparison.Ordinal);
            Assert.Contains("blocked", await StatusAsync(admin), StringComparison.Ordinal);

            // Everything that could send the secret or the grant somewhere: Authorize Now, an account's Test, Forget tokens.
            using (HttpResponseMessage authorize = await admin.PostFormAsync(Page, Page + "&handler=Authorize", [], Ct))
            {
                Assert.Equal(HttpStatusCode.OK, authorize.StatusCode); // no redirect to the provider
            }

            await SaveOAuthAccountAsync(admin, authority);
            using (HttpResponseMessage test = await admin.PostFormAsync("accounts/edit?name=Mail", "accounts/edit?name=Mail&handler=Test", [], Ct))
            {
                Assert.Contains("blocked", WebUtility.HtmlDecode(await test.Content.ReadAsStringAsync(Ct)), StringComparison.Ordinal);
            }

            using (HttpResponseMessage forget = await admin.PostFormAsync(Page, Page + "&handler=SignOut", [], Ct))
            {
                Assert.Equal(HttpStatusCode.Redirect, forget.StatusCode);
            }

            Assert.Empty(recorder.Requests);
            Assert.Equal(tokenRequests, authority.Counters.TokenRequests);
            Assert.Equal(revocations, authority.Counters.Revocations);

            // Entering the secret again (for the new settings) unblocks the provider; the old grant is gone.
            Dictionary<string, string> again = Fields(authority, "re-entered-secret");
            again["f." + field] = edited;
            await OAuthProviderSetup.SaveAsync(admin, Provider, again, Ct);
            string status = await StatusAsync(admin);
            Assert.DoesNotContain("blocked", status, StringComparison.Ordinal);
            Assert.Contains("not authorized", status, StringComparison.Ordinal);
        }

        Assert.Empty(recorder.Requests);
    }

    [Fact]
    public async Task EditAccountHostOrPort_PasswordIsWithheld_UntilEnteredAgain()
    {
        await using RecordingEndpoint recorder = await RecordingEndpoint.StartAsync(Ct);
        const string Password = "pop-password-bound-to-its-server";
        string data = Infra();
        int closedPort = ClosedPort();
        var fields = new Dictionary<string, string>
        {
            ["f.Host"] = "127.0.0.1",
            ["f.Port"] = closedPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["f.Security"] = "None",
            ["f.UserName"] = "carol",
            ["f.AuthType"] = "Password",
            ["f.Password"] = Password,
            ["f.AllowInsecureAuthentication"] = "true",
        };
        await using (WebAdminServer server = await WebAdminServer.StartAsync(Ct, null, data))
        {
            using var admin = new AdminClient(server.BaseUri);
            await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);
            using (HttpResponseMessage saved = await admin.PostFormAsync("accounts/edit?name=Carol", "accounts/edit?name=Carol&handler=Save", fields, Ct))
            {
                Assert.Equal(HttpStatusCode.Redirect, saved.StatusCode);
            }

            fields["f.Password"] = "";
            fields["f.Port"] = recorder.Pop3Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            using HttpResponseMessage refused = await admin.PostFormAsync("accounts/edit?name=Carol", "accounts/edit?name=Carol&handler=Save", fields, Ct);
            string body = WebUtility.HtmlDecode(await refused.Content.ReadAsStringAsync(Ct));
            Assert.Contains("Enter the password again", body, StringComparison.Ordinal);
        }

        string file = Path.Combine(data, "ftgate.json");
        JsonNode root = JsonNode.Parse(await File.ReadAllTextAsync(file, Ct))!;
        root["FTGate"]!["SmartPop"]!["Accounts"]!["Carol"]!["Port"] = recorder.Pop3Port;
        await File.WriteAllTextAsync(file, root.ToJsonString(), Ct);

        await using (WebAdminServer server = await WebAdminServer.StartAsync(Ct, null, data))
        {
            using var admin = new AdminClient(server.BaseUri);
            await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);
            using (HttpResponseMessage test = await admin.PostFormAsync("accounts/edit?name=Carol", "accounts/edit?name=Carol&handler=Test", [], Ct))
            {
                string html = WebUtility.HtmlDecode(await test.Content.ReadAsStringAsync(Ct));
                Assert.Contains("id=\"blocked\"", html, StringComparison.Ordinal);
                Assert.Contains("Port ('" + closedPort, html, StringComparison.Ordinal);
            }

            Assert.Empty(recorder.Requests);

            // Positive control: with the password entered for the new port, the recorder does receive it.
            fields["f.Password"] = Password;
            using (HttpResponseMessage saved = await admin.PostFormAsync("accounts/edit?name=Carol", "accounts/edit?name=Carol&handler=Save", fields, Ct))
            {
                Assert.Equal(HttpStatusCode.Redirect, saved.StatusCode);
            }

            using (await admin.PostFormAsync("accounts/edit?name=Carol", "accounts/edit?name=Carol&handler=Test", [], Ct))
            {
            }

            Assert.True(await recorder.WaitForAsync(r => r.Contains(Password, StringComparison.Ordinal), TimeSpan.FromSeconds(20), Ct), string.Join("\n---\n", recorder.Requests));
        }
    }

    [Fact]
    public async Task DeleteProvider_ANewProviderOfTheSameNameInheritsNothing()
    {
        await using TestOAuthAuthority authority = await TestOAuthAuthority.StartAsync(new TestOAuthAuthorityOptions { UserName = User }, Ct);
        authority.RegisterClient(ClientId, Secret);
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var admin = new AdminClient(server.BaseUri);
        await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);
        await OAuthProviderSetup.SaveAsync(admin, Provider, Fields(authority, Secret), Ct);
        await AuthorizeAsync(admin, authority);
        Assert.Contains("authorized", await StatusAsync(admin), StringComparison.Ordinal);

        using (HttpResponseMessage deleted = await admin.PostFormAsync(Page, Page + "&handler=Delete", [], Ct))
        {
            Assert.Equal(HttpStatusCode.Redirect, deleted.StatusCode);
        }

        // Same name, same endpoints, no secret entered: neither the grant nor the secret comes back.
        Dictionary<string, string> fields = Fields(authority, "");
        await OAuthProviderSetup.SaveAsync(admin, Provider, fields, Ct);
        Assert.Contains("not authorized", await StatusAsync(admin), StringComparison.Ordinal);
        string page = await (await admin.GetAsync(Page, Ct)).Content.ReadAsStringAsync(Ct);
        Assert.DoesNotContain("stored — leave empty to keep it", WebUtility.HtmlDecode(page), StringComparison.Ordinal);
    }

    private static string Page => $"providers/edit?name={Provider}";

    private static string Infra() => FTGate.Tests.Infrastructure.Infra.NewTempDirectory("ftg-bind");

    private static Dictionary<string, string> Fields(TestOAuthAuthority authority, string secret) => new()
    {
        ["type"] = "OAuth2",
        ["f.AuthorizationEndpoint"] = authority.AuthorizationEndpoint.AbsoluteUri,
        ["f.TokenEndpoint"] = authority.TokenEndpoint.AbsoluteUri,
        ["f.RevocationEndpoint"] = authority.RevocationEndpoint.AbsoluteUri,
        ["f.DeviceAuthorizationEndpoint"] = authority.DeviceAuthorizationEndpoint.AbsoluteUri,
        ["f.ClientId"] = ClientId,
        ["f.ClientSecret"] = secret,
        ["f.ClientAuthentication"] = "ClientSecretBasic",
        ["f.UserName"] = User,
        ["f.Scopes"] = "openid offline_access " + TestOAuthAuthority.MailScope,
    };

    private static async Task AuthorizeAsync(AdminClient admin, TestOAuthAuthority authority)
    {
        Uri authorizationUrl = await OAuthProviderSetup.AuthorizeNowAsync(admin, Provider, Ct);
        Uri callback = await authority.SignInAsync(authorizationUrl, Ct);
        using HttpResponseMessage done = await admin.GetAsync(callback.PathAndQuery.TrimStart('/'), Ct);
        Assert.True(done.StatusCode == HttpStatusCode.OK, await done.Content.ReadAsStringAsync(Ct));
    }

    private static async Task<string> StatusAsync(AdminClient admin)
    {
        string list = WebUtility.HtmlDecode(await (await admin.GetAsync("providers", Ct)).Content.ReadAsStringAsync(Ct));
        int row = list.IndexOf($"data-provider=\"{Provider}\"", StringComparison.Ordinal);
        Assert.True(row >= 0, list);
        int end = list.IndexOf("</tr>", row, StringComparison.Ordinal);
        return list[row..end];
    }

    private static async Task SaveOAuthAccountAsync(AdminClient admin, TestOAuthAuthority authority)
    {
        var fields = new Dictionary<string, string>
        {
            ["f.Host"] = "127.0.0.1",
            ["f.Port"] = authority.Issuer.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["f.Security"] = "None",
            ["f.UserName"] = User,
            ["f.AuthType"] = Provider,
            ["f.AllowInsecureAuthentication"] = "true",
        };
        using HttpResponseMessage saved = await admin.PostFormAsync("accounts/edit?name=Mail", "accounts/edit?name=Mail&handler=Save", fields, Ct);
        Assert.True(saved.StatusCode == HttpStatusCode.Redirect, await saved.Content.ReadAsStringAsync(Ct));
    }

    private static JsonObject ProviderSettings(WebAdminServer server) =>
        JsonNode.Parse(File.ReadAllText(server.ConfigurationFile))!["FTGate"]!["Providers"]![Provider]!.AsObject();

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
