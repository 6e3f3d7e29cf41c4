using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FTGate.OAuth.Tests.TestSupport;

namespace FTGate.OAuth.Tests.Google;

public sealed class GoogleServiceAccountTests
{
    private const string Mailbox = "mailbox@workspace.example";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal static string KeyJson()
    {
        using var rsa = RSA.Create(2048);
        return JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["type"] = "service_account",
            ["project_id"] = "ftgate-test",
            ["private_key_id"] = "abc123",
            ["private_key"] = rsa.ExportPkcs8PrivateKeyPem(),
            ["client_email"] = "pop-reader@ftgate-test.iam.gserviceaccount.com",
            ["client_id"] = "112233445566778899",
            ["token_uri"] = "https://oauth2.googleapis.com/token",
        });
    }

    private static GoogleTestHarness Harness(Func<RecordedRequest, HttpResponseMessage> responder) =>
        new(responder, o =>
        {
            o.ClientId = null;
            o.ClientSecret = null;
            o.UserName = Mailbox;
            o.ServiceAccountKeyJson = KeyJson();
        });

    private static JsonElement Claims(string assertion)
    {
        string payload = assertion.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
        return JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(payload))).RootElement;
    }

    [Fact]
    public async Task GetAccessTokenAsync_ServiceAccount_PostsJwtBearerAssertionImpersonatingMailbox()
    {
        var h = Harness(_ => GoogleTestHarness.TokenJson(accessToken: "ya29.SA-TOKEN", refreshToken: null, email: null, scope: "https://mail.google.com/"));

        AccessToken token = await h.Provider.GetAccessTokenAsync(Mailbox, Ct);

        Assert.Equal("ya29.SA-TOKEN", token.Value);
        Assert.Equal(Mailbox, token.UserName);
        RecordedRequest post = Assert.Single(h.TokenRequests);
        Assert.Equal("urn:ietf:params:oauth:grant-type:jwt-bearer", post.Form["grant_type"]);
        JsonElement claims = Claims(post.Form["assertion"]);
        Assert.Equal(Mailbox, claims.GetProperty("sub").GetString());
        Assert.Equal("https://mail.google.com/", claims.GetProperty("scope").GetString());
        Assert.Equal("https://oauth2.googleapis.com/token", claims.GetProperty("aud").GetString());
        Assert.Equal("pop-reader@ftgate-test.iam.gserviceaccount.com", claims.GetProperty("iss").GetString());
        Assert.Equal(h.Time.GetUtcNow().ToUnixTimeSeconds(), claims.GetProperty("iat").GetInt64());
        Assert.False(post.Form.ContainsKey("refresh_token"));

        await h.Provider.GetAccessTokenAsync(Mailbox, Ct);
        Assert.Single(h.TokenRequests);
    }

    [Fact]
    public async Task GetAccessTokenAsync_DelegationNotGranted_ThrowsUnauthorizedClientNamingAdminConsoleStep()
    {
        var h = Harness(_ => GoogleTestHarness.Error(HttpStatusCode.Unauthorized, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."));

        var ex = await Assert.ThrowsAsync<AuthorizationException>(() => h.Provider.GetAccessTokenAsync(Mailbox, Ct));

        Assert.Equal(FTGateErrorCodes.UnauthorizedClient, ex.ErrorCode);
        Assert.Contains("Security > Access and data control > API controls > Domain-wide delegation", ex.Remedy, StringComparison.Ordinal);
        Assert.Contains("112233445566778899", ex.Remedy, StringComparison.Ordinal);
        Assert.Contains("https://mail.google.com/", ex.Remedy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BeginAuthorizationAsync_ServiceAccount_ThrowsConfigurationError()
    {
        var h = Harness(_ => new HttpResponseMessage(HttpStatusCode.OK));

        await Assert.ThrowsAsync<FTGateConfigurationException>(() => h.Provider.BeginAuthorizationAsync(new AuthorizationRequest(GoogleTestHarness.Redirect), Ct));
    }
}
