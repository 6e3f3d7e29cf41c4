using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using FTGate.OAuth.Internal;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Flows;
using Google.Apis.Auth.OAuth2.Requests;
using Google.Apis.Auth.OAuth2.Responses;
using Google.Apis.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FTGate.OAuth;

/// <summary>
/// Gmail and Google Workspace, on Google.Apis.Auth: Authorize Now (PKCE S256, <c>state</c>, <c>access_type=offline</c>,
/// <c>prompt=consent</c>, <c>login_hint</c>) with silent refresh, or a Workspace service account with domain-wide delegation.
/// </summary>
/// <remarks>
/// <para>
/// Tokens are kept in the <see cref="ITokenStore"/> by the SDK itself: Google's flow is given a data store that never
/// deletes, because Google.Apis.Auth deletes the stored token on any non-5xx token error, a 429 included. A refresh that
/// fails never overwrites the stored refresh token; <c>invalid_grant</c> marks the account "re-authorization needed".
/// </para>
/// <para>
/// Refresh timing uses the host's <see cref="TimeProvider"/> and <see cref="AuthProviderOptions.RefreshMargin"/>, never
/// <c>TokenResponse.IsStale</c> (which reads the system clock). Concurrent callers share one refresh.
/// </para>
/// <para>Google's device flow does not allow the Gmail scope, so <see cref="AuthorizeWithDeviceCodeAsync"/> is not supported.</para>
/// </remarks>
public sealed class GoogleAuthProvider : IAuthProvider, IAppOnlyAuthProvider
{
    internal const string GmailScope = "https://mail.google.com/";
    internal static readonly TimeSpan TestingRefreshTokenLifetime = TimeSpan.FromDays(7);
    internal static readonly TimeSpan TestingWarningWindow = TimeSpan.FromDays(2);

    private static readonly ProviderRemedies s_userRemedies = new()
    {
        InvalidGrant = "Run Authorize Now again. Common causes: the Google Cloud app's publishing status is 'Testing' with an External user type, so Google expires refresh tokens after 7 days (publish the app, or use an Internal app in a Workspace domain); the user or an administrator removed the app's access (Google Account > Security > Third-party apps with account access); the account's password was changed (Google then revokes Gmail-scope tokens); or the token was unused for 6 months.",
        InvalidClient = "Check ClientId and ClientSecret against Google Cloud console > APIs & Services > Credentials > OAuth 2.0 Client IDs: the secret may have been reset or the client deleted. Use a 'Desktop app' or 'Web application' client.",
        UnauthorizedClient = "The OAuth client may not use this grant: create a 'Desktop app' or 'Web application' client in Google Cloud console > APIs & Services > Credentials and configure its id and secret.",
        InvalidScope = "Gmail POP accepts only the scope https://mail.google.com/: remove any other Scopes setting.",
        AccessDenied = "The user declined consent, or a policy blocked the app. If the app is in Testing status, add the account under OAuth consent screen > Test users; in a Workspace domain an administrator may have to trust the app (Admin console > Security > Access and data control > API controls > App access control).",
        CodeRejected = "The code expired, was already used, or was issued for another redirect URI or PKCE verifier: click Authorize Now again and finish the sign-in promptly.",
    };

