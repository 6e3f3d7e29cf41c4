using System.Net;
using System.Security.Claims;
using Duende.IdentityModel.Client;
using FTGate.OAuth.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FTGate.OAuth;

/// <summary>
/// Any OAuth 2.0 / OpenID Connect authorization server (Yahoo, Fastmail, Zoho, Keycloak, a Dovecot-fronted server), on
/// Duende.IdentityModel: discovery, authorization code + PKCE + <c>state</c>, the device authorization grant (RFC 8628),
/// client credentials, refresh with rotation, and revocation (RFC 7009) on sign-out.
/// </summary>
/// <remarks>
/// Tokens live in the <see cref="ITokenStore"/>; a failed refresh never overwrites the stored refresh token, and a rotated
/// one is persisted with optimistic concurrency. <c>invalid_grant</c> marks the account "re-authorization needed";
/// 429/5xx and network failures are transient. Concurrent callers share one refresh.
/// </remarks>
public sealed class OAuth2AuthProvider : IAuthProvider, IAppOnlyAuthProvider
{
    private static readonly string[] s_defaultDelegatedScopes = ["openid", "email", "offline_access"];

    private static readonly ProviderRemedies s_remedies = new()
    {
        InvalidGrant = "Run Authorize Now (or the device sign-in) again. The refresh token was revoked, expired, or already used (servers that rotate refresh tokens reject a used one and may revoke the whole grant, for example when two installations share one token store without concurrency).",
        InvalidClient = "Check ClientId, ClientSecret and ClientAuthentication (client_secret_basic or client_secret_post) against the client registered at the authorization server; the secret may have expired or been rotated.",
        UnauthorizedClient = "The client is not allowed this grant type: enable it for the client at the authorization server (authorization_code + refresh_token, device_code, or client_credentials).",
        InvalidScope = "Request only scopes the server knows and allows for this client (Scopes option); remove it to use the default 'openid email offline_access'.",
        AccessDenied = "The user declined, or a policy at the authorization server blocked the client; sign in again and allow access.",
        CodeRejected = "The code expired, was already used, or the PKCE verifier or redirect URI did not match: click Authorize Now again and finish promptly.",
    };

    private readonly OAuth2AuthOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly HttpClient _http;
    private readonly GrantStore _grants;
    private readonly PendingAuthorizationStore _pending;
    private readonly SingleFlightTokenCache _cache;
    private readonly RefreshTokenGrantFlow _flow;
    private readonly SemaphoreSlim _discoveryLock = new(1, 1);
    private Endpoints? _endpoints;

