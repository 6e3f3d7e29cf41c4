using System.Net;
using System.Text.Json.Nodes;

namespace FTGate.WebAdmin.Tests;

/// <summary>The SmartPop account pages over HTTP: Auth Type choices, SmartPop's validation messages, masked password.</summary>
public sealed class AccountPageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AuthType_ListsPasswordAndEveryProvider()
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var admin = new AdminClient(server.BaseUri);
        await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);
        foreach (string name in new[] { "First", "Second" })
        {
            await OAuthProviderSetup.SaveAsync(admin, name, new()
            {
                ["type"] = "OAuth2",
                ["f.TokenEndpoint"] = "https://login.example.com/token",
                ["f.AuthorizationEndpoint"] = "https://login.example.com/authorize",
                ["f.ClientId"] = "client",
                ["f.UserName"] = "user@example.com",
            }, Ct);
        }

        using HttpResponseMessage page = await admin.GetAsync("accounts/edit?name=Mailbox", Ct);
        string html = await page.Content.ReadAsStringAsync(Ct);

        Assert.Contains("<option value=\"Password\" selected=\"selected\">Password</option>", html, StringComparison.Ordinal);
        Assert.Contains("<option value=\"First\">OAuth2: First</option>", html, StringComparison.Ordinal);
        Assert.Contains("<option value=\"Second\">OAuth2: Second</option>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Save_InvalidAccount_ShowsSmartPopValidationMessages()
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var admin = new AdminClient(server.BaseUri);
        await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);

        using HttpResponseMessage response = await admin.PostFormAsync(
            "accounts/edit?name=Broken",
            "accounts/edit?name=Broken&handler=Save",
            new() { ["f.Host"] = "", ["f.Security"] = "None", ["f.UserName"] = "u", ["f.AuthType"] = "Password" },
            Ct);

        string body = WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("SmartPop account 'Broken': Host is required.", body, StringComparison.Ordinal);
        Assert.Contains("SmartPop account 'Broken': Security None sends the token or password in clear text", body, StringComparison.Ordinal);
        Assert.Contains("none is set", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Save_PasswordAccount_StoresThePasswordButNeverShowsIt()
    {
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        using var admin = new AdminClient(server.BaseUri);
        await admin.SignInAsync(WebAdminServer.AdminPassword, Ct);
        const string Password = "pop-password-never-shown";
        var fields = new Dictionary<string, string>
        {
            ["f.Host"] = "pop.example.com",
            ["f.Security"] = "SslOnConnect",
            ["f.UserName"] = "carol@example.com",
            ["f.LeaveOnServer"] = "true",
            ["f.AuthType"] = "Password",
            ["f.Password"] = Password,
        };
        using (HttpResponseMessage saved = await admin.PostFormAsync("accounts/edit?name=Carol", "accounts/edit?name=Carol&handler=Save", fields, Ct))
        {
            Assert.Equal(HttpStatusCode.Redirect, saved.StatusCode);
        }

        fields["f.Password"] = "";
        using (HttpResponseMessage again = await admin.PostFormAsync("accounts/edit?name=Carol", "accounts/edit?name=Carol&handler=Save", fields, Ct))
        {
            Assert.Equal(HttpStatusCode.Redirect, again.StatusCode);
        }

        using HttpResponseMessage page = await admin.GetAsync("accounts/edit?name=Carol", Ct);
        Assert.DoesNotContain(Password, await page.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        JsonNode account = JsonNode.Parse(await File.ReadAllTextAsync(server.ConfigurationFile, Ct))!["FTGate"]!["SmartPop"]!["Accounts"]!["Carol"]!;
        Assert.Null(account["Password"]); // kept in the encrypted token store, bound to the host and port
        Assert.DoesNotContain(Password, await File.ReadAllTextAsync(server.ConfigurationFile, Ct), StringComparison.Ordinal);
        Assert.False(account["Enabled"]!.GetValue<bool>()); // an unticked checkbox is stored as false
        Assert.True(account["LeaveOnServer"]!.GetValue<bool>());
    }
}
