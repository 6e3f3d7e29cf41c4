using System.Net;
using System.Text.Json;
using FTGate.OAuth.Internal;
using FTGate.OAuth.Tests.TestSupport;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace FTGate.OAuth.Tests.Grants;

/// <summary>A generic OAuth2 provider over a scripted token endpoint (explicit endpoints, no discovery), with a stored grant.</summary>
internal sealed class GenericProviderHarness
{
    public const string User = "alice@example.test";
    public const string TokenEndpoint = "https://idp.example.test/token";

    public GenericProviderHarness(Func<RecordedRequest, HttpResponseMessage>? responder = null, Action<OAuth2AuthOptions>? configure = null, ITokenStore? store = null, TimeSpan? httpTimeout = null)
    {
        Responder = responder ?? (_ => TokenJson("AT-2", "RT-2"));
        Handler = new FakeHttpHandler(r => Responder(r));
        Store = store ?? new InMemoryTokenStore();
        Options = new OAuth2AuthOptions
        {
            ClientId = "client-1",
            ClientSecret = "client-secret-VALUE",
            TokenEndpoint = TokenEndpoint,
            AuthorizationEndpoint = "https://idp.example.test/authorize",
            UserName = User,
        };
        configure?.Invoke(Options);
        Http = new TestHttpClientFactory(Handler, httpTimeout);
        var monitor = new Mock<IOptionsMonitor<OAuth2AuthOptions>>();
        monitor.Setup(m => m.Get("generic")).Returns(Options);
        Provider = new OAuth2AuthProvider("generic", monitor.Object, Store, Time, Logs, Http);
    }

    public Func<RecordedRequest, HttpResponseMessage> Responder { get; set; }

    public FakeHttpHandler Handler { get; }

    public TestHttpClientFactory Http { get; }

    public ITokenStore Store { get; }

    public OAuth2AuthOptions Options { get; }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));

    public CapturingLoggerFactory Logs { get; } = new();

    public OAuth2AuthProvider Provider { get; }

    public int TokenRequests => Handler.Requests.Count(r => r.Uri.AbsoluteUri == TokenEndpoint);

    /// <summary>Stores a grant as Authorize Now would have (access token valid for an hour).</summary>
    public Task SeedGrantAsync(string refreshToken = "RT-1") =>
        new GrantStore(Store, "generic", () => Provider.Binding).SaveAuthorizationAsync(
            new StoredGrant
            {
                UserName = User,
                AccessToken = "AT-1",
                AccessTokenExpiresOn = Time.GetUtcNow() + TimeSpan.FromHours(1),
                RefreshToken = refreshToken,
                RefreshTokenIssuedOn = Time.GetUtcNow(),
                AuthorizedOn = Time.GetUtcNow(),
            },
            TestContext.Current.CancellationToken);

    public async Task<StoredGrant?> GrantAsync() => await new GrantStore(Store, "generic").GetAsync(User, TestContext.Current.CancellationToken);

    public static HttpResponseMessage TokenJson(string accessToken, string? refreshToken, int expiresIn = 3600) =>
        FakeHttpHandler.Json(HttpStatusCode.OK, JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["access_token"] = accessToken,
            ["refresh_token"] = refreshToken,
            ["expires_in"] = expiresIn,
            ["token_type"] = "Bearer",
        }.Where(kv => kv.Value is not null).ToDictionary()));
}