    /// <summary>Creates the provider. Normally called by <c>AddOAuth2</c>.</summary>
    /// <param name="name">The provider's name.</param>
    /// <param name="options">The options, by provider name (validated at start).</param>
    /// <param name="tokenStore">Where tokens and pending authorizations are kept.</param>
    /// <param name="timeProvider">The clock for expiry, refresh and device-flow polling.</param>
    /// <param name="loggerFactory">Logging; <see langword="null"/> logs nothing.</param>
    /// <param name="httpClientFactory">The HTTP seam: the named client <c>FTGate.OAuth.&lt;name&gt;</c> (proxies, resilience, tests); <see langword="null"/> uses a shared client.</param>
    /// <param name="grantLock">Serializes a grant's refresh across processes; <see langword="null"/> picks the one that fits <paramref name="tokenStore"/>.</param>
    public OAuth2AuthProvider(
        string name,
        IOptionsMonitor<OAuth2AuthOptions> options,
        ITokenStore tokenStore,
        TimeProvider timeProvider,
        ILoggerFactory? loggerFactory = null,
        IHttpClientFactory? httpClientFactory = null,
        IGrantLock? grantLock = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(tokenStore);
        ArgumentNullException.ThrowIfNull(timeProvider);
        Name = name;
        IGrantLock grants = grantLock ?? GrantLocks.For(tokenStore);
        tokenStore = GuardedTokenStore.Wrap(tokenStore);
        _options = options.Get(name);
        _time = timeProvider;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("FTGate.OAuth.OAuth2AuthProvider");
        _http = OAuthHttp.Client(httpClientFactory, name);
        _grants = new GrantStore(tokenStore, name, () => Binding);
        _pending = new PendingAuthorizationStore(tokenStore, timeProvider);
        _cache = new SingleFlightTokenCache(timeProvider);
        var endpoint = new DuendeTokenEndpoint(
            _http,
            async ct => (await GetEndpointsAsync(ct).ConfigureAwait(false)).Token,
            () => new GrantClient(_options.ClientId!, _options.ClientSecret, CredentialStyle), // ClientId is required: validated at start (OAuth2AuthOptions validator)
            timeProvider);
        _flow = new RefreshTokenGrantFlow(
            name,
            _grants,
            new GrantEndpoint(name, endpoint, new RemediesErrorMapper(name, s_remedies), timeProvider, _logger),
            grants,
            timeProvider,
            _logger,
            _options.RefreshMargin,
            NotAuthorizedRemedy);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public AuthProviderKind Kind => AuthProviderKind.OAuth2;

    /// <inheritdoc />
    public string? UserName => _options.UserName;

    /// <summary>Where this provider's grants may be used (see <see cref="GrantBinding"/>): every endpoint a secret is sent to.</summary>
    internal string Binding => GrantBinding.Of(
        Kind,
        Name,
        _options.ClientId,
        _options.Authority,
        _options.TokenEndpoint,
        _options.AuthorizationEndpoint,
        _options.DeviceAuthorizationEndpoint,
        _options.RevocationEndpoint);

    /// <inheritdoc />
    public bool IsAppOnly => IsClientCredentials;

    private bool IsClientCredentials => _options.Mode == OAuth2GrantMode.ClientCredentials;

    private IReadOnlyList<string> Scopes =>
        _options.Scopes.Count > 0 ? [.. _options.Scopes] : IsClientCredentials ? [] : s_defaultDelegatedScopes;

    private string? ScopeParameter => Scopes.Count == 0 ? null : string.Join(' ', Scopes);

    private ClientCredentialStyle CredentialStyle =>
        string.IsNullOrEmpty(_options.ClientSecret) || _options.ClientAuthentication == ClientAuthenticationMethod.ClientSecretPost
            ? ClientCredentialStyle.PostBody
            : ClientCredentialStyle.AuthorizationHeader;

    /// <inheritdoc />
    public async Task<AuthorizationChallenge> BeginAuthorizationAsync(AuthorizationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfClientCredentials("Authorize Now");
        string userName = request.UserName ?? _options.UserName
            ?? throw new FTGateConfigurationException($"Provider '{Name}': UserName is required.", "Set UserName to the account that signs in.");
        Endpoints endpoints = await GetEndpointsAsync(cancellationToken).ConfigureAwait(false);
        if (endpoints.Authorization is null)
        {
            throw new FTGateConfigurationException(
                $"Provider '{Name}': the authorization server has no authorization endpoint (none configured and none in its discovery document).",
                "Set AuthorizationEndpoint, or use the device sign-in if the server offers it.");
        }

        (string verifier, string challenge) = PendingAuthorizationStore.NewPkce();
        string state = PendingAuthorizationStore.NewState();
        string nonce = PendingAuthorizationStore.NewState();
        PendingAuthorization pending = await _pending.CreateAsync(
            Name,
            userName,
            request.RedirectUri,
            verifier,
            state,
            new Dictionary<string, string> { ["nonce"] = nonce },
            cancellationToken).ConfigureAwait(false);

        string url = new RequestUrl(endpoints.Authorization).CreateAuthorizeUrl(
            clientId: _options.ClientId!, // ClientId is required: validated at start (OAuth2AuthOptions validator)
            responseType: "code",
            scope: ScopeParameter,
            redirectUri: request.RedirectUri.OriginalString,
            state: state,
            nonce: Scopes.Contains("openid") ? nonce : null,
            loginHint: userName,
            codeChallenge: challenge,
            codeChallengeMethod: "S256");
        ProviderLog.OAuth2AuthorizationStarted(_logger, Name, userName);
        return new AuthorizationChallenge(new Uri(url), state, request.RedirectUri, pending.ExpiresOn);
    }

    /// <inheritdoc />
    public async Task<AuthorizationResult> CompleteAuthorizationAsync(AuthorizationCallback callback, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(callback);
        ThrowIfClientCredentials("Authorize Now");
        PendingAuthorization pending = await _pending.ConsumeAsync(Name, callback.State, cancellationToken).ConfigureAwait(false);
        if (callback.Error is not null)
        {
            throw CallbackErrors.FromCallback(Name, callback, s_remedies);
        }

        if (string.IsNullOrEmpty(callback.Code))
        {
            throw CallbackErrors.NoCode(Name);
        }

        Endpoints endpoints = await GetEndpointsAsync(cancellationToken).ConfigureAwait(false);
        if (callback.Issuer is { } iss && endpoints.Issuer is { } expected
            && !string.Equals(iss.TrimEnd('/'), expected.TrimEnd('/'), StringComparison.Ordinal))
        {
            throw new AuthorizationException(
                FTGateErrorCodes.IssuerMismatch,
                $"Provider '{Name}': the callback came from issuer '{iss}', but this provider uses '{expected}' (RFC 9207); the code was not redeemed.",
                "Make sure the redirect URI of this provider is not shared with another authorization server, then click Authorize Now again.",
                Name);
        }

        DateTimeOffset now = _time.GetUtcNow();
        TokenGrantResponse response = await _flow.Endpoint.RedeemCodeAsync(
            new CodeRedemption(callback.Code, pending.RedirectUri, pending.CodeVerifier),
            pending.UserName,
            cancellationToken).ConfigureAwait(false);
        pending.Items.TryGetValue("nonce", out string? nonce);
        return await FinishInteractiveAsync(response, pending.UserName, nonce, now, endpoints, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<AuthorizationResult> AuthorizeWithDeviceCodeAsync(Func<DeviceCodeInfo, CancellationToken, Task> onDeviceCode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(onDeviceCode);
        ThrowIfClientCredentials("The device sign-in");
        string userName = _options.UserName
            ?? throw new FTGateConfigurationException($"Provider '{Name}': UserName is required.", "Set UserName to the account that signs in.");
        Endpoints endpoints = await GetEndpointsAsync(cancellationToken).ConfigureAwait(false);
        if (endpoints.Device is null)
        {
            throw new NotSupportedException(
                $"Provider '{Name}': the authorization server offers no device authorization endpoint (RFC 8628), neither configured (DeviceAuthorizationEndpoint) nor in its discovery document. Use Authorize Now.");
        }

        DeviceAuthorizationResponse device = await RequestDeviceAuthorizationAsync(endpoints.Device, cancellationToken).ConfigureAwait(false);
        if (device.IsError || string.IsNullOrEmpty(device.DeviceCode) || string.IsNullOrEmpty(device.UserCode) || device.VerificationUri is null)
        {
            TokenEndpointFailure failure = DuendeTokenEndpoint.ToFailure(device, _time.GetUtcNow());
            ProviderLog.OAuth2TokenRequestFailed(_logger, Name, userName, failure.Describe());
            throw TokenErrorClassifier.ForApp(Name, failure, s_remedies, "the device authorization request");
        }

        DateTimeOffset expiresOn = _time.GetUtcNow() + TimeSpan.FromSeconds(device.ExpiresIn is > 0 ? device.ExpiresIn.Value : 600);
        var info = new DeviceCodeInfo(new Uri(device.VerificationUri), device.UserCode, expiresOn)
        {
            VerificationUriComplete = device.VerificationUriComplete is { Length: > 0 } complete ? new Uri(complete) : null,
        };
        ProviderLog.OAuth2DeviceCodeIssued(_logger, Name, info.VerificationUri, expiresOn);
        await onDeviceCode(info, cancellationToken).ConfigureAwait(false);

        TimeSpan interval = TimeSpan.FromSeconds(device.Interval > 0 ? device.Interval : 5);
        while (true)
        {
            await Task.Delay(interval, _time, cancellationToken).ConfigureAwait(false);
            if (_time.GetUtcNow() >= expiresOn)
            {
                throw DeviceCodeExpired();
            }

            DateTimeOffset now = _time.GetUtcNow();
            var request = new DeviceTokenRequest
            {
                Address = endpoints.Token,
                ClientId = _options.ClientId!, // ClientId is required: validated at start (OAuth2AuthOptions validator)
                ClientSecret = _options.ClientSecret,
                ClientCredentialStyle = CredentialStyle,
                DeviceCode = device.DeviceCode,
            };
            TokenEndpointResult result = await DuendeTokenEndpoint.SendAsync(request, r => _http.RequestDeviceTokenAsync(r, cancellationToken), _http, _time, cancellationToken)
                .ConfigureAwait(false);
            if (result.Response is { } token)
            {
                return await FinishInteractiveAsync(token, userName, nonce: null, now, endpoints, cancellationToken).ConfigureAwait(false);
            }

            TokenEndpointFailure failure = result.Failure ?? new TokenEndpointFailure { InvalidResponse = true };
            switch (failure.Error)
            {
                case "authorization_pending":
                    continue;
                case "slow_down":
                    interval += TimeSpan.FromSeconds(5); // RFC 8628 §3.5
                    ProviderLog.OAuth2DeviceSlowDown(_logger, Name, interval);
                    continue;
                case "expired_token":
                    throw DeviceCodeExpired();
                default:
                    ProviderLog.OAuth2TokenRequestFailed(_logger, Name, userName, failure.Describe());
                    throw TokenErrorClassifier.ForApp(Name, failure, s_remedies, "the device sign-in");
            }
        }
    }

    /// <inheritdoc />
    public Task<AccessToken> GetAccessTokenAsync(string userName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        return IsClientCredentials
            ? _cache.GetAsync(userName, _options.RefreshMargin, (Provider: this, User: userName), static (s, _) => s.Provider.AcquireClientCredentialsTokenAsync(s.User), cancellationToken)
            : _flow.GetAccessTokenAsync(userName, cancellationToken);
    }

    /// <inheritdoc />
    public Task<AccessToken> RefreshAccessTokenAsync(string userName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        return IsClientCredentials
            ? _cache.RefreshAsync(userName, _ => AcquireClientCredentialsTokenAsync(userName), cancellationToken)
            : _flow.RefreshAccessTokenAsync(userName, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<AuthorizationStatus> GetStatusAsync(string userName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        if (IsClientCredentials)
        {
            return new AuthorizationStatus(Name, userName, AuthorizationState.Authorized) { Scopes = Scopes };
        }

        return await _grants.GetStatusAsync(userName, warnings: null, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task SignOutAsync(string userName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        _cache.Invalidate(userName);
        _flow.Invalidate(userName);
        if (IsClientCredentials)
        {
            return;
        }

        StoredGrant? grant = await _grants.GetAsync(userName, cancellationToken).ConfigureAwait(false);
        bool revoked = false;
        if (grant is not null && _grants.IsBound(grant))
        {
            revoked = await RevokeQuietlyAsync(userName, grant.RefreshToken ?? grant.AccessToken, grant.RefreshToken is null ? "access_token" : "refresh_token", cancellationToken)
                .ConfigureAwait(false);
        }

        await _grants.RemoveAsync(userName, cancellationToken).ConfigureAwait(false);
        ProviderLog.OAuth2SignedOut(_logger, Name, userName, revoked);
    }

    private async Task<AuthorizationResult> FinishInteractiveAsync(
        TokenGrantResponse response,
        string userName,
        string? nonce,
        DateTimeOffset issuedAt,
        Endpoints endpoints,
        CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, string> claims = IdTokenClaims.Read(response.IdToken);
        if (nonce is not null && claims.TryGetValue("nonce", out string? returnedNonce) && !string.Equals(nonce, returnedNonce, StringComparison.Ordinal))
        {
            throw new AuthorizationException(
                FTGateErrorCodes.ProviderError,
                $"Provider '{Name}': the id_token's nonce does not match the Authorize Now request; the tokens were discarded.",
                "Click Authorize Now again; if it repeats, the redirect URI may be shared with another application.",
                Name);
        }

        string? signedIn = IdTokenClaims.AccountName(claims)
            ?? await ReadUserInfoAccountAsync(endpoints, response.AccessToken, cancellationToken).ConfigureAwait(false);
        if (signedIn is null)
        {
            ProviderLog.OAuth2NoAccountClaim(_logger, Name, userName);
        }
        else if (!string.Equals(signedIn, userName, StringComparison.OrdinalIgnoreCase))
        {
            ProviderLog.OAuth2WrongAccount(_logger, Name, signedIn, userName);
            await RevokeQuietlyAsync(userName, response.RefreshToken ?? response.AccessToken, response.RefreshToken is null ? "access_token" : "refresh_token", CancellationToken.None)
                .ConfigureAwait(false);
            throw new AuthorizationException(
                FTGateErrorCodes.WrongAccount,
                $"Provider '{Name}': {signedIn} signed in, but this provider is configured for {userName}.",
                $"Sign in again as {userName}, or change UserName.",
                Name);
        }

        if (string.IsNullOrEmpty(response.RefreshToken))
        {
            throw new AuthorizationException(
                FTGateErrorCodes.NoRefreshToken,
                $"Provider '{Name}': the authorization server issued no refresh token for {userName}, so mail collection would stop when the access token expires.",
                "Request the 'offline_access' scope (or the server's equivalent) and make sure the client is allowed the refresh_token grant, then authorize again.",
                Name);
        }

        IReadOnlyList<string> scopes = response.Scopes ?? Scopes;
        StoredGrant grant = await _flow.SaveAuthorizationAsync(userName, response, scopes, issuedAt, cancellationToken).ConfigureAwait(false);
        ProviderLog.OAuth2AuthorizationCompleted(_logger, Name, userName, grant.AccessTokenExpiresOn);
        return new AuthorizationResult(Name, userName, scopes, grant.AccessTokenExpiresOn);
    }

    private async Task<string?> ReadUserInfoAccountAsync(Endpoints endpoints, string? accessToken, CancellationToken cancellationToken)
    {
        if (endpoints.UserInfo is null || string.IsNullOrEmpty(accessToken))
        {
            return null;
        }

        UserInfoResponse userInfo = await _http.GetUserInfoAsync(new UserInfoRequest { Address = endpoints.UserInfo, Token = accessToken }, cancellationToken)
            .ConfigureAwait(false);
        if (userInfo.IsError)
        {
            return null;
        }

        Dictionary<string, string> claims = [];
        foreach (Claim claim in userInfo.Claims)
        {
            claims.TryAdd(claim.Type, claim.Value);
        }

        return IdTokenClaims.AccountName(claims);
    }

    private async Task<AccessToken> AcquireClientCredentialsTokenAsync(string userName)
    {
        Endpoints endpoints = await GetEndpointsAsync(CancellationToken.None).ConfigureAwait(false);
        DateTimeOffset now = _time.GetUtcNow();
        var request = new ClientCredentialsTokenRequest
        {
            Address = endpoints.Token,
            ClientId = _options.ClientId!, // ClientId is required: validated at start (OAuth2AuthOptions validator)
            ClientSecret = _options.ClientSecret,
            ClientCredentialStyle = CredentialStyle,
            Scope = ScopeParameter,
        };
        TokenEndpointResult result = await DuendeTokenEndpoint.SendAsync(request, r => _http.RequestClientCredentialsTokenAsync(r, CancellationToken.None), _http, _time, CancellationToken.None)
            .ConfigureAwait(false);
        if (result.Response is not { } response)
        {
            TokenEndpointFailure failure = result.Failure ?? new TokenEndpointFailure { InvalidResponse = true };
            ProviderLog.OAuth2TokenRequestFailed(_logger, Name, userName, failure.Describe());
            throw TokenErrorClassifier.ForApp(Name, failure, s_remedies, "the client credentials grant");
        }

        DateTimeOffset expiresOn = now + (response.ExpiresIn ?? TimeSpan.FromHours(1));
        ProviderLog.OAuth2ClientCredentialsTokenIssued(_logger, Name, expiresOn);
        return new AccessToken(response.AccessToken, expiresOn, userName, response.Scopes ?? Scopes);
    }

    private async Task<bool> RevokeQuietlyAsync(string userName, string token, string tokenTypeHint, CancellationToken cancellationToken)
    {
        Endpoints endpoints;
        try
        {
            endpoints = await GetEndpointsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (AuthorizationException ex)
        {
            ProviderLog.OAuth2RevocationFailed(_logger, Name, userName, ex.ErrorCode);
            return false;
        }

        if (endpoints.Revocation is null)
        {
            return false;
        }

        TokenRevocationResponse response;
        try
        {
            response = await _http.RevokeTokenAsync(
                new TokenRevocationRequest
                {
                    Address = endpoints.Revocation,
                    ClientId = _options.ClientId!, // ClientId is required: validated at start (OAuth2AuthOptions validator)
                    ClientSecret = _options.ClientSecret,
                    ClientCredentialStyle = CredentialStyle,
                    Token = token,
                    TokenTypeHint = tokenTypeHint,
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            ProviderLog.OAuth2RevocationFailed(_logger, Name, userName, FormattableString.Invariant($"timed out after {_http.Timeout.TotalSeconds:0} s"));
            return false;
        }
        if (response.IsError)
        {
            ProviderLog.OAuth2RevocationFailed(_logger, Name, userName, DuendeTokenEndpoint.ToFailure(response, _time.GetUtcNow()).Describe());
            return false;
        }

        return true;
    }

    private async Task<Endpoints> GetEndpointsAsync(CancellationToken cancellationToken)
    {
        if (_endpoints is { } known)
        {
            return known;
        }

        await _discoveryLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_endpoints is { } raced)
            {
                return raced;
            }

            DiscoveryDocumentResponse? discovery = null;
            if (!string.IsNullOrWhiteSpace(_options.Authority))
            {
                discovery = await DiscoverAsync(_options.Authority, cancellationToken).ConfigureAwait(false);
            }

            string? token = _options.TokenEndpoint ?? discovery?.TokenEndpoint;
            if (string.IsNullOrEmpty(token))
            {
                throw new AuthorizationException(
                    FTGateErrorCodes.DiscoveryFailed,
                    $"Provider '{Name}': no token endpoint is configured and the discovery document names none.",
                    "Set TokenEndpoint, or point Authority at an issuer whose discovery document has token_endpoint.",
                    Name);
            }

            _endpoints = new Endpoints(
                discovery?.Issuer ?? _options.Authority,
                _options.AuthorizationEndpoint ?? discovery?.AuthorizeEndpoint,
                token,
                _options.DeviceAuthorizationEndpoint ?? discovery?.DeviceAuthorizationEndpoint,
                _options.RevocationEndpoint ?? discovery?.RevocationEndpoint,
                discovery?.UserInfoEndpoint);
            return _endpoints;
        }
        finally
        {
            _discoveryLock.Release();
        }
    }

    private async Task<DiscoveryDocumentResponse> DiscoverAsync(string authority, CancellationToken cancellationToken)
    {
        DiscoveryDocumentResponse? last = null;
        foreach (string path in new[] { ".well-known/openid-configuration", ".well-known/oauth-authorization-server" })
        {
            var policy = new DiscoveryPolicy
            {
                DiscoveryDocumentPath = path,
                RequireHttps = !_options.AllowInsecureHttp,
                AllowHttpOnLoopback = true,
                ValidateEndpoints = false, // many servers (Microsoft, Google, Yahoo) put endpoints on other hosts than the issuer
                RequireKeySet = false,     // plain OAuth 2.0 servers (RFC 8414) need not publish keys
            };
            last = await _http.GetDiscoveryDocumentAsync(new DiscoveryDocumentRequest { Address = authority, Policy = policy }, cancellationToken)
                .ConfigureAwait(false);
            if (!last.IsError)
            {
                ProviderLog.OAuth2DiscoveryLoaded(_logger, Name, authority, last.Issuer, last.DeviceAuthorizationEndpoint is not null, last.RevocationEndpoint is not null);
                return last;
            }

            if (last.HttpStatusCode != HttpStatusCode.NotFound)
            {
                break;
            }
        }

        string reason = last!.ErrorType == ResponseErrorType.Http ? $"HTTP {(int)last.HttpStatusCode}" : last.Error ?? last.ErrorType.ToString(); // the loop runs at least once (two discovery paths), so last is set
        ProviderLog.OAuth2DiscoveryFailed(_logger, Name, authority, reason);
        if (last.ErrorType == ResponseErrorType.Exception || (int)last.HttpStatusCode >= 500 || last.HttpStatusCode == HttpStatusCode.TooManyRequests)
        {
            throw new TransientAuthorizationException(
                $"Provider '{Name}': the authorization server's discovery document at '{authority}' is unreachable ({reason}).",
                Name,
                last.HttpResponse?.Headers.RetryAfter?.Delta,
                innerException: last.Exception);
        }

        throw new AuthorizationException(
            FTGateErrorCodes.DiscoveryFailed,
            $"Provider '{Name}': the discovery document of '{authority}' could not be used ({reason}).",
            "Check Authority: it must be the issuer URL whose '/.well-known/openid-configuration' or '/.well-known/oauth-authorization-server' answers, and the document's 'issuer' must equal it. Otherwise configure TokenEndpoint (and AuthorizationEndpoint, DeviceAuthorizationEndpoint, RevocationEndpoint) explicitly.",
            Name,
            innerException: last.Exception);
    }

    private async Task<DeviceAuthorizationResponse> RequestDeviceAuthorizationAsync(string address, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.RequestDeviceAuthorizationAsync(
                new DeviceAuthorizationRequest
                {
                    Address = address,
                    ClientId = _options.ClientId!, // ClientId is required: validated at start (OAuth2AuthOptions validator)
                    ClientSecret = _options.ClientSecret,
                    ClientCredentialStyle = CredentialStyle,
                    Scope = ScopeParameter,
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw TokenErrorClassifier.Transient(Name, new TokenEndpointFailure { TimedOutAfter = _http.Timeout, Inner = ex });
        }
    }

    private AuthorizationException DeviceCodeExpired() => new(
        FTGateErrorCodes.DeviceCodeExpired,
        $"Provider '{Name}': the device code expired before the sign-in was finished.",
        "Start the device sign-in again and enter the code within its lifetime.",
        Name,
        "expired_token");

    private static string NotAuthorizedRemedy(string userName) => "Run Authorize Now (or the device sign-in) for this provider and sign in as " + userName + ".";


    private void ThrowIfClientCredentials(string operation)
    {
        if (IsClientCredentials)
        {
            throw new FTGateConfigurationException(
                $"Provider '{Name}': {operation} is not used with Mode ClientCredentials; the client obtains tokens on its own.",
                "Call GetAccessTokenAsync directly, or set Mode to Delegated to sign in as a user.");
        }
    }


    private sealed record Endpoints(string? Issuer, string? Authorization, string Token, string? Device, string? Revocation, string? UserInfo);
}
