using System.Net;
using FTGate.OAuth.Internal;

namespace FTGate.OAuth.Tests.MicrosoftProvider;

public sealed class MicrosoftTokenTests : IDisposable
{
    private const string User = MicrosoftTestHost.User;
    private readonly MicrosoftTestHost _host = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task GetAccessTokenAsync_ValidToken_ServedFromCacheWithoutRequest()
    {
        MicrosoftAuthProvider provider = _host.Create();
        await _host.AuthorizeAsync(provider);

        AccessToken first = await provider.GetAccessTokenAsync(User, Ct);
        AccessToken second = await provider.GetAccessTokenAsync(User, Ct);

        Assert.True(second.FromCache);
        Assert.Equal(first.Value, second.Value);
        Assert.Equal(0, _host.Entra.Count("refresh_token"));
    }

    [Fact]
    public async Task GetAccessTokenAsync_AfterExpiry_RefreshesSilentlyWithRotatedRefreshToken()
    {
        // The first access token lives 60 s: inside MSAL's 5-minute window and the provider's RefreshMargin, so it counts as expired.
        _host.Entra.ExpiresIn = grant => grant == "authorization_code" ? 60 : 3600;
        MicrosoftAuthProvider provider = _host.Create();
        await _host.AuthorizeAsync(provider);
        string firstRefreshToken = _host.Entra.LastIssuedRefreshToken!;

        AccessToken token = await provider.GetAccessTokenAsync(User, Ct);
        AccessToken again = await provider.GetAccessTokenAsync(User, Ct);

        Assert.Equal(1, _host.Entra.Count("refresh_token"));
        Assert.Equal(firstRefreshToken, _host.Entra.LastRefreshTokenPresented);
        Assert.False(token.FromCache);
        Assert.True(token.ExpiresOn > DateTimeOffset.UtcNow.AddMinutes(50));
        Assert.True(again.FromCache);
        Assert.Equal(token.Value, again.Value);
        TokenStoreEntry blob = (await _host.Store.GetAsync("msal/Contoso/ALICE@CONTOSO.COM", Ct))!;
        Assert.Contains(_host.Entra.LastIssuedRefreshToken!, System.Text.Encoding.UTF8.GetString(blob.Value.Span), StringComparison.Ordinal);
        _host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task RefreshAccessTokenAsync_ValidToken_ForcesNewToken()
    {
        MicrosoftAuthProvider provider = _host.Create();
        await _host.AuthorizeAsync(provider);
        AccessToken cached = await provider.GetAccessTokenAsync(User, Ct);

        AccessToken refreshed = await provider.RefreshAccessTokenAsync(User, Ct);

        Assert.Equal(1, _host.Entra.Count("refresh_token"));
        Assert.NotEqual(cached.Value, refreshed.Value);
        Assert.False(refreshed.FromCache);
        Assert.Equal(refreshed.Value, (await provider.GetAccessTokenAsync(User, Ct)).Value);
    }

    [Fact]
    public async Task GetAccessTokenAsync_InvalidGrant_ReauthorizationRequiredAndStatusPersisted()
    {
        MicrosoftAuthProvider provider = _host.Create();
        await _host.AuthorizeAsync(provider);
        _host.Entra.Override = r => r.GrantType == "refresh_token"
            ? FakeEntra.Error(HttpStatusCode.BadRequest, "invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity. The token was issued on 2026-08-01T10:00:00Z and was inactive for 90.00:00:00.", "bad_token")
            : null;

        ReauthorizationRequiredException ex = await _host.CaptureAsync<ReauthorizationRequiredException>(() => provider.RefreshAccessTokenAsync(User, Ct));

        Assert.Equal(FTGateErrorCodes.ReauthorizationRequired, ex.ErrorCode);
        Assert.Equal("invalid_grant", ex.Error);
        Assert.Equal(User, ex.UserName);
        Assert.Contains("90 days", ex.Remedy, StringComparison.Ordinal);
        AuthorizationStatus status = await provider.GetStatusAsync(User, Ct);
        Assert.Equal(AuthorizationState.ReauthorizationRequired, status.State);
        Assert.Contains("AADSTS700082", status.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("Trace ID", status.Reason, StringComparison.Ordinal);
        Assert.Equal(ex.Remedy, status.Remedy);

        // The dead grant is not retried against Microsoft, also not by a restarted process.
        int before = _host.Entra.Requests.Count;
        await _host.CaptureAsync<ReauthorizationRequiredException>(() => _host.Create().GetAccessTokenAsync(User, Ct));
        Assert.Equal(before, _host.Entra.Requests.Count);
        Assert.Contains(_host.Logs.Entries, e => e.Id.Id == 1104);

        // Authorize Now again clears the status.
        _host.Entra.Override = null;
        await _host.AuthorizeAsync(provider);
        Assert.Equal(AuthorizationState.Authorized, (await provider.GetStatusAsync(User, Ct)).State);
        Assert.False(string.IsNullOrEmpty((await provider.RefreshAccessTokenAsync(User, Ct)).Value));
        _host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task GetAccessTokenAsync_RevokedGrant_ReauthorizationRequiredWithPasswordChangeRemedy()
    {
        _host.Entra.ExpiresIn = grant => grant == "authorization_code" ? 60 : 3600;
        MicrosoftAuthProvider provider = _host.Create();
        await _host.AuthorizeAsync(provider);
        _host.Entra.RevokeAll();

        ReauthorizationRequiredException ex = await _host.CaptureAsync<ReauthorizationRequiredException>(() => provider.GetAccessTokenAsync(User, Ct));

        Assert.Contains("AADSTS50173", ex.Message, StringComparison.Ordinal);
        Assert.Contains("password", ex.Remedy, StringComparison.OrdinalIgnoreCase);
        _host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task GetAccessTokenAsync_InvalidClientExpiredSecret_AuthorizationExceptionWithRemedyAndGrantKept()
    {
        MicrosoftAuthProvider provider = _host.Create();
        await _host.AuthorizeAsync(provider);
        _host.Entra.Override = r => r.GrantType == "refresh_token"
            ? FakeEntra.Error(HttpStatusCode.Unauthorized, "invalid_client", $"AADSTS7000222: The provided client secret keys for app '{FakeEntra.ClientId}' are expired. Visit the Azure portal to create new keys for your app.")
            : null;

        AuthorizationException ex = await _host.CaptureAsync<AuthorizationException>(() => provider.RefreshAccessTokenAsync(User, Ct));

        Assert.IsNotType<ReauthorizationRequiredException>(ex);
        Assert.IsNotType<TransientAuthorizationException>(ex);
        Assert.Equal(FTGateErrorCodes.InvalidClient, ex.ErrorCode);
        Assert.Equal("invalid_client", ex.Error);
        Assert.Contains("new secret", ex.Remedy, StringComparison.Ordinal);
        Assert.Equal(AuthorizationState.Authorized, (await provider.GetStatusAsync(User, Ct)).State);
        _host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task GetAccessTokenAsync_Throttled429_TransientWithRetryAfter()
    {
        MicrosoftAuthProvider provider = _host.Create();
        await _host.AuthorizeAsync(provider);
        _host.Entra.Override = r => r.GrantType == "refresh_token"
            ? FakeEntra.Error((HttpStatusCode)429, "temporarily_unavailable", "AADSTS50196: The server terminated an operation because it encountered a client request loop.", retryAfter: TimeSpan.FromSeconds(30))
            : null;

        TransientAuthorizationException ex = await _host.CaptureAsync<TransientAuthorizationException>(() => provider.RefreshAccessTokenAsync(User, Ct));

        Assert.Equal(TimeSpan.FromSeconds(30), ex.RetryAfter);
        Assert.Equal(FTGateErrorCodes.ProviderUnavailable, ex.ErrorCode);

        // MSAL now throttles locally (MsalThrottledServiceException): still transient, still no request.
        int before = _host.Entra.Requests.Count;
        TransientAuthorizationException again = await _host.CaptureAsync<TransientAuthorizationException>(() => provider.RefreshAccessTokenAsync(User, Ct));
        Assert.Equal(before, _host.Entra.Requests.Count);
        Assert.NotNull(again.RetryAfter);
        Assert.Equal(AuthorizationState.Authorized, (await provider.GetStatusAsync(User, Ct)).State);
        _host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task GetAccessTokenAsync_ServiceUnavailable503_Transient()
    {
        MicrosoftAuthProvider provider = _host.Create();
        await _host.AuthorizeAsync(provider);
        _host.Entra.Override = r => r.GrantType == "refresh_token"
            ? new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Content = new StringContent("upstream unavailable") }
            : null;

        TransientAuthorizationException ex = await _host.CaptureAsync<TransientAuthorizationException>(() => provider.RefreshAccessTokenAsync(User, Ct));

        Assert.Equal(FTGateErrorCodes.ProviderUnavailable, ex.ErrorCode);
    }

    [Fact]
    public async Task GetAccessTokenAsync_NeverAuthorized_NotAuthorized()
    {
        MicrosoftAuthProvider provider = _host.Create();

        ReauthorizationRequiredException ex = await _host.CaptureAsync<ReauthorizationRequiredException>(() => provider.GetAccessTokenAsync(User, Ct));

        Assert.Equal(FTGateErrorCodes.NotAuthorized, ex.ErrorCode);
        Assert.Empty(_host.Entra.Requests);
    }

    [Fact]
    public async Task GetAccessTokenAsync_NewProviderInstanceOverSameStore_KeepsWorking()
    {
        await _host.AuthorizeAsync(_host.Create());

        // A restart: new provider, new MSAL instance, same store.
        MicrosoftAuthProvider restarted = _host.Create();
        AccessToken fromStore = await restarted.GetAccessTokenAsync(User, Ct);
        AccessToken refreshed = await restarted.RefreshAccessTokenAsync(User, Ct);
        AccessToken afterSecondRestart = await _host.Create().GetAccessTokenAsync(User, Ct);

        Assert.Equal(0, _host.Entra.Requests.Count(r => r.GrantType == "refresh_token") - 1);
        Assert.NotEqual(fromStore.Value, refreshed.Value);
        Assert.Equal(refreshed.Value, afterSecondRestart.Value);
        Assert.Equal(AuthorizationState.Authorized, (await restarted.GetStatusAsync(User, Ct)).State);
        _host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task RefreshAccessTokenAsync_OtherProcessRefreshesMeanwhile_ReReadsStoreBeforeWriting()
    {
        await _host.AuthorizeAsync(_host.Create());

        // Two processes that share the store but not its grant lock (a host store without one): the write-conflict merge is the last line of defence.
        MicrosoftAuthProvider processA = _host.Create(grantLock: new InProcessGrantLock());
        MicrosoftAuthProvider processB = _host.Create(grantLock: new InProcessGrantLock());
        int calls = 0;

        // While A's refresh is at Microsoft, B refreshes and stores its rotated token first: A's write then conflicts.
        _host.Entra.OnRefresh = async _ =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                await processB.RefreshAccessTokenAsync(User, Ct);
            }
        };
        AccessToken a = await processA.RefreshAccessTokenAsync(User, Ct);
        _host.Entra.OnRefresh = null;

        Assert.Equal(2, _host.Entra.Count("refresh_token"));
        string stored = System.Text.Encoding.UTF8.GetString((await _host.Store.GetAsync("msal/Contoso/ALICE@CONTOSO.COM", Ct))!.Value.Span);
        Assert.Contains(_host.Entra.LastIssuedRefreshToken!, stored, StringComparison.Ordinal);

        // Both processes, and a third one, keep refreshing with the stored (newest) refresh token.
        await processB.RefreshAccessTokenAsync(User, Ct);
        Assert.Contains(_host.Entra.LastRefreshTokenPresented!, stored, StringComparison.Ordinal);
        await _host.Create().RefreshAccessTokenAsync(User, Ct);
        await processA.RefreshAccessTokenAsync(User, Ct);
        Assert.False(string.IsNullOrEmpty(a.Value));
        _host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task RefreshAccessTokenAsync_StoreWriteConflict_MergesAndRetriesWithoutLosingRefreshToken()
    {
        var store = new InterceptingStore(new InMemoryTokenStore());
        using var host = new MicrosoftTestHost { Store = store };
        await host.AuthorizeAsync(host.Create());

        // Two processes that share the store but not its grant lock: the write-conflict merge is the last line of defence.
        MicrosoftAuthProvider processA = host.Create(grantLock: new InProcessGrantLock());
        MicrosoftAuthProvider processB = host.Create(grantLock: new InProcessGrantLock());

        // Just before A writes its refreshed cache, B refreshes and writes: A's write carries a stale version and conflicts.
        store.BeforeSet = async key =>
        {
            if (key.StartsWith("msal/", StringComparison.Ordinal))
            {
                store.BeforeSet = null;
                await processB.RefreshAccessTokenAsync(MicrosoftTestHost.User, Ct);
            }
        };
        await processA.RefreshAccessTokenAsync(MicrosoftTestHost.User, Ct);

        Assert.Contains(host.Logs.Entries, e => e.Id.Id == 1106);
        Assert.True(store.Conflicts >= 1);
        string[] issued = [.. host.Entra.IssuedRefreshTokens];
        string refreshTokenOfA = issued[^2];
        string stored = System.Text.Encoding.UTF8.GetString((await store.GetAsync("msal/Contoso/ALICE@CONTOSO.COM", Ct))!.Value.Span);
        Assert.Contains(refreshTokenOfA, stored, StringComparison.Ordinal);

        // Every process keeps refreshing with a refresh token Microsoft still accepts.
        await processB.RefreshAccessTokenAsync(MicrosoftTestHost.User, Ct);
        Assert.Equal(refreshTokenOfA, host.Entra.LastRefreshTokenPresented);
        await host.Create().RefreshAccessTokenAsync(MicrosoftTestHost.User, Ct);
        await processA.RefreshAccessTokenAsync(MicrosoftTestHost.User, Ct);
        host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task GetAccessTokenAsync_HundredConcurrentCallers_OneTokenRequest()
    {
        _host.Entra.ExpiresIn = grant => grant == "authorization_code" ? 60 : 3600;
        await _host.AuthorizeAsync(_host.Create());
        MicrosoftAuthProvider provider = _host.Create();

        AccessToken[] tokens = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(() => provider.GetAccessTokenAsync(User, Ct), Ct)));

        Assert.Equal(1, _host.Entra.Count("refresh_token"));
        Assert.Single(tokens.Select(t => t.Value).Distinct());
    }

    [Fact]
    public async Task GetAccessTokenAsync_AppOnly_DefaultScopeAndMailboxIsSaslUser()
    {
        MicrosoftAuthProvider provider = _host.Create(o =>
        {
            o.Mode = MicrosoftAuthMode.AppOnly;
            o.TenantId = FakeEntra.TenantGuid;
            o.UserName = null;
            o.Mailbox = "shared@contoso.com";
        });

        AccessToken token = await provider.GetAccessTokenAsync("shared@contoso.com", Ct);
        AccessToken again = await provider.GetAccessTokenAsync("shared@contoso.com", Ct);

        EntraRequest request = Assert.Single(_host.Entra.Requests);
        Assert.Equal("client_credentials", request.GrantType);
        Assert.Equal("https://outlook.office365.com/.default", request.Form["scope"]);
        Assert.Equal(MicrosoftTestHost.Secret, request.Form["client_secret"]);
        Assert.Contains(FakeEntra.TenantGuid, request.Path, StringComparison.Ordinal);
        Assert.Equal("shared@contoso.com", token.UserName);
        Assert.Equal("shared@contoso.com", provider.UserName);
        Assert.True(again.FromCache);
        await Assert.ThrowsAsync<AuthorizationException>(() => provider.BeginAuthorizationAsync(new AuthorizationRequest(MicrosoftTestHost.Redirect), Ct));
        _host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task GetStatusAsync_ClientSecretExpiresWithin30Days_WarnsWithTheEntraStep()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
        MicrosoftAuthProvider far = _host.Create(o => o.ClientSecretExpiresOn = time.GetUtcNow().AddDays(31), time);
        MicrosoftAuthProvider near = _host.Create(o => o.ClientSecretExpiresOn = time.GetUtcNow().AddDays(10), time, name: "Near");

        AuthorizationStatus farStatus = await far.GetStatusAsync(MicrosoftTestHost.User, Ct);
        AuthorizationStatus nearStatus = await near.GetStatusAsync(MicrosoftTestHost.User, Ct);

        Assert.Empty(farStatus.Warnings);
        string warning = Assert.Single(nearStatus.Warnings);
        Assert.Contains("10 day(s) left", warning, StringComparison.Ordinal);
        Assert.Contains("Certificates & secrets", warning, StringComparison.Ordinal);
        Assert.DoesNotContain(MicrosoftTestHost.Secret, warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAccessTokenAsync_AppOnlyWithCertificate_SendsASignedClientAssertionAndNoSecret()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(
            "CN=FTGate app-only test", rsa, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        using System.Security.Cryptography.X509Certificates.X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        string pfx = Path.Combine(Path.GetTempPath(), $"ftgate-app-{Guid.NewGuid():N}.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pfx, "pfx-password"), Ct);
        try
        {
            MicrosoftAuthProvider provider = _host.Create(o =>
            {
                o.Mode = MicrosoftAuthMode.AppOnly;
                o.TenantId = FakeEntra.TenantGuid;
                o.ClientSecret = null;
                o.CertificatePath = pfx;
                o.CertificatePassword = "pfx-password";
                o.UserName = null;
                o.Mailbox = "shared@contoso.com";
            });

            AccessToken token = await provider.GetAccessTokenAsync("shared@contoso.com", Ct);

            EntraRequest sent = Assert.Single(_host.Entra.Requests);
            Assert.Equal("client_credentials", sent.GrantType);
            Assert.False(sent.Form.ContainsKey("client_secret"));
            Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", sent.Form["client_assertion_type"]);
            string[] jwt = sent.Form["client_assertion"].Split('.');
            Assert.Equal(3, jwt.Length);
            byte[] signed = System.Text.Encoding.ASCII.GetBytes(jwt[0] + "." + jwt[1]);
            byte[] signature = Convert.FromBase64String(Pad(jwt[2].Replace('-', '+').Replace('_', '/')));
            Assert.True(rsa.VerifyData(signed, signature, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1)
                || rsa.VerifyData(signed, signature, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pss));
            string claims = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(Pad(jwt[1].Replace('-', '+').Replace('_', '/'))));
            Assert.Contains(FakeEntra.ClientId, claims, StringComparison.Ordinal);
            Assert.Equal("shared@contoso.com", token.UserName);
            _host.AssertNoSecretsLeaked();
        }
        finally
        {
            File.Delete(pfx);
        }

        static string Pad(string s) => s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
    }

    [Fact]
    public async Task GetAccessTokenAsync_AppOnlyInvalidClient_AuthorizationException()
    {
        MicrosoftAuthProvider provider = _host.Create(o =>
        {
            o.Mode = MicrosoftAuthMode.AppOnly;
            o.TenantId = FakeEntra.TenantGuid;
            o.Mailbox = "shared@contoso.com";
        });
        _host.Entra.Override = _ => FakeEntra.Error(HttpStatusCode.Unauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app 'x'.");

        AuthorizationException ex = await _host.CaptureAsync<AuthorizationException>(() => provider.GetAccessTokenAsync("shared@contoso.com", Ct));

        Assert.Equal(FTGateErrorCodes.InvalidClient, ex.ErrorCode);
        Assert.Contains("Value", ex.Remedy, StringComparison.Ordinal);
        _host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task AuthorizeWithDeviceCodeAsync_PendingThenApproved_AuthorizesAndReportsCode()
    {
        MicrosoftAuthProvider provider = _host.Create(o => o.ClientSecret = null);
        _host.Entra.DeviceCodeOutcomes.Enqueue("authorization_pending");
        DeviceCodeInfo? shown = null;

        AuthorizationResult result = await provider.AuthorizeWithDeviceCodeAsync((info, _) => { shown = info; return Task.CompletedTask; }, Ct);

        Assert.NotNull(shown);
        Assert.Equal("FTG8DX9KQ", shown.UserCode);
        Assert.Equal(new Uri("https://microsoft.com/devicelogin"), shown.VerificationUri);
        Assert.Equal(2, _host.Entra.Count("urn:ietf:params:oauth:grant-type:device_code") + _host.Entra.Count("device_code"));
        Assert.Equal(User, result.UserName);
        Assert.False(string.IsNullOrEmpty((await provider.RefreshAccessTokenAsync(User, Ct)).Value));
        _host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task AuthorizeWithDeviceCodeAsync_CodeExpires_DeviceCodeExpired()
    {
        MicrosoftAuthProvider provider = _host.Create(o => o.ClientSecret = null);
        _host.Entra.DeviceCodeOutcomes.Enqueue("authorization_pending");
        _host.Entra.DeviceCodeOutcomes.Enqueue("expired_token");

        AuthorizationException ex = await _host.CaptureAsync<AuthorizationException>(() => provider.AuthorizeWithDeviceCodeAsync((_, _) => Task.CompletedTask, Ct));

        Assert.Equal(FTGateErrorCodes.DeviceCodeExpired, ex.ErrorCode);
        Assert.Null(await _host.Store.GetAsync("msal/Contoso/ALICE@CONTOSO.COM", Ct));
        _host.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task AuthorizeWithDeviceCodeAsync_PublicClientFlowsDisabled_InvalidClientWithAllowPublicClientFlowsRemedy()
    {
        MicrosoftAuthProvider provider = _host.Create(o => o.ClientSecret = null);
        _host.Entra.DeviceCodeOutcomes.Enqueue("no_public");

        AuthorizationException ex = await _host.CaptureAsync<AuthorizationException>(() => provider.AuthorizeWithDeviceCodeAsync((_, _) => Task.CompletedTask, Ct));

        Assert.Equal(FTGateErrorCodes.InvalidClient, ex.ErrorCode);
        Assert.Contains("Allow public client flows", ex.Remedy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuthorizeWithDeviceCodeAsync_Cancelled_StopsPolling()
    {
        MicrosoftAuthProvider provider = _host.Create(o => o.ClientSecret = null);
        for (int i = 0; i < 100; i++)
        {
            _host.Entra.DeviceCodeOutcomes.Enqueue("authorization_pending");
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        int polls = 0;
        _host.Entra.Override = request =>
        {
            if (request.GrantType == "device_code" && Interlocked.Increment(ref polls) == 1)
            {
                cts.Cancel(); // the user gives up while the first poll is answered "authorization_pending"
            }

            return null;
        };
        Task<AuthorizationResult> run = provider.AuthorizeWithDeviceCodeAsync((_, _) => Task.CompletedTask, cts.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(1, Volatile.Read(ref polls)); // the flow ended at the cancellation: no poll after it
    }

    [Fact]
    public async Task AuthorizeWithDeviceCodeAsync_ConfidentialClient_ConfigurationError()
    {
        MicrosoftAuthProvider provider = _host.Create();

        FTGateConfigurationException ex = await Assert.ThrowsAsync<FTGateConfigurationException>(() => provider.AuthorizeWithDeviceCodeAsync((_, _) => Task.CompletedTask, Ct));

        Assert.Contains("Allow public client flows", ex.Remedy, StringComparison.Ordinal);
        Assert.Empty(_host.Entra.Requests);
    }

    [Fact]
    public void MsalCacheBlob_NoRefreshTokenSection_False()
    {
        Assert.False(MsalCacheBlob.HasRefreshToken("""{"AccessToken":{},"RefreshToken":{}}"""u8, null));
        Assert.True(MsalCacheBlob.HasRefreshToken("""{"RefreshToken":{"k":{"home_account_id":"a.b","secret":"x"}}}"""u8, "A.B"));
        Assert.False(MsalCacheBlob.HasRefreshToken("""{"RefreshToken":{"k":{"home_account_id":"a.b","secret":""}}}"""u8, null));
    }
}

internal sealed class InterceptingStore(ITokenStore inner) : ITokenStore
{
    private int _conflicts;

    public Func<string, Task>? BeforeSet { get; set; }

    public int Conflicts => _conflicts;

    public Task<TokenStoreEntry?> GetAsync(string key, CancellationToken cancellationToken = default) => inner.GetAsync(key, cancellationToken);

    public async Task<string> SetAsync(string key, ReadOnlyMemory<byte> value, string? expectedVersion, CancellationToken cancellationToken = default)
    {
        if (BeforeSet is { } hook)
        {
            await hook(key);
        }

        try
        {
            return await inner.SetAsync(key, value, expectedVersion, cancellationToken);
        }
        catch (TokenStoreConcurrencyException)
        {
            Interlocked.Increment(ref _conflicts);
            throw;
        }
    }

    public Task<bool> RemoveAsync(string key, string? expectedVersion = null, CancellationToken cancellationToken = default) => inner.RemoveAsync(key, expectedVersion, cancellationToken);
}
