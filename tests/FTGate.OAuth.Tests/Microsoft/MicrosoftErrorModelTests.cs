using System.Net;
using System.Text;
using FTGate.OAuth.Internal;

namespace FTGate.OAuth.Tests.MicrosoftProvider;

/// <summary>Issue 16 item 6 for Microsoft: every answer maps to one SDK exception with a code and a remedy that names the real cause.</summary>
public sealed class MicrosoftErrorModelTests : IDisposable
{
    private readonly MicrosoftTestHost _host = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _host.Dispose();

    [Theory]
    [InlineData("invalid_client", "AADSTS50011: The redirect URI 'https://mail.example.com/cb' specified in the request does not match the redirect URIs configured for the application.", FTGateErrorCodes.RedirectUriMismatch, "'Web' platform")]
    [InlineData("invalid_request", "AADSTS90002: Tenant 'contoso.cm' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", FTGateErrorCodes.TenantNotFound, "TenantId")]
    [InlineData("invalid_client", "AADSTS700024: Client assertion is not within its valid time range.", FTGateErrorCodes.InvalidClient, "clock")]
    public async Task CompleteAuthorizationAsync_EntraError_CodeAndRemedyNameTheCause(string error, string description, string expectedCode, string remedyWord)
    {
        MicrosoftAuthProvider provider = _host.Create();
        AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(MicrosoftTestHost.Redirect), Ct);

        AuthorizationException ex = await _host.CaptureAsync<AuthorizationException>(
            () => provider.CompleteAuthorizationAsync(new AuthorizationCallback { Error = error, ErrorDescription = description, State = challenge.State }, Ct));

        Assert.Equal(expectedCode, ex.ErrorCode);
        Assert.Contains(remedyWord, ex.Remedy, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true, "'Web' platform", "'Mobile and desktop applications' platform")]
    [InlineData(false, "'Mobile and desktop applications' platform", "'Web' platform")]
    public async Task Remedies_SameConfiguration_GiveTheSamePlatformAdviceEverywhere(bool confidential, string expected, string never)
    {
        MicrosoftAuthProvider provider = _host.Create(o => o.ClientSecret = confidential ? o.ClientSecret : null);
        var remedies = new List<string>();
        foreach (string description in new[] { "AADSTS50011: The redirect URI does not match.", "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.", "AADSTS500113: No reply address is registered for the application." })
        {
            AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(new Uri("http://localhost:8400/")), Ct);
            AuthorizationException ex = await _host.CaptureAsync<AuthorizationException>(
                () => provider.CompleteAuthorizationAsync(new AuthorizationCallback { Error = "invalid_request", ErrorDescription = description, State = challenge.State }, Ct));
            remedies.Add(ex.Remedy ?? "");
        }

        Assert.All(remedies, r => Assert.Contains(expected, r, StringComparison.Ordinal));
        Assert.All(remedies, r => Assert.DoesNotContain("under " + never, r, StringComparison.Ordinal));
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_PublicClientTokenEndpointAnswersHtml_TransientNotJsonException()
    {
        MicrosoftAuthProvider provider = _host.Create(o => o.ClientSecret = null);
        AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(new Uri("http://localhost:8400/")), Ct);
        _host.Entra.Override = _ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("<html><body>Proxy login</body></html>", Encoding.UTF8, "text/html") };

        var ex = await _host.CaptureAsync<TransientAuthorizationException>(
            () => provider.CompleteAuthorizationAsync(new AuthorizationCallback { Code = "code-1", State = challenge.State }, Ct));

        Assert.Contains("not a token response", ex.Message, StringComparison.Ordinal);
        Assert.Equal(AuthorizationState.NotAuthorized, (await provider.GetStatusAsync(MicrosoftTestHost.User, Ct)).State);
    }

    [Theory]
    [InlineData("bob@outlook.com", "contoso.com", true)]
    [InlineData("bob@hotmail.co.uk", "00000000-0000-0000-0000-000000000001", true)]
    [InlineData("bob@live.com", "consumers", false)]
    [InlineData("bob@msn.com", "common", false)]
    [InlineData("alice@contoso.com", "contoso.com", false)]
    public async Task GetStatusAsync_PersonalAddressWithSpecificTenant_WarnsNamingConsumersAndCommon(string user, string tenant, bool warns)
    {
        MicrosoftAuthProvider provider = _host.Create(o =>
        {
            o.UserName = user;
            o.TenantId = tenant;
        });

        AuthorizationStatus status = await provider.GetStatusAsync(user, Ct);

        string? warning = status.Warnings.FirstOrDefault(w => w.Contains("personal Microsoft account", StringComparison.Ordinal));
        Assert.Equal(warns, warning is not null);
        if (warning is not null)
        {
            Assert.Contains("'consumers'", warning, StringComparison.Ordinal);
            Assert.Contains("'common'", warning, StringComparison.Ordinal);
        }

        Assert.True(new MicrosoftAuthOptionsValidator().Validate("M365", new MicrosoftAuthOptions { ClientId = FakeEntra.ClientId, TenantId = tenant, UserName = user }).Succeeded);
    }
}
