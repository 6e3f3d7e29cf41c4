using FTGate.OAuth.Internal;
using Microsoft.Extensions.Time.Testing;

namespace FTGate.OAuth.Tests.MicrosoftProvider;

public sealed class MicrosoftAuthorizeTests : IDisposable
{
    private readonly MicrosoftTestHost _host = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task BeginAuthorizationAsync_ConfidentialClient_UrlCarriesPkceStateLoginHintPopScopeAndExactRedirect()
    {
        MicrosoftAuthProvider provider = _host.Create();

        AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(MicrosoftTestHost.Redirect), Ct);

        Dictionary<string, string?> q = MicrosoftTestHost.Query(challenge.AuthorizationUri);
        Assert.Equal("https://login.microsoftonline.com/contoso.com/oauth2/v2.0/authorize", challenge.AuthorizationUri.GetLeftPart(UriPartial.Path));
        Assert.Equal("S256", q["code_challenge_method"]);
        Assert.False(string.IsNullOrEmpty(q["code_challenge"]));
        Assert.Equal(challenge.State, q["state"]);
        Assert.True(challenge.State.Length >= 32);
        Assert.Equal(MicrosoftTestHost.User, q["login_hint"]);
        Assert.Equal("select_account", q["prompt"]);
        Assert.Equal(MicrosoftTestHost.Redirect.OriginalString, q["redirect_uri"]);
        Assert.Contains("https://outlook.office.com/POP.AccessAsUser.All", q["scope"]!.Split(' '));
        Assert.Contains("offline_access", q["scope"]!.Split(' '));
        Assert.Equal(FakeEntra.ClientId, q["client_id"]);
        Assert.DoesNotContain(MicrosoftTestHost.Secret, challenge.AuthorizationUri.ToString(), StringComparison.Ordinal);
        Assert.NotNull(await _host.Store.GetAsync($"pending/Contoso/{challenge.State}", Ct));
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_RoundTrip_RedeemsCodeWithVerifierAndStoresGrant()
    {
        MicrosoftAuthProvider provider = _host.Create();

        AuthorizationResult result = await _host.AuthorizeAsync(provider);

        Assert.Equal(MicrosoftTestHost.User, result.UserName);
        Assert.Contains("https://outlook.office.com/POP.AccessAsUser.All", result.Scopes);
        EntraRequest redemption = Assert.Single(_host.Entra.Requests, r => r.GrantType == "authorization_code");
        Assert.Equal(MicrosoftTestHost.Secret, redemption.Form["client_secret"]);
        Assert.Equal(MicrosoftTestHost.Redirect.OriginalString, redemption.Form["redirect_uri"]);
        Assert.True(redemption.Form["code_verifier"].Length >= 43);
        TokenStoreEntry? blob = await _host.Store.GetAsync("msal/Contoso/ALICE@CONTOSO.COM", Ct);
        Assert.NotNull(blob);
        Assert.True(MsalCacheBlob.HasRefreshToken(blob.Value.Span, null));
        AuthorizationStatus status = await provider.GetStatusAsync(MicrosoftTestHost.User, Ct);
        Assert.Equal(AuthorizationState.Authorized, status.State);
        AccessToken token = await provider.GetAccessTokenAsync(MicrosoftTestHost.User, Ct);
        Assert.Equal(MicrosoftTestHost.User, token.UserName);
        Assert.Contains(_host.Logs.Entries, e => e.Id.Id == 1101);
        _host.AssertNoSecretsLeaked(redemption.Form["code_verifier"]);
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_VerifierDoesNotMatchChallenge_AuthorizationCodeRejected()
    {
        MicrosoftAuthProvider provider = _host.Create();
        AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(MicrosoftTestHost.Redirect), Ct);
        Dictionary<string, string?> q = MicrosoftTestHost.Query(challenge.AuthorizationUri);
        string code = _host.Entra.Authorize("not-the-challenge-that-was-sent-xxxxxxxxxxxxxxx", q["redirect_uri"]!);

        AuthorizationException ex = await _host.CaptureAsync<AuthorizationException>(
            () => provider.CompleteAuthorizationAsync(new AuthorizationCallback { Code = code, State = q["state"] }, Ct));

        Assert.Equal(FTGateErrorCodes.AuthorizationCodeRejected, ex.ErrorCode);
        Assert.Contains("AADSTS501481", ex.Message, StringComparison.Ordinal);
        Assert.Null(await _host.Store.GetAsync("msal/Contoso/ALICE@CONTOSO.COM", Ct));
        _host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_StateUsedTwice_StateReplayed()
    {
        MicrosoftAuthProvider provider = _host.Create();
        AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(MicrosoftTestHost.Redirect), Ct);
        Dictionary<string, string?> q = MicrosoftTestHost.Query(challenge.AuthorizationUri);
        string code = _host.Entra.Authorize(q["code_challenge"]!, q["redirect_uri"]!);
        await provider.CompleteAuthorizationAsync(new AuthorizationCallback { Code = code, State = q["state"] }, Ct);

        AuthorizationException ex = await _host.CaptureAsync<AuthorizationException>(
            () => provider.CompleteAuthorizationAsync(new AuthorizationCallback { Code = code, State = q["state"] }, Ct));

        Assert.Equal(FTGateErrorCodes.StateReplayed, ex.ErrorCode);
        Assert.Equal(1, _host.Entra.Count("authorization_code"));
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_UnknownState_StateUnknownWithoutTokenRequest()
    {
        MicrosoftAuthProvider provider = _host.Create();

        AuthorizationException ex = await _host.CaptureAsync<AuthorizationException>(
            () => provider.CompleteAuthorizationAsync(new AuthorizationCallback { Code = "0.AUcode-forged", State = "forged-state" }, Ct));

        Assert.Equal(FTGateErrorCodes.StateUnknown, ex.ErrorCode);
        Assert.Empty(_host.Entra.Requests);
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_AfterTenMinutes_StateExpired()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        MicrosoftAuthProvider provider = _host.Create(time: time);
        AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(MicrosoftTestHost.Redirect), Ct);
        time.Advance(TimeSpan.FromMinutes(11));

        AuthorizationException ex = await _host.CaptureAsync<AuthorizationException>(
            () => provider.CompleteAuthorizationAsync(new AuthorizationCallback { Code = "0.AUcode-late", State = challenge.State }, Ct));

        Assert.Equal(FTGateErrorCodes.StateExpired, ex.ErrorCode);
        Assert.Empty(_host.Entra.Requests);
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_OtherAccountSignsIn_WrongAccountNamingBothAndNothingStored()
    {
        MicrosoftAuthProvider provider = _host.Create();
        _host.Entra.SignedInUser = "Bob@Contoso.com";

        AuthorizationException ex = await _host.CaptureAsync<AuthorizationException>(() => _host.AuthorizeAsync(provider));

        Assert.Equal(FTGateErrorCodes.WrongAccount, ex.ErrorCode);
        Assert.Contains("Bob@Contoso.com", ex.Message, StringComparison.Ordinal);
        Assert.Contains(MicrosoftTestHost.User, ex.Message, StringComparison.Ordinal);
        Assert.Null(await _host.Store.GetAsync("msal/Contoso/ALICE@CONTOSO.COM", Ct));
        Assert.Equal(AuthorizationState.NotAuthorized, (await provider.GetStatusAsync(MicrosoftTestHost.User, Ct)).State);
        _host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_AccountDiffersOnlyInCase_Accepted()
    {
        MicrosoftAuthProvider provider = _host.Create();
        _host.Entra.SignedInUser = "ALICE@contoso.COM";

        AuthorizationResult result = await _host.AuthorizeAsync(provider);

        Assert.Equal("ALICE@contoso.COM", result.UserName);
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_NoRefreshTokenIssued_NoRefreshTokenAndNothingStored()
    {
        MicrosoftAuthProvider provider = _host.Create();
        _host.Entra.IssueRefreshToken = false;

        AuthorizationException ex = await _host.CaptureAsync<AuthorizationException>(() => _host.AuthorizeAsync(provider));

        Assert.Equal(FTGateErrorCodes.NoRefreshToken, ex.ErrorCode);
        Assert.Contains("offline_access", ex.Remedy, StringComparison.Ordinal);
        Assert.Null(await _host.Store.GetAsync("msal/Contoso/ALICE@CONTOSO.COM", Ct));
        _host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_PopScopeNotGranted_ScopeNotGranted()
    {
        MicrosoftAuthProvider provider = _host.Create();
        _host.Entra.GrantedScope = "https://graph.microsoft.com/User.Read";

        AuthorizationException ex = await _host.CaptureAsync<AuthorizationException>(() => _host.AuthorizeAsync(provider));

        Assert.Equal(FTGateErrorCodes.ScopeNotGranted, ex.ErrorCode);
        Assert.Contains("POP.AccessAsUser.All", ex.Remedy, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("invalid_request", "AADSTS50011: The redirect URI 'https://mail.example.com/oauth/callback' specified in the request does not match the redirect URIs configured for the application.", FTGateErrorCodes.RedirectUriMismatch)]
    [InlineData("invalid_request", "AADSTS50194: Application 'x' is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'.", FTGateErrorCodes.TenantMismatch)]
    [InlineData("invalid_request", "AADSTS50020: User account 'bob@outlook.com' from identity provider 'live.com' does not exist in tenant 'Contoso'.", FTGateErrorCodes.TenantMismatch)]
    [InlineData("consent_required", "AADSTS65001: The user or administrator has not consented to use the application.", FTGateErrorCodes.ConsentRequired)]
    [InlineData("access_denied", "AADSTS90094: The grant requires admin permission.", FTGateErrorCodes.ConsentRequired)]
    [InlineData("access_denied", "AADSTS53003: Access has been blocked by Conditional Access policies.", FTGateErrorCodes.ConditionalAccess)]
    [InlineData("interaction_required", "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication.", FTGateErrorCodes.ConditionalAccess)]
    [InlineData("unauthorized_client", "AADSTS700016: Application with identifier 'alice@contoso.com' was not found in the directory 'Contoso'.", FTGateErrorCodes.UnauthorizedClient)]
    [InlineData("access_denied", "AADSTS65004: User declined to consent to access the app.", FTGateErrorCodes.ConsentRequired)]
    [InlineData("server_error", "AADSTS90033: A transient error has occurred. Please try again.", FTGateErrorCodes.ProviderUnavailable)]
    public async Task CompleteAuthorizationAsync_CallbackCarriesEntraError_ClassifiedWithRemedy(string error, string description, string expectedCode)
    {
        MicrosoftAuthProvider provider = _host.Create();
        AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(MicrosoftTestHost.Redirect), Ct);

        AuthorizationException ex = await _host.CaptureAsync<AuthorizationException>(
            () => provider.CompleteAuthorizationAsync(new AuthorizationCallback { Error = error, ErrorDescription = description, State = challenge.State }, Ct));

        Assert.Equal(expectedCode, ex.ErrorCode);
        Assert.Equal(error, ex.Error);
        Assert.False(string.IsNullOrWhiteSpace(ex.Remedy));
        Assert.Contains("Contoso", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_host.Entra.Requests);
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_PublicClientLoopback_RedeemsWithoutSecretAndStoresGrant()
    {
        MicrosoftAuthProvider provider = _host.Create(o => o.ClientSecret = null);
        var loopback = new Uri("http://localhost:8400/");

        AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(loopback), Ct);
        Dictionary<string, string?> q = MicrosoftTestHost.Query(challenge.AuthorizationUri);
        Assert.Equal("S256", q["code_challenge_method"]);
        Assert.Equal("http://localhost:8400/", q["redirect_uri"]);
        Assert.Equal(MicrosoftTestHost.User, q["login_hint"]);
        Assert.Equal("select_account", q["prompt"]);
        Assert.Equal(challenge.State, q["state"]);
        Assert.Contains("https://outlook.office.com/POP.AccessAsUser.All", q["scope"]!.Split(' '));
        string code = _host.Entra.Authorize(q["code_challenge"]!, q["redirect_uri"]!);
        AuthorizationResult result = await provider.CompleteAuthorizationAsync(AuthorizationCallback.FromUri(new Uri($"http://localhost:8400/?code={code}&state={q["state"]}")), Ct);

        Assert.Equal(MicrosoftTestHost.User, result.UserName);
        Assert.All(_host.Entra.Requests, r => Assert.False(r.Form.ContainsKey("client_secret")));
        AccessToken token = await provider.GetAccessTokenAsync(MicrosoftTestHost.User, Ct);
        Assert.False(string.IsNullOrEmpty(token.Value));
        _host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task ImportRefreshTokenAsync_ValidToken_StoresGrantAndSilentWorks()
    {
        MicrosoftAuthProvider provider = _host.Create();
        string imported = _host.Entra.AddValidRefreshToken();

        AuthorizationResult result = await provider.ImportRefreshTokenAsync(MicrosoftTestHost.User, imported, Ct);
        AccessToken token = await provider.RefreshAccessTokenAsync(MicrosoftTestHost.User, Ct);

        Assert.Equal(MicrosoftTestHost.User, result.UserName);
        Assert.Equal(imported, _host.Entra.Requests.First(r => r.GrantType == "refresh_token").Form["refresh_token"]);
        Assert.NotEqual(imported, _host.Entra.LastRefreshTokenPresented);
        Assert.False(token.FromCache);
        _host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task ImportRefreshTokenAsync_RevokedToken_AuthorizationExceptionNothingStored()
    {
        MicrosoftAuthProvider provider = _host.Create();
        string imported = _host.Entra.AddValidRefreshToken();
        _host.Entra.RevokeAll();

        AuthorizationException ex = await _host.CaptureAsync<AuthorizationException>(() => provider.ImportRefreshTokenAsync(MicrosoftTestHost.User, imported, Ct));

        Assert.Equal(FTGateErrorCodes.ReauthorizationRequired, ex.ErrorCode);
        Assert.Contains("AADSTS50173", ex.Message, StringComparison.Ordinal);
        Assert.Null(await _host.Store.GetAsync("msal/Contoso/ALICE@CONTOSO.COM", Ct));
        _host.AssertNoSecretsLeaked(imported);
    }

    [Fact]
    public async Task SignOutAsync_AfterAuthorization_ForgetsGrant()
    {
        MicrosoftAuthProvider provider = _host.Create();
        await _host.AuthorizeAsync(provider);

        await provider.SignOutAsync(MicrosoftTestHost.User, Ct);

        Assert.Equal(AuthorizationState.NotAuthorized, (await provider.GetStatusAsync(MicrosoftTestHost.User, Ct)).State);
        ReauthorizationRequiredException ex = await _host.CaptureAsync<ReauthorizationRequiredException>(() => provider.GetAccessTokenAsync(MicrosoftTestHost.User, Ct));
        Assert.Equal(FTGateErrorCodes.NotAuthorized, ex.ErrorCode);
    }

    [Fact]
    public void GetExchangeAppOnlySetupScript_ObjectIdAndMailbox_ExactPowerShell()
    {
        MicrosoftAuthProvider provider = _host.Create(o =>
        {
            o.Mode = MicrosoftAuthMode.AppOnly;
            o.Mailbox = "o'brien@contoso.com";
        });

        string script = provider.GetExchangeAppOnlySetupScript("6a1f1a3c-2b4d-4e5f-8a9b-0c1d2e3f4a5b");

        string[] lines = script.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains($"New-ServicePrincipal -AppId '{FakeEntra.ClientId}' -ObjectId '6a1f1a3c-2b4d-4e5f-8a9b-0c1d2e3f4a5b' -DisplayName 'FTGate Contoso'", lines);
        Assert.Contains("Add-MailboxPermission -Identity 'o''brien@contoso.com' -User '6a1f1a3c-2b4d-4e5f-8a9b-0c1d2e3f4a5b' -AccessRights FullAccess", lines);
        Assert.Contains("Set-CASMailbox -Identity 'o''brien@contoso.com' -PopEnabled $true", lines);
        Assert.Throws<ArgumentException>(() => provider.GetExchangeAppOnlySetupScript("not-a-guid"));
        Assert.DoesNotContain(MicrosoftTestHost.Secret, script, StringComparison.Ordinal);
    }
}
