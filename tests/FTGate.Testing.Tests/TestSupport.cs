using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MailKit;
using MailKit.Net.Pop3;
using MailKit.Security;

namespace FTGate.Testing.Tests;

/// <summary>A token response as a test client sees it.</summary>
internal sealed record TokenResponse(HttpStatusCode Status, JsonElement Json, HttpResponseHeaders Headers)
{
    public string? AccessToken => Get("access_token");

    public string? RefreshToken => Get("refresh_token");

    public string? Error => Get("error");

    public string? ErrorDescription => Get("error_description");

    public string? Get(string name) => Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty(name, out JsonElement value) ? value.ToString() : null;
}

/// <summary>An OAuth client written the plain way (HttpClient), independent of the SDK's providers.</summary>
internal static class OAuthClient
{
    public const string RedirectUri = "http://127.0.0.1:5123/callback";

    private static readonly HttpClient Http = new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });

    public static (string Verifier, string Challenge) NewPkce()
    {
        string verifier = Base64Url(RandomNumberGenerator.GetBytes(32));
        return (verifier, Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static Uri AuthorizationUrl(TestOAuthAuthority authority, string clientId, string? challenge, string state, string? loginHint, string scope = "openid offline_access mail.pop")
    {
        var query = new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = clientId,
            ["redirect_uri"] = RedirectUri,
            ["scope"] = scope,
            ["state"] = state,
            ["login_hint"] = loginHint,
        };
        if (challenge is not null)
        {
            query["code_challenge"] = challenge;
            query["code_challenge_method"] = "S256";
        }

        string q = string.Join('&', query.Where(p => p.Value is not null).Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value!)}"));
        return new Uri(authority.AuthorizationEndpoint + "?" + q);
    }

    /// <summary>GET the authorization URL and return the query parameters of the 302 Location.</summary>
    public static async Task<Dictionary<string, string>> AuthorizeAsync(Uri url, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await Http.GetAsync(url, cancellationToken);
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Uri location = response.Headers.Location!;
        Assert.StartsWith(RedirectUri, location.ToString(), StringComparison.Ordinal);
        return ParseQuery(location.Query);
    }

    public static Dictionary<string, string> ParseQuery(string query) =>
        query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => Uri.UnescapeDataString(p[0]), p => p.Length > 1 ? Uri.UnescapeDataString(p[1].Replace('+', ' ')) : string.Empty);

    public static async Task<TokenResponse> PostAsync(Uri endpoint, IDictionary<string, string> form, CancellationToken cancellationToken, (string Id, string Secret)? basic = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new FormUrlEncodedContent(form) };
        if (basic is { } credentials)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credentials.Id}:{credentials.Secret}")));
        }

        using HttpResponseMessage response = await Http.SendAsync(request, cancellationToken);
        string body = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonElement json = body.StartsWith('{') ? JsonDocument.Parse(body).RootElement.Clone() : default;
        return new TokenResponse(response.StatusCode, json, response.Headers);
    }

    /// <summary>The whole authorization code + PKCE flow for a public client.</summary>
    public static async Task<TokenResponse> SignInAsync(TestOAuthAuthority authority, string clientId, string user, CancellationToken cancellationToken)
    {
        (string verifier, string challenge) = NewPkce();
        Dictionary<string, string> callback = await AuthorizeAsync(AuthorizationUrl(authority, clientId, challenge, "s1", user), cancellationToken);
        return await PostAsync(
            authority.TokenEndpoint,
            new Dictionary<string, string>
            {
                ["grant_type"] = "authorization_code",
                ["code"] = callback["code"],
                ["redirect_uri"] = RedirectUri,
                ["client_id"] = clientId,
                ["code_verifier"] = verifier,
            },
            cancellationToken);
    }

    public static Task<TokenResponse> RefreshAsync(TestOAuthAuthority authority, string clientId, string refreshToken, CancellationToken cancellationToken) =>
        PostAsync(
            authority.TokenEndpoint,
            new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refreshToken, ["client_id"] = clientId },
            cancellationToken);
}

internal static class Pop3
{
    /// <summary>A MailKit client connected over TLS-on-connect, pinning the test server's certificate.</summary>
    public static async Task<Pop3Client> ConnectTlsAsync(TestPop3Server server, CancellationToken cancellationToken, IProtocolLogger? logger = null)
    {
        var client = logger is null ? new Pop3Client() : new Pop3Client(logger);
        client.Timeout = 5000;
        client.CheckCertificateRevocation = false;
        client.ServerCertificateValidationCallback = server.ValidateCertificate;
        await client.ConnectAsync(server.Host, server.TlsPort, SecureSocketOptions.SslOnConnect, cancellationToken);
        return client;
    }

    /// <summary>A MailKit client connected on the plain port without TLS.</summary>
    public static async Task<Pop3Client> ConnectPlainAsync(TestPop3Server server, CancellationToken cancellationToken, IProtocolLogger? logger = null)
    {
        var client = logger is null ? new Pop3Client() : new Pop3Client(logger);
        client.Timeout = 5000;
        await client.ConnectAsync(server.Host, server.Port, SecureSocketOptions.None, cancellationToken);
        return client;
    }

    public static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }
}
