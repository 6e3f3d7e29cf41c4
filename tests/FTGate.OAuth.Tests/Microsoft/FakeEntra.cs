using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Identity.Client;

namespace FTGate.OAuth.Tests.MicrosoftProvider;

/// <summary>One token-endpoint request as the fake saw it.</summary>
internal sealed record EntraRequest(string Path, IReadOnlyDictionary<string, string> Form)
{
    public string? GrantType => Form.GetValueOrDefault("grant_type");
}

/// <summary>
/// Answers MSAL's requests like Microsoft Entra: token (authorization_code, refresh_token, device_code, client_credentials) and
/// devicecode endpoints, with unsigned id_tokens, client_info, rotating refresh tokens and real AADSTS error bodies.
/// Routes on the path only (MSAL adds query strings such as ?haschrome=1).
/// </summary>
internal sealed class FakeEntra : HttpMessageHandler
{
    public const string TenantGuid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    public const string ClientId = "9f4a2b1c-3d5e-4f60-8a7b-1c2d3e4f5a6b";
    private readonly HttpClient _client;
    private readonly ConcurrentDictionary<string, bool> _validRefreshTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<string> _secrets = [];
    private int _counter;

    public FakeEntra() => _client = new HttpClient(this, disposeHandler: false);

    public string SignedInUser { get; set; } = "alice@contoso.com";

    // MSAL throttles process-wide (keyed by client, authority, scopes and account): a distinct account per fake keeps tests independent.
    public string ObjectId { get; set; } = Guid.NewGuid().ToString();

    /// <summary>expires_in of issued access tokens, by grant type.</summary>
    public Func<string, int> ExpiresIn { get; set; } = _ => 3600;

    public bool IssueRefreshToken { get; set; } = true;

    /// <summary>The scope string in token responses; null echoes the requested resource scopes.</summary>
    public string? GrantedScope { get; set; }

    /// <summary>When set, answers a token request instead of the normal behaviour (return null to fall through).</summary>
    public Func<EntraRequest, HttpResponseMessage?>? Override { get; set; }

    /// <summary>Runs (awaited) when a refresh_token grant arrives, before it is answered.</summary>
    public Func<EntraRequest, Task>? OnRefresh { get; set; }

    /// <summary>Outcomes for device_code polls, in order: "authorization_pending", "expired_token", "ok", or an error JSON.</summary>
    public ConcurrentQueue<string> DeviceCodeOutcomes { get; } = new();

    public string? ExpectedCodeChallenge { get; private set; }

    public string? ExpectedRedirectUri { get; private set; }

    public string? IssuedCode { get; private set; }

    public ConcurrentQueue<EntraRequest> Requests { get; } = new();

    public IReadOnlyCollection<string> Secrets => _secrets;

    public string? LastRefreshTokenPresented { get; private set; }

    public string? LastIssuedRefreshToken { get; private set; }

    public ConcurrentQueue<string> IssuedRefreshTokens { get; } = new();

    public int Count(string grantType) => Requests.Count(r => r.GrantType == grantType);

    public HttpClient GetHttpClient() => _client;

    /// <summary>The user finished signing in at the authorize endpoint: remembers the PKCE challenge and redirect URI and issues a code.</summary>
    public string Authorize(string codeChallenge, string redirectUri)
    {
        ExpectedCodeChallenge = codeChallenge;
        ExpectedRedirectUri = redirectUri;
        IssuedCode = "0.AUcode-" + Guid.NewGuid().ToString("N");
        _secrets.Add(IssuedCode);
        return IssuedCode;
    }

    public string AddValidRefreshToken()
    {
        string rt = "1.AUrt-imported-" + Guid.NewGuid().ToString("N");
        _validRefreshTokens[rt] = true;
        _secrets.Add(rt);
        return rt;
    }

    public void RevokeAll()
    {
        foreach (string key in _validRefreshTokens.Keys)
        {
            _validRefreshTokens[key] = false;
        }
    }

