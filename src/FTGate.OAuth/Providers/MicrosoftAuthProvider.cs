using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using FTGate.OAuth.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Client;

namespace FTGate.OAuth;

/// <summary>
/// The Microsoft 365 / Outlook.com provider, built on MSAL (Microsoft.Identity.Client). Delegated mode signs a user in once
/// (Authorize Now with a confidential or public client, or device code) and refreshes silently afterwards; app-only mode uses
/// client credentials with <c>POP.AccessAsApp</c>.
/// </summary>
/// <remarks>
/// <para>
/// MSAL never exposes refresh tokens, so the provider stores MSAL's whole serialized cache, one blob per provider and
/// account, in the <see cref="ITokenStore"/> (key <c>msal/&lt;provider&gt;/&lt;ACCOUNT&gt;</c>). The blob is read before
/// every MSAL cache access and written after every change with optimistic concurrency, so processes sharing a store never
/// lose a rotated refresh token.
/// </para>
/// <para>
/// A new grant (Authorize Now, device code, import) is checked before it is stored: the signed-in account must be the
/// configured one, a refresh token must have been issued, and the POP scope must have been granted.
/// </para>
/// </remarks>
public sealed class MicrosoftAuthProvider : IAuthProvider, IAppOnlyAuthProvider, IRefreshTokenImport, IAppOnlySetupScript
{
    private static readonly HttpClient s_http = new();
    private readonly MicrosoftAuthOptions _options;
    private readonly ITokenStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IMsalHttpClientFactory? _httpFactory;
    private readonly MicrosoftEndpoints _endpoints;
    private readonly PendingAuthorizationStore _pending;
    private readonly ProviderStatusStore _status;
    private readonly SingleFlightTokenCache _tokens;
    private readonly ConcurrentDictionary<string, Lazy<IClientApplicationBase>> _apps = new(StringComparer.Ordinal);
    private readonly Lazy<IConfidentialClientApplication> _appOnly;
    private readonly Lazy<X509Certificate2?> _certificate;
    private readonly GrantEndpoint _publicCodeEndpoint;
    private readonly IGrantLock _grantLock;

