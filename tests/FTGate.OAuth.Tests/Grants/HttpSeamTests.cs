using System.Net;
using FTGate.OAuth.Internal;
using FTGate.OAuth.Tests.Google;
using FTGate.OAuth.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace FTGate.OAuth.Tests.Grants;

/// <summary>Issue 18 item 2: one HTTP seam, the host's IHttpClientFactory with a named client per provider.</summary>
public sealed class HttpSeamTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AddFTGate_HostConfiguresTheProvidersNamedClient_GoogleTokenRequestsGoThroughIt()
    {
        var handler = new FakeHttpHandler(_ => GoogleTestHarness.TokenJson(accessToken: "ya29.VIA-HOST-CLIENT", refreshToken: null, email: null));
        var services = new ServiceCollection();
        var store = new InMemoryTokenStore();
        services.AddSingleton<ITokenStore>(store);
        services.AddFTGate().AddGoogle("gmail", o =>
        {
            o.ClientId = GoogleTestHarness.ClientId;
            o.ClientSecret = GoogleTestHarness.ClientSecret;
            o.UserName = GoogleTestHarness.User;
        });
        services.AddHttpClient("FTGate.OAuth.gmail").ConfigurePrimaryHttpMessageHandler(() => handler);
        using ServiceProvider sp = services.BuildServiceProvider();
        IAuthProvider provider = sp.GetRequiredService<IAuthProviderRegistry>().Get("gmail");
        var google = Assert.IsType<GoogleAuthProvider>(provider);
        await new GrantStore(store, "gmail", () => google.Binding).SaveAuthorizationAsync(
            new StoredGrant { UserName = GoogleTestHarness.User, AccessToken = "old", AccessTokenExpiresOn = DateTimeOffset.UtcNow, RefreshToken = "1//RT" },
            Ct);

        AccessToken token = await provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct);

        Assert.Equal("ya29.VIA-HOST-CLIENT", token.Value);
        RecordedRequest request = Assert.Single(handler.Requests);
        Assert.Equal("refresh_token", request.Form["grant_type"]);
    }

    [Fact]
    public async Task GenericProvider_UsesTheNamedClientOfItsName()
    {
        var h = new GenericProviderHarness();
        await h.SeedGrantAsync();

        await h.Provider.RefreshAccessTokenAsync(GenericProviderHarness.User, Ct);

        Assert.Equal(OAuthHttp.ClientName("generic"), Assert.Single(h.Http.Names.Distinct()));
        Assert.Equal(HttpMethod.Post, Assert.Single(h.Handler.Requests).Method);
    }
}
