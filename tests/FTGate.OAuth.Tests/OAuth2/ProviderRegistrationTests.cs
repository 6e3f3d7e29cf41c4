using FTGate.OAuth.Tests.Google;
using Microsoft.Extensions.DependencyInjection;

namespace FTGate.OAuth.Tests.OAuth2;

public sealed class ProviderRegistrationTests
{
    [Fact]
    public void AddGoogleAndAddOAuth2_ResolvedFromRegistry_CreateRealProvidersWithOptionalSeamsDefaulted()
    {
        var services = new ServiceCollection();
        services.AddFTGate()
            .UseInMemoryTokenStore()
            .AddGoogle("gmail", o =>
            {
                o.ClientId = GoogleTestHarness.ClientId;
                o.ClientSecret = GoogleTestHarness.ClientSecret;
                o.UserName = GoogleTestHarness.User;
            })
            .AddOAuth2("generic", o =>
            {
                o.Authority = "https://id.example.test";
                o.ClientId = "c";
                o.UserName = "u@example.test";
            });
        using ServiceProvider sp = services.BuildServiceProvider();
        var registry = sp.GetRequiredService<IAuthProviderRegistry>();

        IAuthProvider google = registry.Get("gmail");
        IAuthProvider generic = registry.Get("generic");

        Assert.IsType<GoogleAuthProvider>(google);
        Assert.Equal("u@example.test", Assert.IsType<OAuth2AuthProvider>(generic).UserName);
        Assert.Equal(GoogleTestHarness.User, google.UserName);
    }
}