    /// <summary>Creates the provider (normally through <c>builder.AddMicrosoft(...)</c>).</summary>
    /// <param name="name">The provider's name.</param>
    /// <param name="options">The options, by provider name (validated at start by <c>AddFTGate</c>).</param>
    /// <param name="tokenStore">Where MSAL's cache blob, pending authorizations and the status record are kept.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="loggerFactory">Logging; <see langword="null"/> logs nothing.</param>
    /// <param name="httpClientFactory">
    /// The HTTP seam MSAL and the provider use for every request to Entra (the named client <c>FTGate.OAuth.&lt;name&gt;</c>); <see langword="null"/> uses MSAL's own. When set,
    /// MSAL's built-in "retry once on 5xx" is off: the host's factory (for example a resilience handler) owns retries.
    /// </param>
    /// <param name="grantLock">Serializes a grant's refresh across processes; <see langword="null"/> picks the one that fits <paramref name="tokenStore"/>.</param>
    public MicrosoftAuthProvider(
        string name,
        IOptionsMonitor<MicrosoftAuthOptions> options,
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
        _store = tokenStore;
        _time = timeProvider;
        _logger = (ILogger?)loggerFactory?.CreateLogger<MicrosoftAuthProvider>() ?? NullLogger.Instance;
        _httpFactory = OAuthHttp.ForMsal(httpClientFactory, name);
        _endpoints = MicrosoftEndpoints.For(_options.Cloud);
        _pending = new PendingAuthorizationStore(tokenStore, timeProvider);
        _status = new ProviderStatusStore(tokenStore);
        _tokens = new SingleFlightTokenCache(timeProvider);
        _certificate = new Lazy<X509Certificate2?>(LoadCertificate, LazyThreadSafetyMode.ExecutionAndPublication);
        _appOnly = new Lazy<IConfidentialClientApplication>(() => BuildConfidential(redirectUri: null), LazyThreadSafetyMode.ExecutionAndPublication);
        _grantLock = grants;
        _publicCodeEndpoint = new GrantEndpoint(name, CreatePublicCodeEndpoint(), new MicrosoftGrantErrors(name), timeProvider, _logger);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public AuthProviderKind Kind => AuthProviderKind.Microsoft;

    /// <inheritdoc />
    /// <remarks>In app-only mode this is the mailbox.</remarks>
    public string? UserName => IsAppOnly ? Mailbox : _options.UserName;

    /// <summary>The mailbox to collect from: <see cref="MicrosoftAuthOptions.Mailbox"/>, or the user name. It is the SASL user name.</summary>
    public string? Mailbox => string.IsNullOrWhiteSpace(_options.Mailbox) ? _options.UserName : _options.Mailbox;

    /// <summary>The POP3 host of the configured cloud (for example <c>outlook.office365.com</c>).</summary>
    public string PopHost => _endpoints.PopHost;

    /// <summary>The authority tokens are requested from (for example <c>https://login.microsoftonline.com/contoso.com</c>).</summary>
    public string Authority => MicrosoftEndpoints.Authority(_options);

    /// <summary>The scopes requested: <c>{POP resource}/POP.AccessAsUser.All</c> and <c>offline_access</c> (delegated), or <c>{POP resource}/.default</c> (app-only).</summary>
    public IReadOnlyList<string> Scopes =>
        IsAppOnly ? [_endpoints.AppOnlyScope]
        : _options.Scopes.Count > 0 ? [.. _options.Scopes]
        : [_endpoints.DelegatedPopScope, "offline_access"];

    /// <summary><see langword="true"/> when a client secret or certificate is configured (a confidential "Web" client).</summary>
    public bool IsConfidentialClient => !string.IsNullOrEmpty(_options.ClientSecret) || !string.IsNullOrEmpty(_options.CertificatePath);

    /// <inheritdoc />
    public bool IsAppOnly => _options.Mode == MicrosoftAuthMode.AppOnly;

    /// <summary>Where this provider's grants may be used (see <see cref="GrantBinding"/>).</summary>
    internal string Binding => GrantBinding.Of(Kind, Name, _options.ClientId, Authority, _options.TenantId, _options.Cloud.ToString());

    private MicrosoftClientShape Shape => new(IsConfidentialClient, (_httpFactory?.GetHttpClient() ?? s_http).Timeout);

    private string ClientId => _options.ClientId ?? throw new FTGateConfigurationException($"Provider '{Name}': ClientId is required.");

    /// <inheritdoc />
    /// <remarks>
    /// A confidential client builds the URL with MSAL's <c>GetAuthorizationRequestUrl</c> and PKCE; a public client (no
    /// secret, for a loopback redirect such as <c>http://localhost:8400/</c>) gets the same URL built by the provider, because
    /// MSAL's public client has no "redeem this code" API. Both carry our own <c>state</c>, <c>login_hint</c> and
    /// <c>prompt=select_account</c>; the state, the PKCE verifier and the redirect URI stay server-side for 10 minutes.
    /// </remarks>
    public async Task<AuthorizationChallenge> BeginAuthorizationAsync(AuthorizationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfAppOnly("Authorize Now");
        string user = request.UserName ?? _options.UserName
            ?? throw new FTGateConfigurationException($"Provider '{Name}': UserName is required for Authorize Now.");
        Uri redirect = request.RedirectUri;
        string state = PendingAuthorizationStore.NewState();
        string verifier;
        Uri url;
        string clientType;
        if (IsConfidentialClient)
        {
            clientType = "confidential";
            IConfidentialClientApplication app = BuildConfidential(redirect.OriginalString);
            try
            {
                url = await app.GetAuthorizationRequestUrl(Scopes)
                    .WithPkce(out verifier)
                    .WithRedirectUri(redirect.OriginalString)
                    .WithLoginHint(user)
                    .WithPrompt(Prompt.SelectAccount)
                    .WithExtraQueryParameters(new Dictionary<string, (string, bool)>(StringComparer.Ordinal) { ["state"] = (state, false) })
                    .ExecuteAsync(cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (MsalException ex)
            {
                throw await FailAsync(ex, user, MicrosoftFlow.AuthorizationCode).ConfigureAwait(false);
            }
            catch (Exception ex) when (Unreachable(ex) is { } error)
            {
                throw Logged(error, user, "AuthorizationCode");
            }
        }
        else
        {
            clientType = "public";
            (verifier, string challenge) = PendingAuthorizationStore.NewPkce();
            url = BuildPublicAuthorizeUrl(redirect, user, state, challenge);
        }

        PendingAuthorization pending = await _pending.CreateAsync(
            Name,
            user,
            redirect,
            verifier,
            state,
            new Dictionary<string, string>(StringComparer.Ordinal) { ["client"] = clientType },
            cancellationToken).ConfigureAwait(false);
        MicrosoftLog.AuthorizationStarted(_logger, Name, user, clientType, redirect.OriginalString);
        return new AuthorizationChallenge(url, state, redirect, pending.ExpiresOn);
    }

    /// <inheritdoc />
    public async Task<AuthorizationResult> CompleteAuthorizationAsync(AuthorizationCallback callback, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(callback);
        ThrowIfAppOnly("Authorize Now");
        if (callback.Error is not null && string.IsNullOrEmpty(callback.State))
        {
            throw Logged(MicrosoftErrors.FromOAuthError(callback.Error, callback.ErrorDescription, null, Name, _options.UserName ?? "(unknown)", MicrosoftFlow.AuthorizationCode, null, Shape), _options.UserName ?? "(unknown)", "Authorize Now");
        }

        PendingAuthorization pending = await _pending.ConsumeAsync(Name, callback.State, cancellationToken).ConfigureAwait(false);
        string user = pending.UserName;
        if (callback.Error is not null)
        {
            throw Logged(MicrosoftErrors.FromOAuthError(callback.Error, callback.ErrorDescription, null, Name, user, MicrosoftFlow.AuthorizationCode, null, Shape), user, "Authorize Now");
        }

        if (string.IsNullOrEmpty(callback.Code))
        {
            throw Logged(
                new AuthorizationException(
                    FTGateErrorCodes.CallbackInvalid,
                    $"Provider '{Name}': the authorization callback carries neither 'code' nor 'error'.",
                    "Make sure the redirect URI handler passes the whole query string of the callback, then run Authorize Now again.",
                    Name),
                user,
                "Authorize Now");
        }

        bool confidential = !pending.Items.TryGetValue("client", out string? client) || client == "confidential";
        try
        {
            if (confidential)
            {
                IConfidentialClientApplication app = BuildConfidential(pending.RedirectUri);
                MsalCacheCapture capture = MsalCacheCapture.Attach(app.UserTokenCache);
                AuthenticationResult result = await app.AcquireTokenByAuthorizationCode(Scopes, callback.Code)
                    .WithPkceCodeVerifier(pending.CodeVerifier)
                    .ExecuteAsync(cancellationToken)
                    .ConfigureAwait(false);
                return await FinishAsync(result, capture.Blob, user, "Authorize Now", cancellationToken).ConfigureAwait(false);
            }
            else
            {
                string refreshToken = await RedeemPublicCodeAsync(callback.Code, pending, cancellationToken).ConfigureAwait(false);
                return await ImportCoreAsync(user, refreshToken, "Authorize Now", cancellationToken).ConfigureAwait(false);
            }
        }
        catch (MsalException ex)
        {
            throw await FailAsync(ex, user, MicrosoftFlow.AuthorizationCode).ConfigureAwait(false);
        }
        catch (Exception ex) when (Unreachable(ex) is { } error)
        {
            throw Logged(error, user, "AuthorizationCode");
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Needs a public client: no ClientSecret/CertificatePath, and "Allow public client flows" = Yes in the app registration
    /// (otherwise Entra answers AADSTS7000218, reported as <see cref="FTGateErrorCodes.InvalidClient"/> with that remedy).
    /// </remarks>
    public async Task<AuthorizationResult> AuthorizeWithDeviceCodeAsync(Func<DeviceCodeInfo, CancellationToken, Task> onDeviceCode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(onDeviceCode);
        ThrowIfAppOnly("Device code sign-in");
        string user = _options.UserName ?? throw new FTGateConfigurationException($"Provider '{Name}': UserName is required for device code sign-in.");
        if (IsConfidentialClient)
        {
            throw new FTGateConfigurationException(
                $"Provider '{Name}': device code sign-in needs a public client, but ClientSecret or CertificatePath is configured.",
                "Use Authorize Now with this confidential app, or remove the client credential and set 'Allow public client flows' to Yes under App registrations > Authentication.");
        }

        IPublicClientApplication app = BuildPublic(redirectUri: null);
        MsalCacheCapture capture = MsalCacheCapture.Attach(app.UserTokenCache);
        try
        {
            AuthenticationResult result = await app.AcquireTokenWithDeviceCode(Scopes, async dcr =>
                {
                    MicrosoftLog.DeviceCodeIssued(_logger, Name, dcr.VerificationUrl, dcr.ExpiresOn);
                    var info = new DeviceCodeInfo(new Uri(dcr.VerificationUrl), dcr.UserCode, dcr.ExpiresOn, dcr.Message);
                    await onDeviceCode(info, cancellationToken).ConfigureAwait(false);
                })
                .ExecuteAsync(cancellationToken)
                .ConfigureAwait(false);
            return await FinishAsync(result, capture.Blob, user, "device code", cancellationToken).ConfigureAwait(false);
        }
        catch (MsalException ex)
        {
            throw await FailAsync(ex, user, MicrosoftFlow.DeviceCode).ConfigureAwait(false);
        }
        catch (Exception ex) when (Unreachable(ex) is { } error)
        {
            throw Logged(error, user, "DeviceCode");
        }
    }

    /// <summary>
    /// Imports a refresh token obtained elsewhere (for example by another mail tool) for the same client id: MSAL redeems it
    /// at once and the resulting grant is checked and stored like an Authorize Now result.
    /// </summary>
    /// <param name="userName">The account the refresh token belongs to.</param>
    /// <param name="refreshToken">The refresh token (a secret: it is never logged).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>Who was authorized and which scopes were granted.</returns>
    /// <exception cref="AuthorizationException">Microsoft rejected the token, or the result is unusable (wrong account, no refresh token, POP scope missing).</exception>
    /// <exception cref="TransientAuthorizationException">Microsoft is throttling or unavailable.</exception>
    public async Task<AuthorizationResult> ImportRefreshTokenAsync(string userName, string refreshToken, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        ArgumentException.ThrowIfNullOrWhiteSpace(refreshToken);
        ThrowIfAppOnly("Refresh token import");
        try
        {
            return await ImportCoreAsync(userName, refreshToken, "refresh token import", cancellationToken).ConfigureAwait(false);
        }
        catch (MsalException ex)
        {
            throw await FailAsync(ex, userName, MicrosoftFlow.Import).ConfigureAwait(false);
        }
        catch (Exception ex) when (Unreachable(ex) is { } error)
        {
            throw Logged(error, userName, "Import");
        }
    }

    /// <inheritdoc />
    public Task<AccessToken> GetAccessTokenAsync(string userName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        return _tokens.GetAsync(userName, _options.RefreshMargin, (Provider: this, User: userName), static (s, _) => s.Provider.AcquireAsync(s.User, force: false), cancellationToken);
    }

    /// <inheritdoc />
    public Task<AccessToken> RefreshAccessTokenAsync(string userName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        return _tokens.RefreshAsync(userName, _ => AcquireAsync(userName, force: true), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<AuthorizationStatus> GetStatusAsync(string userName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        ProviderStatusRecord? record = await _status.GetAsync(Name, userName, cancellationToken).ConfigureAwait(false);
        bool hasTokens;
        if (IsAppOnly)
        {
            hasTokens = true;
        }
        else
        {
            TokenStoreEntry? entry = await _store.GetAsync(BlobKey(userName), cancellationToken).ConfigureAwait(false);
            hasTokens = entry is not null && MsalCacheBlob.HasRefreshToken(entry.Value.Span, null);
        }

        if (hasTokens && !IsAppOnly && record?.Binding != Binding)
        {
            return GrantBinding.ChangedStatus(Name, userName, record?.AuthorizedOn);
        }

        string[] warnings = [.. new[] { SecretExpiryWarning(), MicrosoftAuthOptionsValidator.PersonalAccountWarning(_options) }.OfType<string>()];
        return ProviderStatusStore.ToStatus(Name, userName, record, hasTokens, warnings);
    }

    /// <summary>Warns from 30 days before <see cref="MicrosoftAuthOptions.ClientSecretExpiresOn"/>.</summary>
    private string? SecretExpiryWarning()
    {
        if (_options.ClientSecretExpiresOn is not { } expires || string.IsNullOrEmpty(_options.ClientSecret))
        {
            return null;
        }

        TimeSpan left = expires - _time.GetUtcNow();
        if (left > TimeSpan.FromDays(30))
        {
            return null;
        }

        string when = left <= TimeSpan.Zero ? $"expired on {expires:u}" : $"expires on {expires:u} ({Math.Ceiling(left.TotalDays):0} day(s) left)";
        string warning = $"The client secret of provider '{Name}' {when}. Create a new secret in Microsoft Entra (App registrations > the app > Certificates & secrets), configure it, and update ClientSecretExpiresOn.";
        MicrosoftLog.ClientSecretExpiring(_logger, Name, expires);
        return warning;
    }

    /// <inheritdoc />
    /// <remarks>Microsoft has no refresh-token revocation endpoint; the stored grant is forgotten. To revoke it at Microsoft, an administrator revokes the user's sessions in Entra.</remarks>
    public async Task SignOutAsync(string userName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        await _store.RemoveAsync(BlobKey(userName), cancellationToken: cancellationToken).ConfigureAwait(false);
        await _status.RemoveAsync(Name, userName, cancellationToken).ConfigureAwait(false);
        _tokens.Invalidate(userName);
        _apps.TryRemove(UserKey(userName), out _);
        MicrosoftLog.SignedOut(_logger, Name, userName);
    }

    /// <summary>
    /// Returns, as text for the Exchange administrator, the Exchange Online PowerShell that finishes app-only setup: register the
    /// application's service principal in Exchange, give it access to the mailbox, and enable POP on the mailbox.
    /// </summary>
    /// <param name="enterpriseApplicationObjectId">
    /// The <b>Object ID of the Enterprise Application</b> (Entra &gt; Enterprise applications &gt; the app &gt; Overview), not the
    /// Object ID shown on the App registration page: using the wrong one makes POP authentication fail.
    /// </param>
    /// <param name="mailbox">The mailbox; <see langword="null"/> uses the configured <see cref="Mailbox"/>.</param>
    /// <returns>The script.</returns>
    /// <exception cref="ArgumentException">The object id is not a GUID, or no mailbox is given or configured.</exception>
    public string GetExchangeAppOnlySetupScript(string enterpriseApplicationObjectId, string? mailbox = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(enterpriseApplicationObjectId);
        if (!Guid.TryParse(enterpriseApplicationObjectId, out Guid objectId))
        {
            throw new ArgumentException("The Enterprise Application's Object ID must be a GUID (Entra > Enterprise applications > the app > Overview > Object ID).", nameof(enterpriseApplicationObjectId));
        }

        string box = mailbox ?? Mailbox ?? throw new ArgumentException("No mailbox given and none configured (Mailbox or UserName).", nameof(mailbox));
        if (!Guid.TryParse(_options.ClientId, out Guid appId))
        {
            throw new FTGateConfigurationException($"Provider '{Name}': ClientId must be the Application (client) ID GUID.");
        }

        string q(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
        string id = objectId.ToString("D");
        var sb = new StringBuilder();
        sb.AppendLine("# Exchange Online PowerShell, run as an Exchange administrator:");
        sb.AppendLine("#   Install-Module ExchangeOnlineManagement; Connect-ExchangeOnline");
        sb.AppendLine(CultureInfo.InvariantCulture, $"# Provider '{Name}': app {appId:D}, mailbox {box}.");
        sb.AppendLine("# 1. Register the application's service principal in Exchange (ObjectId = the Enterprise Application's Object ID).");
        sb.AppendLine(CultureInfo.InvariantCulture, $"New-ServicePrincipal -AppId {q(appId.ToString("D"))} -ObjectId {q(id)} -DisplayName {q("FTGate " + Name)}");
        sb.AppendLine("# 2. Allow it to read the mailbox.");
        sb.AppendLine(CultureInfo.InvariantCulture, $"Add-MailboxPermission -Identity {q(box)} -User {q(id)} -AccessRights FullAccess");
        sb.AppendLine("# 3. Make sure POP is enabled for the mailbox.");
        sb.AppendLine(CultureInfo.InvariantCulture, $"Set-CASMailbox -Identity {q(box)} -PopEnabled $true");
        return sb.ToString();
    }

    private static string UserKey(string userName) => userName.Trim().ToUpperInvariant();

    private string BlobKey(string userName) => $"msal/{Name}/{UserKey(userName)}";


    private void ThrowIfAppOnly(string what)
    {
        if (IsAppOnly)
        {
            throw new AuthorizationException(
                FTGateErrorCodes.ConfigurationInvalid,
                $"Provider '{Name}': {what} is for delegated mode, but Mode is AppOnly (the application signs in as itself).",
                "Use GetAccessTokenAsync directly in app-only mode, or set Mode to Delegated.",
                Name);
        }
    }

    private async Task<AccessToken> AcquireAsync(string userName, bool force)
    {
        if (IsAppOnly)
        {
            return await AcquireAppOnlyAsync(userName, force).ConfigureAwait(false);
        }

        ProviderStatusRecord? record = await _status.GetAsync(Name, userName, CancellationToken.None).ConfigureAwait(false);
        if (record is { ReauthorizationRequired: true })
        {
            // The grant is known to be dead: do not ask Microsoft again until someone re-authorizes.
            throw new ReauthorizationRequiredException(
                record.ErrorCode ?? FTGateErrorCodes.ReauthorizationRequired,
                $"Provider '{Name}': re-authorization is needed for {userName}: {record.Reason}",
                record.Remedy ?? $"Run Authorize Now again as {userName}.",
                Name,
                userName,
                errorDescription: record.Reason);
        }

        if (record?.Binding != Binding && await _store.GetAsync(BlobKey(userName), CancellationToken.None).ConfigureAwait(false) is not null)
        {
            // Issued for another client id, authority, tenant or cloud: MSAL would send the refresh token (and the secret) there.
            MicrosoftLog.ReauthorizationRequired(_logger, Name, userName, FTGateErrorCodes.GrantBindingChanged, "client id, authority or tenant changed");
            throw GrantBinding.Changed(Name, userName);
        }

        // The grant's lock around MSAL's silent call: MSAL reads the blob again under it (BeforeAccess), so a token another
        // process refreshed meanwhile comes from the cache, and only one holder redeems the refresh token per expiry.
        IAsyncDisposable held = await GrantLocks.AcquireAsync(_grantLock, BlobKey(userName), Name, userName).ConfigureAwait(false);
        await using (held.ConfigureAwait(false))
        {
            return await AcquireSilentHeldAsync(userName, force).ConfigureAwait(false);
        }
    }

    private async Task<AccessToken> AcquireSilentHeldAsync(string userName, bool force)
    {
        TokenStoreEntry? entry = await _store.GetAsync(BlobKey(userName), CancellationToken.None).ConfigureAwait(false);
        IReadOnlyList<MsalCacheBlob.Account> accounts = entry is null ? [] : MsalCacheBlob.Accounts(entry.Value.Span);
        IClientApplicationBase app = UserApp(userName);
        try
        {
            IAccount? account = accounts.Count == 0 ? null : await app.GetAccountAsync(accounts[0].HomeAccountId).ConfigureAwait(false);
            if (account is null)
            {
                throw new ReauthorizationRequiredException(
                    FTGateErrorCodes.NotAuthorized,
                    $"Provider '{Name}': {userName} is not authorized yet (no stored grant).",
                    "Run Authorize Now (or device code sign-in) for this provider.",
                    Name,
                    userName);
            }

            AuthenticationResult result = await app.AcquireTokenSilent(Scopes, account).WithForceRefresh(force).ExecuteAsync(CancellationToken.None).ConfigureAwait(false);
            if (!force && result.AuthenticationResultMetadata.TokenSource == TokenSource.Cache && result.ExpiresOn - _options.RefreshMargin <= _time.GetUtcNow())
            {
                // MSAL serves a cached token until 5 minutes before expiry; honour a longer RefreshMargin.
                result = await app.AcquireTokenSilent(Scopes, account).WithForceRefresh(true).ExecuteAsync(CancellationToken.None).ConfigureAwait(false);
            }

            bool fromCache = result.AuthenticationResultMetadata.TokenSource == TokenSource.Cache;
            if (!fromCache)
            {
                await _status.UpdateAsync(Name, userName, r => r.AccessTokenExpiresOn = result.ExpiresOn, CancellationToken.None).ConfigureAwait(false);
            }

            return ToAccessToken(result, Mailbox ?? result.Account?.Username ?? userName, fromCache);
        }
        catch (MsalException ex)
        {
            throw await FailAsync(ex, userName, MicrosoftFlow.Silent).ConfigureAwait(false);
        }
        catch (Exception ex) when (Unreachable(ex) is { } error)
        {
            throw Logged(error, userName, "Silent");
        }
    }

    private async Task<AccessToken> AcquireAppOnlyAsync(string mailbox, bool force)
    {
        try
        {
            AuthenticationResult result = await _appOnly.Value.AcquireTokenForClient(Scopes).WithForceRefresh(force).ExecuteAsync(CancellationToken.None).ConfigureAwait(false);
            bool fromCache = result.AuthenticationResultMetadata.TokenSource == TokenSource.Cache;
            if (!force && fromCache && result.ExpiresOn - _options.RefreshMargin <= _time.GetUtcNow())
            {
                result = await _appOnly.Value.AcquireTokenForClient(Scopes).WithForceRefresh(true).ExecuteAsync(CancellationToken.None).ConfigureAwait(false);
                fromCache = false;
            }

            // The SASL user of an app-only token is the mailbox being read.
            return ToAccessToken(result, mailbox, fromCache);
        }
        catch (MsalException ex)
        {
            throw await FailAsync(ex, mailbox, MicrosoftFlow.AppOnly).ConfigureAwait(false);
        }
        catch (Exception ex) when (Unreachable(ex) is { } error)
        {
            throw Logged(error, mailbox, "AppOnly");
        }
    }

    private AccessToken ToAccessToken(AuthenticationResult result, string saslUser, bool fromCache)
    {
        var token = new AccessToken(result.AccessToken, result.ExpiresOn, saslUser, [.. result.Scopes], fromCache);
        MicrosoftLog.TokenAcquired(_logger, Name, saslUser, fromCache ? "cache" : "Microsoft", token.ExpiresOn, token.Fingerprint);
        return token;
    }

    private async Task<AuthorizationResult> ImportCoreAsync(string userName, string refreshToken, string flow, CancellationToken cancellationToken)
    {
        IClientApplicationBase app = IsConfidentialClient ? BuildConfidential(redirectUri: null) : BuildPublic(redirectUri: null);
        MsalCacheCapture capture = MsalCacheCapture.Attach(app.UserTokenCache);
        AuthenticationResult result = await ((IByRefreshToken)app).AcquireTokenByRefreshToken(Scopes, refreshToken)
            .ExecuteAsync(cancellationToken)
            .ConfigureAwait(false);
        return await FinishAsync(result, capture.Blob, userName, flow, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Checks a new grant (account, refresh token, POP scope) and only then stores it.</summary>
    private async Task<AuthorizationResult> FinishAsync(AuthenticationResult result, byte[]? blob, string expectedUser, string flow, CancellationToken cancellationToken)
    {
        string signedIn = result.Account?.Username ?? "(unknown account)";
        if (!string.Equals(signedIn, expectedUser, StringComparison.OrdinalIgnoreCase))
        {
            throw Logged(
                new AuthorizationException(
                    FTGateErrorCodes.WrongAccount,
                    $"Provider '{Name}': {signedIn} signed in, but the provider is configured for {expectedUser}; nothing was stored.",
                    $"Run Authorize Now again and choose {expectedUser} in Microsoft's account picker (or use a private browser window), or change UserName to {signedIn} if that is the mailbox to collect.",
                    Name),
                expectedUser,
                flow);
        }

        if (blob is null || !MsalCacheBlob.HasRefreshToken(blob, result.Account?.HomeAccountId?.Identifier))
        {
            throw Logged(
                new AuthorizationException(
                    FTGateErrorCodes.NoRefreshToken,
                    $"Provider '{Name}': Microsoft issued no refresh token for {signedIn}, so collection would stop when the access token expires (about an hour); nothing was stored.",
                    "Keep 'offline_access' in the requested scopes (remove custom Scopes), make sure the app registration's API permissions include offline_access, and run Authorize Now again.",
                    Name),
                expectedUser,
                flow);
        }

        string[] granted = [.. result.Scopes];
        if (_options.Scopes.Count == 0 && !MicrosoftEndpoints.HasPopScope(granted, _endpoints.DelegatedPopScope))
        {
            throw Logged(
                new AuthorizationException(
                    FTGateErrorCodes.ScopeNotGranted,
                    $"Provider '{Name}': Microsoft did not grant {_endpoints.DelegatedPopScope} to {signedIn} (granted: {string.Join(' ', granted)}); nothing was stored.",
                    "Add the delegated permission Office 365 Exchange Online > POP.AccessAsUser.All under App registrations > API permissions, grant consent, and run Authorize Now again.",
                    Name),
                expectedUser,
                flow);
        }

        await _store.UpdateAsync(BlobKey(expectedUser), _ => blob, cancellationToken: cancellationToken).ConfigureAwait(false);
        DateTimeOffset now = _time.GetUtcNow();
        await _status.UpdateAsync(
            Name,
            expectedUser,
            r =>
            {
                r.AuthorizedOn = now;
                r.Binding = Binding;
                r.AccessTokenExpiresOn = result.ExpiresOn;
                r.Scopes = [.. granted];
                r.ReauthorizationRequired = false;
                r.ErrorCode = null;
                r.Reason = null;
                r.Remedy = null;
            },
            cancellationToken).ConfigureAwait(false);

        // Start from a fresh MSAL instance for this account (no state left from the dead grant).
        _apps.TryRemove(UserKey(expectedUser), out _);
        _tokens.Set(expectedUser, new AccessToken(result.AccessToken, result.ExpiresOn, Mailbox ?? signedIn, granted));
        MicrosoftLog.AuthorizationCompleted(_logger, Name, signedIn, flow, string.Join(' ', granted));
        return new AuthorizationResult(Name, signedIn, granted, result.ExpiresOn);
    }

    /// <summary>
    /// A network failure MSAL let through (DNS, refused connection, TLS, the HTTP client's timeout) as the SDK's transient
    /// error; <see langword="null"/> for anything else. The caller's own cancellation is never caught (only the HTTP client's
    /// timeout, whose cancellation carries a <see cref="TimeoutException"/>).
    /// </summary>
    private TransientAuthorizationException? Unreachable(Exception ex) => ex switch
    {
        HttpRequestException or IOException or System.Net.Sockets.SocketException => TokenErrorClassifier.Transient(Name, new TokenEndpointFailure { Network = true, Inner = ex }),
        OperationCanceledException { InnerException: TimeoutException } or TimeoutException => TokenErrorClassifier.Transient(Name, new TokenEndpointFailure { TimedOutAfter = Shape.HttpTimeout, Inner = ex }),
        _ => null,
    };

    private async Task<AuthorizationException> FailAsync(MsalException ex, string userName, MicrosoftFlow flow)
    {
        AuthorizationException error = MicrosoftErrors.FromMsal(ex, Name, userName, flow, _time.GetUtcNow(), Shape);
        await RecordAsync(error, userName).ConfigureAwait(false);
        return Logged(error, userName, flow.ToString());
    }

    private async Task RecordAsync(AuthorizationException error, string userName)
    {
        if (error is ReauthorizationRequiredException { ErrorCode: FTGateErrorCodes.ReauthorizationRequired } reauth)
        {
            _tokens.Invalidate(userName);
            await _status.UpdateAsync(
                Name,
                userName,
                r =>
                {
                    r.ReauthorizationRequired = true;
                    r.ErrorCode = reauth.ErrorCode;
                    r.Reason = reauth.ErrorDescription ?? reauth.Message;
                    r.Remedy = reauth.Remedy;
                },
                CancellationToken.None).ConfigureAwait(false);
        }
    }

    private AuthorizationException Logged(AuthorizationException error, string userName, string flow)
    {
        switch (error)
        {
            case ReauthorizationRequiredException:
                MicrosoftLog.ReauthorizationRequired(_logger, Name, userName, error.Error ?? error.ErrorCode, error.ErrorDescription ?? error.Message);
                break;
            case TransientAuthorizationException transient:
                MicrosoftLog.TransientFailure(_logger, Name, userName, error.Error ?? error.ErrorCode, transient.RetryAfter);
                break;
            default:
                MicrosoftLog.AuthorizationFailed(_logger, Name, userName, flow, error.ErrorCode, error.Message);
                break;
        }

        return error;
    }

    private IClientApplicationBase UserApp(string userName) =>
        _apps.GetOrAdd(
            UserKey(userName),
            _ => new Lazy<IClientApplicationBase>(
                () =>
                {
                    IClientApplicationBase app = IsConfidentialClient ? BuildConfidential(redirectUri: null) : BuildPublic(redirectUri: null);
                    MsalTokenCacheBinding.Attach(app.UserTokenCache, _store, BlobKey(userName), Name, _logger);
                    return app;
                },
                LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    private IConfidentialClientApplication BuildConfidential(string? redirectUri)
    {
        ConfidentialClientApplicationBuilder builder = Configure(ConfidentialClientApplicationBuilder.Create(ClientId));
        if (_certificate.Value is { } certificate)
        {
            builder = builder.WithCertificate(certificate);
        }
        else if (!string.IsNullOrEmpty(_options.ClientSecret))
        {
            builder = builder.WithClientSecret(_options.ClientSecret);
        }
        else
        {
            throw new FTGateConfigurationException(
                $"Provider '{Name}': this operation needs a confidential client, but neither ClientSecret nor CertificatePath is configured.",
                "Add a client secret or certificate under App registrations > Certificates & secrets and configure it.");
        }

        if (redirectUri is not null)
        {
            builder = builder.WithRedirectUri(redirectUri);
        }

        return builder.Build();
    }

    private IPublicClientApplication BuildPublic(string? redirectUri)
    {
        PublicClientApplicationBuilder builder = Configure(PublicClientApplicationBuilder.Create(ClientId));
        builder = redirectUri is null ? builder.WithDefaultRedirectUri() : builder.WithRedirectUri(redirectUri);
        return builder.Build();
    }

    private T Configure<T>(T builder)
        where T : AbstractApplicationBuilder<T>
    {
        builder = builder
            .WithAuthority(Authority)
            .WithInstanceDiscovery(_options.EnableInstanceDiscovery)
            .WithLegacyCacheCompatibility(false)
            .WithClientName("FTGate.OAuth");
        if (_httpFactory is not null)
        {
            builder = builder.WithHttpClientFactory(_httpFactory, retryOnceOn5xx: false);
        }

        return builder;
    }

    private X509Certificate2? LoadCertificate()
    {
        if (string.IsNullOrEmpty(_options.CertificatePath))
        {
            return null;
        }

#if NET9_0_OR_GREATER
        return X509CertificateLoader.LoadPkcs12FromFile(_options.CertificatePath, _options.CertificatePassword);
#else
        return new X509Certificate2(_options.CertificatePath, _options.CertificatePassword);
#endif
    }

    private Uri BuildPublicAuthorizeUrl(Uri redirect, string user, string state, string challenge)
    {
        var query = new List<KeyValuePair<string, string>>
        {
            new("client_id", ClientId),
            new("response_type", "code"),
            new("redirect_uri", redirect.OriginalString),
            new("response_mode", "query"),
            new("scope", string.Join(' ', Scopes.Concat(["openid", "profile", "offline_access"]).Distinct(StringComparer.OrdinalIgnoreCase))),
            new("state", state),
            new("code_challenge", challenge),
            new("code_challenge_method", "S256"),
            new("login_hint", user),
            new("prompt", "select_account"),
            new("client_info", "1"),
        };
        string qs = string.Join('&', query.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
        return new Uri($"{Authority}/oauth2/v2.0/authorize?{qs}");
    }

    /// <summary>
    /// The token endpoint for a public client's code redemption: MSAL's public client has no "redeem this code" API, so the
    /// request goes through Duende.IdentityModel (with the scopes and <c>client_info</c> MSAL would send).
    /// </summary>
    private DuendeTokenEndpoint CreatePublicCodeEndpoint() => new(
        _httpFactory?.GetHttpClient() ?? s_http,
        _ => Task.FromResult($"{Authority}/oauth2/v2.0/token"),
        () => new GrantClient(ClientId, null, Duende.IdentityModel.Client.ClientCredentialStyle.PostBody),
        _time,
        new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["scope"] = string.Join(' ', Scopes.Concat(["openid", "profile", "offline_access"]).Distinct(StringComparer.OrdinalIgnoreCase)),
            ["client_info"] = "1",
        });

    /// <summary>Redeems a public client's authorization code and returns the refresh token (MSAL then imports it).</summary>
    private async Task<string> RedeemPublicCodeAsync(string code, PendingAuthorization pending, CancellationToken cancellationToken)
    {
        TokenGrantResponse response = await _publicCodeEndpoint.RedeemCodeAsync(
            new CodeRedemption(code, pending.RedirectUri, pending.CodeVerifier),
            pending.UserName,
            cancellationToken).ConfigureAwait(false);
        return response.RefreshToken ?? throw Logged(
            new AuthorizationException(
                FTGateErrorCodes.NoRefreshToken,
                $"Provider '{Name}': Microsoft issued no refresh token for {pending.UserName}, so collection would stop when the access token expires; nothing was stored.",
                "Keep 'offline_access' in the requested scopes (remove custom Scopes) and run Authorize Now again.",
                Name),
            pending.UserName,
            "Authorize Now");
    }
}