    private readonly GoogleAuthOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly GrantStore _grants;
    private readonly PendingAuthorizationStore _pending;
    private readonly SingleFlightTokenCache _cache;
    private readonly TimeProviderClock _clock;
    private readonly GoogleRetryAfterRecorder _recorder;
    private readonly RefreshTokenGrantFlow _flow;
    private readonly Lazy<PkceGoogleAuthorizationCodeFlow> _googleFlow;
    private readonly Lazy<ServiceAccountKey>? _serviceAccountKey;
    private readonly ConcurrentDictionary<string, ServiceAccountCredential> _serviceAccountCredentials = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastTestingWarning = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Creates the provider. Normally called by <c>AddGoogle</c>.</summary>
    /// <param name="name">The provider's name.</param>
    /// <param name="options">The options, by provider name (validated at start).</param>
    /// <param name="tokenStore">Where tokens and pending authorizations are kept.</param>
    /// <param name="timeProvider">The clock for expiry and refresh decisions.</param>
    /// <param name="loggerFactory">Logging; <see langword="null"/> logs nothing.</param>
    /// <param name="httpClientFactory">
    /// The HTTP seam: the named client <c>FTGate.OAuth.&lt;name&gt;</c> carries every request to Google (proxies, resilience,
    /// tests); <see langword="null"/> uses Google's default client.
    /// </param>
    /// <param name="grantLock">Serializes a grant's refresh across processes; <see langword="null"/> picks the one that fits <paramref name="tokenStore"/>.</param>
    public GoogleAuthProvider(
        string name,
        IOptionsMonitor<GoogleAuthOptions> options,
        ITokenStore tokenStore,
        TimeProvider timeProvider,
        ILoggerFactory? loggerFactory = null,
        System.Net.Http.IHttpClientFactory? httpClientFactory = null,
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
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("FTGate.OAuth.GoogleAuthProvider");
        _grants = new GrantStore(tokenStore, name, () => Binding);
        _pending = new PendingAuthorizationStore(tokenStore, timeProvider);
        _cache = new SingleFlightTokenCache(timeProvider);
        _clock = new TimeProviderClock(timeProvider);
        _recorder = new GoogleRetryAfterRecorder(OAuthHttp.ForGoogle(httpClientFactory, name), timeProvider);
        _googleFlow = new Lazy<PkceGoogleAuthorizationCodeFlow>(CreateFlow);
        _flow = new RefreshTokenGrantFlow(
            name,
            _grants,
            new GrantEndpoint(name, new GoogleTokenEndpoint(() => _googleFlow.Value, _recorder), new RemediesErrorMapper(name, s_userRemedies), timeProvider, _logger),
            grants,
            timeProvider,
            _logger,
            _options.RefreshMargin,
            NotAuthorizedRemedy)
        {
            Refreshed = WarnIfTestingExpiryNear,
        };
        if (IsServiceAccount)
        {
            _serviceAccountKey = new Lazy<ServiceAccountKey>(LoadServiceAccountKey);
        }
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public AuthProviderKind Kind => AuthProviderKind.Google;

    /// <inheritdoc />
    public string? UserName => _options.UserName;

    /// <summary>Where this provider's grants may be used (see <see cref="GrantBinding"/>): Google's fixed endpoints and the client id.</summary>
    internal string Binding => GrantBinding.Of(Kind, Name, _options.ClientId, GoogleAuthConsts.OidcTokenUrl);

    /// <inheritdoc />
    /// <remarks>A service account (domain-wide delegation) acts as the application; its token is asked for the mailbox it impersonates.</remarks>
    public bool IsAppOnly => IsServiceAccount;

    private bool IsServiceAccount => !string.IsNullOrWhiteSpace(_options.ServiceAccountKeyJson) || !string.IsNullOrWhiteSpace(_options.ServiceAccountKeyFile);

    /// <inheritdoc />
    public async Task<AuthorizationChallenge> BeginAuthorizationAsync(AuthorizationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfServiceAccount("Authorize Now");
        string userName = request.UserName ?? _options.UserName
            ?? throw new FTGateConfigurationException($"Provider '{Name}': UserName is required.", "Set UserName to the Gmail or Workspace address that signs in.");

        AuthorizationCodeRequestUrl url = _googleFlow.Value.CreateAuthorizationCodeRequest(request.RedirectUri.OriginalString, out string codeVerifier);
        if (url is GoogleAuthorizationCodeRequestUrl google)
        {
            google.LoginHint = userName;
            google.Prompt = "consent";
            google.AccessType = "offline";
        }

        string state = PendingAuthorizationStore.NewState();
        url.State = state;
        PendingAuthorization pending = await _pending.CreateAsync(Name, userName, request.RedirectUri, codeVerifier, state, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        ProviderLog.GoogleAuthorizationStarted(_logger, Name, userName);
        return new AuthorizationChallenge(url.Build(), state, request.RedirectUri, pending.ExpiresOn);
    }

    /// <inheritdoc />
    public async Task<AuthorizationResult> CompleteAuthorizationAsync(AuthorizationCallback callback, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(callback);
        ThrowIfServiceAccount("Authorize Now");
        PendingAuthorization pending = await _pending.ConsumeAsync(Name, callback.State, cancellationToken).ConfigureAwait(false);
        if (callback.Error is not null)
        {
            throw CallbackErrors.FromCallback(Name, callback, s_userRemedies);
        }

        if (string.IsNullOrEmpty(callback.Code))
        {
            throw CallbackErrors.NoCode(Name);
        }

        DateTimeOffset now = _time.GetUtcNow();
        TokenGrantResponse token = await _flow.Endpoint.RedeemCodeAsync(
            new CodeRedemption(callback.Code, pending.RedirectUri, pending.CodeVerifier),
            pending.UserName,
            cancellationToken).ConfigureAwait(false);

        IReadOnlyList<string> scopes = SplitScopes(token.Scope);
        if (scopes.Count > 0 && !scopes.Contains(GmailScope, StringComparer.Ordinal))
        {
            await RevokeQuietlyAsync(pending.UserName, token.RefreshToken ?? token.AccessToken).ConfigureAwait(false);
            throw new AuthorizationException(
                FTGateErrorCodes.ScopeNotGranted,
                $"Provider '{Name}': Google did not grant the Gmail scope {GmailScope} (granted: {string.Join(' ', scopes)}); POP access would be refused.",
                "Click Authorize Now again and, on Google's consent screen, tick the permission to read, compose, send and permanently delete all your email from Gmail.",
                Name);
        }

        IReadOnlyDictionary<string, string> claims = IdTokenClaims.Read(token.IdToken);
        if (claims.TryGetValue("email", out string? email) && !string.IsNullOrWhiteSpace(email))
        {
            if (!string.Equals(email, pending.UserName, StringComparison.OrdinalIgnoreCase))
            {
                ProviderLog.GoogleWrongAccount(_logger, Name, email, pending.UserName);
                await RevokeQuietlyAsync(pending.UserName, token.RefreshToken ?? token.AccessToken).ConfigureAwait(false);
                throw new AuthorizationException(
                    FTGateErrorCodes.WrongAccount,
                    $"Provider '{Name}': {email} signed in, but this provider is configured for {pending.UserName}.",
                    $"Click Authorize Now again and sign in to Google as {pending.UserName} (use 'Use another account' on Google's account chooser), or change UserName.",
                    Name);
            }
        }
        else
        {
            ProviderLog.GoogleNoIdToken(_logger, Name, pending.UserName);
        }

        if (string.IsNullOrEmpty(token.RefreshToken))
        {
            throw new AuthorizationException(
                FTGateErrorCodes.NoRefreshToken,
                $"Provider '{Name}': Google issued no refresh token for {pending.UserName}, so mail collection would stop when the access token expires.",
                "Remove the app's access in the Google Account (Security > Third-party apps with account access) and click Authorize Now again; the SDK asks for offline access with prompt=consent.",
                Name);
        }

        StoredGrant grant = await _flow.SaveAuthorizationAsync(pending.UserName, token, scopes, now, cancellationToken).ConfigureAwait(false);
        ProviderLog.GoogleAuthorizationCompleted(_logger, Name, pending.UserName, grant.AccessTokenExpiresOn);

        var warnings = new List<string>();
        if (_options.AppInTestingStatus)
        {
            warnings.Add(TestingWarning(now + TestingRefreshTokenLifetime));
        }

        return new AuthorizationResult(Name, pending.UserName, scopes, grant.AccessTokenExpiresOn) { Warnings = warnings };
    }

    /// <summary>Not supported: Google's device flow (for TV and limited-input devices) does not allow the Gmail scope.</summary>
    /// <param name="onDeviceCode">Unused.</param>
    /// <param name="cancellationToken">Unused.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="NotSupportedException">Always.</exception>
    public Task<AuthorizationResult> AuthorizeWithDeviceCodeAsync(Func<DeviceCodeInfo, CancellationToken, Task> onDeviceCode, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException(
            $"Provider '{Name}': Google's device flow (OAuth for TV and limited-input devices) does not allow the Gmail scope {GmailScope}. "
            + "Use Authorize Now: on a headless server, with a loopback redirect reached through SSH port forwarding, or with the host's own https redirect URL.");

    /// <inheritdoc />
    public Task<AccessToken> GetAccessTokenAsync(string userName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        return IsServiceAccount
            ? _cache.GetAsync(userName, _options.RefreshMargin, (Provider: this, User: userName), static (s, _) => s.Provider.AcquireServiceAccountTokenAsync(s.User), cancellationToken)
            : _flow.GetAccessTokenAsync(userName, cancellationToken);
    }

    /// <inheritdoc />
    public Task<AccessToken> RefreshAccessTokenAsync(string userName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        return IsServiceAccount
            ? _cache.RefreshAsync(userName, _ => AcquireServiceAccountTokenAsync(userName), cancellationToken)
            : _flow.RefreshAccessTokenAsync(userName, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<AuthorizationStatus> GetStatusAsync(string userName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        if (IsServiceAccount)
        {
            return new AuthorizationStatus(Name, userName, AuthorizationState.Authorized) { Scopes = [GmailScope] };
        }

        return await _grants.GetStatusAsync(
            userName,
            grant => TestingExpiryNear(grant, out DateTimeOffset expiresOn) ? [TestingWarning(expiresOn)] : [],
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task SignOutAsync(string userName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        _cache.Invalidate(userName);
        _flow.Invalidate(userName);
        if (IsServiceAccount)
        {
            _serviceAccountCredentials.TryRemove(userName, out _);
            return;
        }

        StoredGrant? grant = await _grants.GetAsync(userName, cancellationToken).ConfigureAwait(false);
        bool revoked = grant?.RefreshToken is { } refreshToken && _grants.IsBound(grant) && await RevokeQuietlyAsync(userName, refreshToken).ConfigureAwait(false);
        await _grants.RemoveAsync(userName, cancellationToken).ConfigureAwait(false);
        ProviderLog.GoogleSignedOut(_logger, Name, userName, revoked);
    }

    private async Task<AccessToken> AcquireServiceAccountTokenAsync(string mailbox)
    {
        GoogleRetryAfterRecorder.Begin();
        ServiceAccountCredential credential = _serviceAccountCredentials.GetOrAdd(mailbox, CreateServiceAccountCredential);
        DateTimeOffset now = _time.GetUtcNow();
        try
        {
            await credential.RequestAccessTokenAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (GoogleTokenEndpoint.ToFailure(ex, _recorder.Timeout, CancellationToken.None) is { } failure)
        {
            AuthorizationException error = TokenErrorClassifier.ForApp(Name, failure, ServiceAccountRemedies(), $"a token for the service account to act as {mailbox}");
            if (error is TransientAuthorizationException)
            {
                ProviderLog.GoogleTokenEndpointTransient(_logger, Name, mailbox, failure.Describe());
            }
            else
            {
                ProviderLog.GoogleTokenRequestFailed(_logger, Name, mailbox, failure.Describe(), error.Remedy);
            }

            throw error;
        }

        TokenResponse token = credential.Token;
        DateTimeOffset expiresOn = now + TimeSpan.FromSeconds(token.ExpiresInSeconds ?? 3600);
        ProviderLog.GoogleServiceAccountTokenIssued(_logger, Name, mailbox, expiresOn);
        return new AccessToken(token.AccessToken, expiresOn, mailbox, [GmailScope]);
    }

    private PkceGoogleAuthorizationCodeFlow CreateFlow()
    {
        var initializer = new GoogleAuthorizationCodeFlow.Initializer
        {
            ClientSecrets = new ClientSecrets { ClientId = _options.ClientId, ClientSecret = _options.ClientSecret },

            // openid + email only let the SDK read which account signed in (id_token 'email'); Gmail POP needs just the Gmail scope.
            Scopes = [GmailScope, "openid", "email"],
            DataStore = NonDeletingDataStore.Instance,
            Clock = _clock,
            LoginHint = _options.UserName,
            Prompt = "consent",

            // No hidden retries with back-off inside a refresh: a 503 surfaces at once as a transient error and the caller retries later.
            DefaultExponentialBackOffPolicy = ExponentialBackOffPolicy.None,
        };
        initializer.HttpClientFactory = _recorder;
        return new PkceGoogleAuthorizationCodeFlow(initializer);
    }

    private ServiceAccountKey LoadServiceAccountKey()
    {
        string source = string.IsNullOrWhiteSpace(_options.ServiceAccountKeyJson) ? $"file '{_options.ServiceAccountKeyFile}'" : "ServiceAccountKeyJson";
        try
        {
            string json = string.IsNullOrWhiteSpace(_options.ServiceAccountKeyJson)
                ? File.ReadAllText(_options.ServiceAccountKeyFile!) // the validator requires the key file when no key JSON is given
                : _options.ServiceAccountKeyJson;
            ServiceAccountCredential parsed = CredentialFactory.FromJson<ServiceAccountCredential>(json);
            string? clientId = null;
            using (JsonDocument doc = JsonDocument.Parse(json))
            {
                if (doc.RootElement.TryGetProperty("client_id", out JsonElement id) && id.ValueKind == JsonValueKind.String)
                {
                    clientId = id.GetString();
                }
            }

            return new ServiceAccountKey(parsed, clientId);
        }
        catch (Exception ex) when (ex is InvalidOperationException or JsonException or IOException or ArgumentException or FormatException or System.Security.Cryptography.CryptographicException or Newtonsoft.Json.JsonException)
        {
            throw new FTGateConfigurationException(
                $"Provider '{Name}': the service account key in {source} cannot be used ({ex.GetType().Name}).",
                "Download a new JSON key for the service account (Google Cloud console > IAM & Admin > Service Accounts > Keys > Add key > JSON) and configure its content or path unchanged.",
                ex);
        }
    }

    private ServiceAccountCredential CreateServiceAccountCredential(string mailbox)
    {
        ServiceAccountCredential key = _serviceAccountKey!.Value.Credential; // only called in service-account mode, where the constructor sets the lazily loaded key
        var initializer = new ServiceAccountCredential.Initializer(key.Id, key.TokenServerUrl)
        {
            User = mailbox,
            Scopes = [GmailScope],
            Key = key.Key,
            KeyId = key.KeyId,
            ProjectId = key.ProjectId,
            Clock = _clock,
            DefaultExponentialBackOffPolicy = ExponentialBackOffPolicy.None,
        };
        initializer.HttpClientFactory = _recorder;
        return new ServiceAccountCredential(initializer);
    }

    private ProviderRemedies ServiceAccountRemedies()
    {
        string clientId = _serviceAccountKey?.Value.ClientId ?? "the service account's client ID";
        return new ProviderRemedies
        {
            UnauthorizedClient = "Domain-wide delegation is not granted for the Gmail scope. In the Google Admin console go to Security > Access and data control > API controls > Domain-wide delegation, click 'Add new', enter the client ID "
                + clientId + " and the OAuth scope https://mail.google.com/, and click Authorize (it can take a few minutes, rarely up to 24 hours, to apply).",
            InvalidGrant = "Check that UserName is an existing mailbox of the Workspace domain that granted the delegation, that the service account key is still active (IAM & Admin > Service Accounts > Keys), and that this server's clock is correct.",
            InvalidClient = "The service account or its key was deleted or disabled: create a new JSON key (IAM & Admin > Service Accounts > Keys) and configure it.",
            InvalidScope = "Domain-wide delegation for POP needs exactly the scope https://mail.google.com/.",
            AccessDenied = "The Workspace administrator blocked the service account; ask them to allow it.",
            CodeRejected = s_userRemedies.CodeRejected,
        };
    }

    private async Task<bool> RevokeQuietlyAsync(string userName, string token)
    {
        try
        {
            await _googleFlow.Value.RevokeTokenAsync(userName, token, CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is TokenResponseException or HttpRequestException or TaskCanceledException or InvalidOperationException)
        {
            ProviderLog.GoogleRevocationFailed(_logger, Name, userName, ex is TokenResponseException tre ? tre.Error?.Error ?? ex.GetType().Name : ex.GetType().Name);
            return false;
        }
    }

    private void WarnIfTestingExpiryNear(StoredGrant grant)
    {
        if (!TestingExpiryNear(grant, out DateTimeOffset expiresOn))
        {
            return;
        }

        DateTimeOffset now = _time.GetUtcNow();
        if (_lastTestingWarning.TryGetValue(grant.UserName, out DateTimeOffset last) && now - last < TimeSpan.FromHours(6))
        {
            return;
        }

        _lastTestingWarning[grant.UserName] = now;
        ProviderLog.GoogleTestingRefreshTokenNearExpiry(_logger, Name, grant.UserName, expiresOn);
    }

    private bool TestingExpiryNear(StoredGrant grant, out DateTimeOffset expiresOn)
    {
        expiresOn = default;
        if (!_options.AppInTestingStatus || grant.RefreshTokenIssuedOn is not { } issued)
        {
            return false;
        }

        expiresOn = issued + TestingRefreshTokenLifetime;
        return _time.GetUtcNow() >= expiresOn - TestingWarningWindow;
    }

    private static string TestingWarning(DateTimeOffset expiresOn) =>
        $"The Google Cloud app is in 'Testing' publishing status, so Google expires this refresh token after 7 days (about {expiresOn:u}). "
        + "Publish the app (OAuth consent screen > Publish app), or use an Internal app in a Workspace domain, then run Authorize Now again.";

    private static string NotAuthorizedRemedy(string userName) => "Run Authorize Now for this provider and sign in as " + userName + ".";


    private void ThrowIfServiceAccount(string operation)
    {
        if (IsServiceAccount)
        {
            throw new FTGateConfigurationException(
                $"Provider '{Name}': {operation} is not used with a service account; the service account acts for the mailbox through domain-wide delegation.",
                "Call GetAccessTokenAsync directly, or remove ServiceAccountKeyJson/ServiceAccountKeyFile to sign in as a user.");
        }
    }



    private static IReadOnlyList<string> SplitScopes(string? scope) =>
        string.IsNullOrWhiteSpace(scope) ? [] : scope.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private sealed record ServiceAccountKey(ServiceAccountCredential Credential, string? ClientId);
}
