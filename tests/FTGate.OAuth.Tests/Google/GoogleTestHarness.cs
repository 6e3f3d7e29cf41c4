using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FTGate.OAuth.Tests.TestSupport;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace FTGate.OAuth.Tests.Google;

/// <summary>A Google provider wired to a fake token endpoint, a fake clock and a capturing logger.</summary>
public sealed class GoogleTestHarness
{
    public const string User = "user@example.com";
    public const string ClientId = "1234-abc.apps.googleusercontent.com";
    public const string ClientSecret = "GOCSPX-test-client-secret";
    public static readonly Uri Redirect = new("http://127.0.0.1:8765/");

    private readonly Func<RecordedRequest, HttpResponseMessage> _responder;

    public GoogleTestHarness(Func<RecordedRequest, HttpResponseMessage>? responder = null, Action<GoogleAuthOptions>? configure = null)
    {
        _responder = responder ?? (_ => TokenJson());
        Options = new GoogleAuthOptions { ClientId = ClientId, ClientSecret = ClientSecret, UserName = User };
        configure?.Invoke(Options);
        Responder = _responder;
        Handler = new FakeHttpHandler(r => Responder(r));
        var monitor = new Mock<IOptionsMonitor<GoogleAuthOptions>>();
        monitor.Setup(m => m.Get("gmail")).Returns(Options);
        Provider = new GoogleAuthProvider("gmail", monitor.Object, Store, Time, Logs, new TestHttpClientFactory(Handler));
    }

    public Func<RecordedRequest, HttpResponseMessage> Responder { get; set; } = null!;

    public GoogleAuthOptions Options { get; }

    public FakeHttpHandler Handler { get; }

    public InMemoryTokenStore Store { get; } = new();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero));

    public CapturingLoggerFactory Logs { get; } = new();

    public GoogleAuthProvider Provider { get; }

    public IEnumerable<RecordedRequest> TokenRequests => Handler.Requests.Where(r => r.Uri.AbsolutePath == "/token");

    /// <summary>Runs Authorize Now end to end with the given token response and returns the result.</summary>
    public async Task<AuthorizationResult> AuthorizeAsync(string code = "4/0AcodeSECRET")
    {
        AuthorizationChallenge challenge = await Provider.BeginAuthorizationAsync(new AuthorizationRequest(Redirect), TestContext.Current.CancellationToken);
        return await Provider.CompleteAuthorizationAsync(new AuthorizationCallback { Code = code, State = challenge.State }, TestContext.Current.CancellationToken);
    }

    public void UseDefaultResponder() => Responder = _responder;

    public static string IdToken(string email) =>
        $"{B64(/*lang=json,strict*/ """{"alg":"RS256","kid":"k1","typ":"JWT"}""")}.{B64(JsonSerializer.Serialize(new { iss = "https://accounts.google.com", aud = ClientId, sub = "1098", email, email_verified = true }))}.c2ln";

    public static HttpResponseMessage TokenJson(
        string accessToken = "ya29.ACCESS-ONE",
        string? refreshToken = "1//REFRESH-ONE",
        string? email = User,
        string scope = "https://mail.google.com/ openid https://www.googleapis.com/auth/userinfo.email",
        int expiresIn = 3599)
    {
        var body = new Dictionary<string, object?>
        {
            ["access_token"] = accessToken,
            ["expires_in"] = expiresIn,
            ["scope"] = scope,
            ["token_type"] = "Bearer",
        };
        if (refreshToken is not null)
        {
            body["refresh_token"] = refreshToken;
        }

        if (email is not null)
        {
            body["id_token"] = IdToken(email);
        }

        return FakeHttpHandler.Json(HttpStatusCode.OK, JsonSerializer.Serialize(body));
    }

    public static HttpResponseMessage Error(HttpStatusCode status, string error, string description) =>
        FakeHttpHandler.Json(status, JsonSerializer.Serialize(new { error, error_description = description }));

    public static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string S256(string verifier) =>
        Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