    public static HttpResponseMessage Error(HttpStatusCode status, string error, string description, string? suberror = null, TimeSpan? retryAfter = null)
    {
        string trace = Guid.NewGuid().ToString();
        var body = new Dictionary<string, object?>
        {
            ["error"] = error,
            ["error_description"] = $"{description}\r\nTrace ID: {trace}\r\nCorrelation ID: {Guid.NewGuid()}\r\nTimestamp: 2026-11-28 10:00:00Z",
            ["error_codes"] = new[] { ParseAadsts(description) },
            ["timestamp"] = "2026-11-28 10:00:00Z",
            ["trace_id"] = trace,
            ["correlation_id"] = Guid.NewGuid().ToString(),
        };
        if (suberror is not null)
        {
            body["suberror"] = suberror;
        }

        var response = new HttpResponseMessage(status) { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json") };
        if (retryAfter is { } wait)
        {
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(wait);
        }

        return response;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Assert.Equal("https", request.RequestUri!.Scheme);
        string path = request.RequestUri.AbsolutePath;
        Dictionary<string, string> form = request.Content is null
            ? []
            : ParseForm(await request.Content.ReadAsStringAsync(cancellationToken));
        var entra = new EntraRequest(path, form);
        if (path.EndsWith("/oauth2/v2.0/devicecode", StringComparison.Ordinal))
        {
            Requests.Enqueue(entra);
            return Json(new
            {
                user_code = "FTG8DX9KQ",
                device_code = "DAQABAAEAAAD-devicecode-" + Guid.NewGuid().ToString("N"),
                verification_uri = "https://microsoft.com/devicelogin",
                expires_in = 900,
                interval = 1,
                message = "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FTG8DX9KQ to authenticate.",
            });
        }

        if (!path.EndsWith("/oauth2/v2.0/token", StringComparison.Ordinal))
        {
            return new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("{}") };
        }

        Requests.Enqueue(entra);
        if (Override?.Invoke(entra) is { } overridden)
        {
            return overridden;
        }

        switch (entra.GrantType)
        {
            case "authorization_code":
                if (form.GetValueOrDefault("code") != IssuedCode || IssuedCode is null)
                {
                    return Error(HttpStatusCode.BadRequest, "invalid_grant", "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.");
                }

                if (ExpectedCodeChallenge is null || S256(form.GetValueOrDefault("code_verifier") ?? string.Empty) != ExpectedCodeChallenge)
                {
                    return Error(HttpStatusCode.BadRequest, "invalid_grant", "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.");
                }

                if (form.GetValueOrDefault("redirect_uri") != ExpectedRedirectUri)
                {
                    return Error(HttpStatusCode.BadRequest, "invalid_grant", "AADSTS50011: The redirect URI specified in the request does not match the redirect URIs configured for the application.");
                }

                IssuedCode = null;
                return TokenResponse(entra);
            case "refresh_token":
                if (OnRefresh is { } onRefresh)
                {
                    await onRefresh(entra);
                }

                string presented = form.GetValueOrDefault("refresh_token") ?? string.Empty;
                LastRefreshTokenPresented = presented;
                if (!_validRefreshTokens.TryGetValue(presented, out bool valid) || !valid)
                {
                    return Error(HttpStatusCode.BadRequest, "invalid_grant", "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.", "bad_token");
                }

                return TokenResponse(entra);
            case "device_code":
                string outcome = DeviceCodeOutcomes.TryDequeue(out string? next) ? next : "ok";
                return outcome switch
                {
                    "authorization_pending" => Error(HttpStatusCode.BadRequest, "authorization_pending", "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling."),
                    "expired_token" => Error(HttpStatusCode.BadRequest, "expired_token", "AADSTS70020: The provided value for the input parameter 'device_code' is not valid. Device code expired."),
                    "no_public" => Error(HttpStatusCode.Unauthorized, "invalid_client", "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
                    _ => TokenResponse(entra),
                };
            case "client_credentials":
                return AppTokenResponse(entra);
            default:
                return Error(HttpStatusCode.BadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.");
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _client.Dispose();
        }

        base.Dispose(disposing);
    }

    private static int ParseAadsts(string description)
    {
        int start = description.IndexOf("AADSTS", StringComparison.Ordinal);
        if (start < 0)
        {
            return 0;
        }

        string digits = new(description[(start + 6)..].TakeWhile(char.IsDigit).ToArray());
        return int.TryParse(digits, out int n) ? n : 0;
    }

    private static string S256(string verifier) =>
        Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string B64Url(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static Dictionary<string, string> ParseForm(string body)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string pair in body.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            string key = Uri.UnescapeDataString((eq < 0 ? pair : pair[..eq]).Replace('+', ' '));
            string value = eq < 0 ? string.Empty : Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' '));
            result[key] = value;
        }

        return result;
    }

    private static HttpResponseMessage Json(object body) =>
        new(HttpStatusCode.OK) { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json") };

    private HttpResponseMessage TokenResponse(EntraRequest request)
    {
        int n = Interlocked.Increment(ref _counter);
        string accessToken = $"eyJ0eXAiOiJKV1QiLCJub25jZSI6.at-{n}-{Guid.NewGuid():N}.sig";
        _secrets.Add(accessToken);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string idToken = B64Url("""{"alg":"none","typ":"JWT"}""") + "." + B64Url(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["aud"] = ClientId,
            ["iss"] = $"https://login.microsoftonline.com/{TenantGuid}/v2.0",
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = now + 3600,
            ["name"] = "Alice",
            ["oid"] = ObjectId,
            ["preferred_username"] = SignedInUser,
            ["sub"] = "sub-" + ObjectId,
            ["tid"] = TenantGuid,
            ["ver"] = "2.0",
        })) + ".";
        string requested = request.Form.GetValueOrDefault("scope") ?? string.Empty;
        string scope = GrantedScope ?? string.Join(' ', requested.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(s => s is not ("openid" or "profile" or "offline_access")));
        var body = new Dictionary<string, object>
        {
            ["token_type"] = "Bearer",
            ["scope"] = scope,
            ["expires_in"] = ExpiresIn(request.GrantType ?? string.Empty),
            ["ext_expires_in"] = 3600,
            ["access_token"] = accessToken,
            ["id_token"] = idToken,
            ["client_info"] = B64Url(JsonSerializer.Serialize(new { uid = ObjectId, utid = TenantGuid })),
        };
        if (IssueRefreshToken)
        {
            string refreshToken = $"1.AUrt-{n}-{Guid.NewGuid():N}";
            _validRefreshTokens[refreshToken] = true;
            _secrets.Add(refreshToken);
            body["refresh_token"] = refreshToken;
            LastIssuedRefreshToken = refreshToken;
            IssuedRefreshTokens.Enqueue(refreshToken);
        }

        return Json(body);
    }

    private HttpResponseMessage AppTokenResponse(EntraRequest request)
    {
        int n = Interlocked.Increment(ref _counter);
        string accessToken = $"eyJ0eXAiOiJKV1QiLCJhcHAiOi.app-{n}-{Guid.NewGuid():N}.sig";
        _secrets.Add(accessToken);
        return Json(new Dictionary<string, object>
        {
            ["token_type"] = "Bearer",
            ["expires_in"] = ExpiresIn(request.GrantType ?? string.Empty),
            ["ext_expires_in"] = 3600,
            ["access_token"] = accessToken,
        });
    }
}
