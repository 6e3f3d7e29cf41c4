using FTGate.OAuth.Tests.Google;
using FTGate.OAuth.Tests.MicrosoftProvider;
using FTGate.OAuth.Tests.TestSupport;

namespace FTGate.OAuth.Tests.Grants;

/// <summary>
/// Issue 17 item 1 (provider side): a grant is bound to the provider, client id, endpoints and tenant it was issued for.
/// After an edit, a recording fake endpoint proves that nothing (neither the refresh token nor the client secret) is sent.
/// </summary>
public sealed class GrantBindingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Edits => ["TokenEndpoint", "Authority", "ClientId", "RevocationEndpoint"];

    [Theory]
    [MemberData(nameof(Edits))]
    public async Task Generic_EndpointOrClientEdited_GrantUnusedNothingSentStatusSaysWhy(string field)
    {
        var original = new GenericProviderHarness();
        await original.SeedGrantAsync("RT-SECRET-1");

        // The same store after an administrator (or an attacker) edited one field: a new provider instance, as after a restart.
        var edited = new GenericProviderHarness(store: original.Store, configure: o =>
        {
            switch (field)
            {
                case "TokenEndpoint": o.TokenEndpoint = "https://attacker.example.net/token"; break;
                case "Authority": o.Authority = "https://attacker.example.net"; break;
                case "ClientId": o.ClientId = "other-client"; break;
                default: o.RevocationEndpoint = "https://attacker.example.net/revoke"; break;
            }
        });
        edited.Time.Advance(TimeSpan.FromHours(2));

        var get = await Assert.ThrowsAsync<ReauthorizationRequiredException>(() => edited.Provider.GetAccessTokenAsync(GenericProviderHarness.User, Ct));
        var refresh = await Assert.ThrowsAsync<ReauthorizationRequiredException>(() => edited.Provider.RefreshAccessTokenAsync(GenericProviderHarness.User, Ct));
        AuthorizationStatus status = await edited.Provider.GetStatusAsync(GenericProviderHarness.User, Ct);
        await edited.Provider.SignOutAsync(GenericProviderHarness.User, Ct);

        Assert.Empty(edited.Handler.Requests);
        Assert.Equal(FTGateErrorCodes.GrantBindingChanged, get.ErrorCode);
        Assert.Equal(FTGateErrorCodes.GrantBindingChanged, refresh.ErrorCode);
        Assert.Equal(AuthorizationState.ReauthorizationRequired, status.State);
        Assert.Equal(FTGateErrorCodes.GrantBindingChanged, status.ErrorCode);
        Assert.Contains("endpoint or tenant changed", status.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("RT-SECRET-1", get.ToString() + status.Reason + edited.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generic_UnchangedConfiguration_GrantStillRefreshes()
    {
        var original = new GenericProviderHarness();
        await original.SeedGrantAsync();
        var restarted = new GenericProviderHarness(store: original.Store);
        restarted.Time.Advance(TimeSpan.FromHours(2));

        AccessToken token = await restarted.Provider.GetAccessTokenAsync(GenericProviderHarness.User, Ct);

        Assert.Equal("AT-2", token.Value);
        Assert.Equal(1, restarted.TokenRequests);
    }

    [Fact]
    public async Task Google_ClientIdEdited_NoRequestToGoogle()
    {
        var h = new GoogleTestHarness();
        await h.AuthorizeAsync();
        int before = h.Handler.Requests.Count;
        var edited = new GoogleTestHarness(configure: o => o.ClientId = "9999-other.apps.googleusercontent.com");
        var provider = new GoogleAuthProvider("gmail", new StaticOptionsMonitor<GoogleAuthOptions>("gmail", edited.Options), h.Store, h.Time, h.Logs, new TestHttpClientFactory(h.Handler));
        h.Time.Advance(TimeSpan.FromHours(2));

        var ex = await Assert.ThrowsAsync<ReauthorizationRequiredException>(() => provider.GetAccessTokenAsync(GoogleTestHarness.User, Ct));
        await provider.SignOutAsync(GoogleTestHarness.User, Ct);

        Assert.Equal(FTGateErrorCodes.GrantBindingChanged, ex.ErrorCode);
        Assert.Equal(before, h.Handler.Requests.Count);
    }

    [Theory]
    [InlineData("TenantId")]
    [InlineData("Authority")]
    public async Task Microsoft_TenantOrAuthorityEdited_NoRequestToEntraAndStatusSaysWhy(string field)
    {
        using var host = new MicrosoftTestHost();
        await host.AuthorizeAsync(host.Create());
        int before = host.Entra.Requests.Count;
        MicrosoftAuthProvider edited = host.Create(o =>
        {
            if (field == "TenantId")
            {
                o.TenantId = "fabrikam.com";
            }
            else
            {
                o.Authority = "https://login.attacker.example.net/contoso.com";
            }
        });

        var ex = await host.CaptureAsync<ReauthorizationRequiredException>(() => edited.RefreshAccessTokenAsync(MicrosoftTestHost.User, Ct));
        AuthorizationStatus status = await edited.GetStatusAsync(MicrosoftTestHost.User, Ct);

        Assert.Equal(FTGateErrorCodes.GrantBindingChanged, ex.ErrorCode);
        Assert.Equal(before, host.Entra.Requests.Count);
        Assert.Equal(FTGateErrorCodes.GrantBindingChanged, status.ErrorCode);
        AccessToken stillFine = await host.Create().RefreshAccessTokenAsync(MicrosoftTestHost.User, Ct);
        Assert.False(string.IsNullOrEmpty(stillFine.Value));
    }
}
