using System.Net;
using FTGate.Tests.Infrastructure;

namespace FTGate.WebAdmin.Tests;

/// <summary>Configures providers through the admin's own forms (not by writing its file).</summary>
internal static class OAuthProviderSetup
{
    public const string User = "alice@example.test";
    public const string Password = "alice-password";

    /// <summary>The scopes the test Dovecot needs (it checks scope "mail").</summary>
    public const string Scopes = "openid email offline_access mail";

    public static Dictionary<string, string> Fields(OAuthServer oauth, string clientSecret) => new()
    {
        ["type"] = "OAuth2",
        ["f.AuthorizationEndpoint"] = oauth.AuthorizationEndpoint.AbsoluteUri,
        ["f.TokenEndpoint"] = oauth.TokenEndpoint.AbsoluteUri,
        ["f.RevocationEndpoint"] = oauth.RevocationEndpoint.AbsoluteUri,
        ["f.ClientId"] = OAuthServer.WebClientId,
        ["f.ClientSecret"] = clientSecret,
        ["f.ClientAuthentication"] = "ClientSecretBasic",
        ["f.UserName"] = User,
        ["f.Scopes"] = Scopes,
    };

    public static async Task SaveAsync(AdminClient admin, string name, Dictionary<string, string> fields, CancellationToken cancellationToken)
    {
        string page = $"providers/edit?name={Uri.EscapeDataString(name)}&type=OAuth2";
        using HttpResponseMessage saved = await admin.PostFormAsync(page, $"providers/edit?name={Uri.EscapeDataString(name)}&handler=Save", fields, cancellationToken);
        Assert.True(saved.StatusCode == HttpStatusCode.Redirect, await saved.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>Clicks Authorize Now; returns the provider's authorization URL the admin is sent to.</summary>
    public static async Task<Uri> AuthorizeNowAsync(AdminClient admin, string name, CancellationToken cancellationToken)
    {
        string page = $"providers/edit?name={Uri.EscapeDataString(name)}";
        using HttpResponseMessage response = await admin.PostFormAsync(page, page + "&handler=Authorize", [], cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.Redirect, await response.Content.ReadAsStringAsync(cancellationToken));
        return response.Headers.Location!;
    }
}
