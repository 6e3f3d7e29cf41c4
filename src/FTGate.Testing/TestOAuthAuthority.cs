using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FTGate.Testing;

/// <summary>
/// An in-process OAuth 2.0 authorization server on 127.0.0.1 (ASP.NET Core Kestrel) for hosts' tests: discovery, an authorization
/// endpoint that signs in and consents at once (302 to the redirect URI with <c>code</c>, <c>state</c> and <c>iss</c>), a token endpoint
/// (authorization code with PKCE S256, refresh with rotation, device code, client credentials), introspection, revocation, userinfo
/// and JWKS. Access tokens are opaque. Switches reproduce provider errors (<see cref="FailTokenRequests"/>) and slowness
/// (<see cref="ResponseDelay"/>); <see cref="ExpireAccessTokens"/> and <see cref="RevokeUser"/> act on demand.
/// </summary>
/// <example>
/// <code>
/// await using var authority = await TestOAuthAuthority.StartAsync(new TestOAuthAuthorityOptions { UserName = "user@example.test" });
/// authority.RegisterClient("my-client");
/// services.AddFTGate().AddTestOAuth2("Test", authority, "user@example.test");
/// </code>
/// </example>
public sealed partial class TestOAuthAuthority : ITestTokenValidator, IAsyncDisposable
{
    /// <summary>The device code grant type (RFC 8628).</summary>
    public const string DeviceCodeGrantType = "urn:ietf:params:oauth:grant-type:device_code";

    /// <summary>The scope <see cref="FTGateTestingBuilderExtensions.AddTestOAuth2"/> asks for to read mail (any scope is accepted).</summary>
    public const string MailScope = "mail.pop";

    private readonly TestOAuthAuthorityOptions _options;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _lock = new();
    private readonly Dictionary<string, TestOAuthClient> _clients = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AccessTokenRecord> _accessTokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RefreshTokenRecord> _refreshTokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CodeRecord> _codes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DeviceRecord> _deviceCodes = new(StringComparer.Ordinal);
    private readonly ECDsa _signingKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly string _keyId;
    private WebApplication? _app;
    private FailureSwitch? _failure;
    private long _responseDelayTicks;
    private long _retryAfterTicks = TimeSpan.FromSeconds(30).Ticks;
    private int _disposed;

    private TestOAuthAuthority(TestOAuthAuthorityOptions options)
    {
        _options = options;
        _time = options.TimeProvider;
        SignedInUser = options.UserName;
        _keyId = WebEncoders.Base64UrlEncode(SHA256.HashData(_signingKey.ExportSubjectPublicKeyInfo()).AsSpan(0, 8));
    }

    /// <summary>The issuer (and base address), for example <c>http://127.0.0.1:41234</c>; the discovery document is under it.</summary>
    public Uri Issuer { get; private set; } = null!; // Set by StartAsync before the instance is returned.

    /// <summary>The authorization endpoint.</summary>
    public Uri AuthorizationEndpoint => new(Issuer, "/authorize");

    /// <summary>The token endpoint.</summary>
    public Uri TokenEndpoint => new(Issuer, "/token");

    /// <summary>The device authorization endpoint (RFC 8628).</summary>
    public Uri DeviceAuthorizationEndpoint => new(Issuer, "/device_authorization");

    /// <summary>The introspection endpoint (RFC 7662), as Dovecot's <c>introspection_url</c> would use it.</summary>
    public Uri IntrospectionEndpoint => new(Issuer, "/introspect");

    /// <summary>The revocation endpoint (RFC 7009).</summary>
    public Uri RevocationEndpoint => new(Issuer, "/revoke");

    /// <summary>The OpenID Connect discovery document.</summary>
    public Uri DiscoveryEndpoint => new(Issuer, "/.well-known/openid-configuration");

    /// <summary>
    /// The user who signs in at the authorization endpoint and approves device codes; <see langword="null"/> lets the request's
    /// <c>login_hint</c> sign in. Set it to another account to test a "wrong account signed in" path.
    /// </summary>
    public string? SignedInUser { get; set; }

    /// <summary>When set, the authorization endpoint answers <c>error=access_denied</c> (the user declined consent).</summary>
    public bool DenyConsent { get; set; }

    /// <summary>A slow provider: every endpoint waits this long before answering.</summary>
    public TimeSpan ResponseDelay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _responseDelayTicks));
        set => Interlocked.Exchange(ref _responseDelayTicks, value.Ticks);
    }

    /// <summary>The <c>Retry-After</c> sent with <see cref="TestOAuthFailure.TooManyRequests"/> (whole seconds).</summary>
    /// <value>Default 30 seconds.</value>
    public TimeSpan RetryAfter
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _retryAfterTicks));
        set => Interlocked.Exchange(ref _retryAfterTicks, value.Ticks);
    }

    /// <summary>Request counters.</summary>
    public TestOAuthCounters Counters { get; } = new();

    /// <summary>Starts an authority on a free loopback port.</summary>
    /// <param name="options">The options. Default: 1-hour access tokens, rotation on, PKCE required, the login_hint signs in.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running authority; dispose it to stop.</returns>
    public static async Task<TestOAuthAuthority> StartAsync(TestOAuthAuthorityOptions? options = null, CancellationToken cancellationToken = default)
    {
        var authority = new TestOAuthAuthority(options ?? new TestOAuthAuthorityOptions());
        try
        {
            await authority.StartCoreAsync(cancellationToken).ConfigureAwait(false);
            return authority;
        }
        catch
        {
            await authority.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Registers (or replaces) a client.</summary>
    /// <param name="clientId">The client id.</param>
    /// <param name="clientSecret">The secret of a confidential client; <see langword="null"/> for a public client.</param>
    /// <param name="redirectUris">The allowed redirect URIs; none accepts any.</param>
    /// <returns>The client.</returns>
    public TestOAuthClient RegisterClient(string clientId, string? clientSecret = null, params string[] redirectUris)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clientId);
        var client = new TestOAuthClient(clientId, clientSecret, [.. redirectUris ?? []]);
        lock (_lock)
        {
            _clients[clientId] = client;
        }

        return client;
    }

    /// <summary>
    /// Makes the token endpoint answer with <paramref name="failure"/> for the next <paramref name="count"/> requests (of
    /// <paramref name="grantType"/> only, when given), before looking at the request: no code or refresh token is consumed.
    /// </summary>
    /// <param name="failure">The error to return.</param>
    /// <param name="count">How many requests fail. Default 1; <see cref="int.MaxValue"/> for "until cleared".</param>
    /// <param name="grantType">Only requests with this <c>grant_type</c> fail, for example <c>refresh_token</c>. Default: all.</param>
    public void FailTokenRequests(TestOAuthFailure failure, int count = 1, string? grantType = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        lock (_lock)
        {
            _failure = new FailureSwitch(failure, count, grantType);
        }
    }

    /// <summary>Stops failing token requests.</summary>
    public void ClearFailures()
    {
        lock (_lock)
        {
            _failure = null;
        }
    }

    /// <summary>Makes every access token issued so far expired (introspection answers <c>active: false</c>); refresh tokens stay valid.</summary>
    public void ExpireAccessTokens()
    {
        DateTimeOffset past = _time.GetUtcNow().AddSeconds(-1);
        lock (_lock)
        {
            foreach (AccessTokenRecord token in _accessTokens.Values)
            {
                token.ExpiresOn = past;
            }
        }
    }

    /// <summary>Makes every refresh token issued so far expired (the next refresh gets <c>invalid_grant</c>).</summary>
    public void ExpireRefreshTokens()
    {
        DateTimeOffset past = _time.GetUtcNow().AddSeconds(-1);
        lock (_lock)
        {
            foreach (RefreshTokenRecord token in _refreshTokens.Values)
            {
                token.ExpiresOn = past;
            }
        }
    }

    /// <summary>Revokes every grant of <paramref name="userName"/>: its access and refresh tokens stop working at once.</summary>
    /// <param name="userName">The user (case-insensitive).</param>
    /// <returns>How many tokens were revoked.</returns>
    public int RevokeUser(string userName)
    {
        ArgumentException.ThrowIfNullOrEmpty(userName);
        lock (_lock)
        {
            var grants = _accessTokens.Values.Select(t => t.Grant).Concat(_refreshTokens.Values.Select(t => t.Grant))
                .Where(g => Same(g.UserName, userName) && !g.Revoked)
                .ToHashSet();
            int count = _accessTokens.Values.Count(t => grants.Contains(t.Grant)) + _refreshTokens.Values.Count(t => grants.Contains(t.Grant));
            foreach (Grant grant in grants)
            {
                grant.Revoked = true;
            }

            return count;
        }
    }

    /// <summary>Approves a pending device code, as the user would on the verification page.</summary>
    /// <param name="userCode">The user code shown to the user.</param>
    /// <param name="userName">Who approves. Default: <see cref="SignedInUser"/>.</param>
    /// <returns><see langword="true"/> when a pending device code was approved.</returns>
    /// <exception cref="InvalidOperationException">Neither <paramref name="userName"/> nor <see cref="SignedInUser"/> is set.</exception>
    public bool ApproveDeviceCode(string userCode, string? userName = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(userCode);
        string user = userName ?? SignedInUser ?? throw new InvalidOperationException("Pass the user name or set SignedInUser to approve a device code.");
        return SetDeviceState(userCode, DeviceState.Approved, user);
    }

    /// <summary>Denies a pending device code (the next poll gets <c>access_denied</c>).</summary>
    /// <param name="userCode">The user code.</param>
    /// <returns><see langword="true"/> when a pending device code was denied.</returns>
    public bool DenyDeviceCode(string userCode)
    {
        ArgumentException.ThrowIfNullOrEmpty(userCode);
        return SetDeviceState(userCode, DeviceState.Denied, null);
    }

    /// <summary>Issues an access token for <paramref name="userName"/> without any flow, for tests that only need a valid token.</summary>
    /// <param name="userName">The user.</param>
    /// <param name="lifetime">The lifetime. Default: <see cref="TestOAuthAuthorityOptions.AccessTokenLifetime"/>.</param>
    /// <param name="scopes">The scopes. Default: <see cref="MailScope"/>.</param>
    /// <returns>The opaque access token.</returns>
    public string IssueAccessToken(string userName, TimeSpan? lifetime = null, IEnumerable<string>? scopes = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(userName);
        lock (_lock)
        {
            var grant = new Grant(userName, "ftgate-testing-direct", [.. scopes ?? [MailScope]]);
            return NewAccessToken(grant, lifetime ?? _options.AccessTokenLifetime);
        }
    }

    /// <summary>
    /// Plays the browser: requests <paramref name="authorizationUrl"/> (an authorization request to this authority) and returns the
    /// redirect it answers with, which carries <c>code</c>, <c>state</c> and <c>iss</c> (or <c>error</c>).
    /// </summary>
    /// <param name="authorizationUrl">The authorization URL the host would open in a browser.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The callback URL.</returns>
    /// <exception cref="InvalidOperationException">The authority did not redirect (unknown client or redirect URI).</exception>
    public async Task<Uri> SignInAsync(Uri authorizationUrl, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(authorizationUrl);
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
        using var http = new HttpClient(handler);
        using HttpResponseMessage response = await http.GetAsync(authorizationUrl, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Found || response.Headers.Location is not { } location)
        {
            string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new InvalidOperationException($"The authorization endpoint answered {(int)response.StatusCode} instead of a redirect: {body}");
        }

        return location;
    }

    /// <summary>Looks an access token up, as the introspection endpoint does (the <see cref="ITestTokenValidator"/> of <see cref="TestPop3Server"/>).</summary>
    /// <param name="accessToken">The access token.</param>
    /// <param name="cancellationToken">Not used; the look-up is in memory.</param>
    /// <returns>The token's description when active; otherwise <see langword="null"/>.</returns>
    public Task<TestTokenInfo?> ValidateAsync(string accessToken, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(accessToken);
        Counters.Introspection();
        return Task.FromResult(Lookup(accessToken));
    }

    /// <summary>Stops the HTTP server.</summary>
    /// <returns>A task that completes when the server has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_app is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
        _signingKey.Dispose();
    }

    private static bool Same(string? a, string? b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, 0);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        WebApplication app = builder.Build();
        app.Run(HandleAsync);
        _app = app;
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        Issuer = new Uri(address.TrimEnd('/'));
    }

    private TestTokenInfo? Lookup(string accessToken)
    {
        lock (_lock)
        {
            if (!_accessTokens.TryGetValue(accessToken, out AccessTokenRecord? token) || token.Grant.Revoked || token.ExpiresOn <= _time.GetUtcNow())
            {
                return null;
            }

            return new TestTokenInfo(token.Grant.UserName, token.Grant.ClientId, token.Grant.Scopes, token.ExpiresOn);
        }
    }

    private bool SetDeviceState(string userCode, DeviceState state, string? user)
    {
        lock (_lock)
        {
            DeviceRecord? record = _deviceCodes.Values.FirstOrDefault(d => string.Equals(d.UserCode, userCode, StringComparison.OrdinalIgnoreCase));
            if (record is null || record.State != DeviceState.Pending || record.ExpiresOn <= _time.GetUtcNow())
            {
                return false;
            }

            record.State = state;
            record.UserName = user;
            return true;
        }
    }

    private static string NewHandle(string prefix) => prefix + WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));

    /// <summary>Must be called under <see cref="_lock"/>.</summary>
    private string NewAccessToken(Grant grant, TimeSpan lifetime)
    {
        string value = NewHandle("at_");
        _accessTokens[value] = new AccessTokenRecord(grant) { ExpiresOn = _time.GetUtcNow() + lifetime };
        return value;
    }

    /// <summary>Must be called under <see cref="_lock"/>.</summary>
    private string NewRefreshToken(Grant grant)
    {
        string value = NewHandle("rt_");
        _refreshTokens[value] = new RefreshTokenRecord(grant) { ExpiresOn = _time.GetUtcNow() + _options.RefreshTokenLifetime };
        return value;
    }

    private sealed class Grant(string? userName, string clientId, IReadOnlyList<string> scopes)
    {
        public string? UserName { get; } = userName;

        public string ClientId { get; } = clientId;

        public IReadOnlyList<string> Scopes { get; } = scopes;

        public bool Revoked { get; set; }
    }

    private sealed class AccessTokenRecord(Grant grant)
    {
        public Grant Grant { get; } = grant;

        public DateTimeOffset ExpiresOn { get; set; }
    }

    private sealed class RefreshTokenRecord(Grant grant)
    {
        public Grant Grant { get; } = grant;

        public DateTimeOffset ExpiresOn { get; set; }

        public bool Used { get; set; }
    }

    private sealed record CodeRecord(
        string ClientId,
        string? RedirectUri,
        string? CodeChallenge,
        string UserName,
        IReadOnlyList<string> Scopes,
        string? Nonce,
        DateTimeOffset ExpiresOn);

    private enum DeviceState
    {
        Pending,
        Approved,
        Denied,
        Redeemed,
    }

    private sealed class DeviceRecord(string clientId, string userCode, IReadOnlyList<string> scopes, DateTimeOffset expiresOn)
    {
        public string ClientId { get; } = clientId;

        public string UserCode { get; } = userCode;

        public IReadOnlyList<string> Scopes { get; } = scopes;

        public DateTimeOffset ExpiresOn { get; } = expiresOn;

        public DeviceState State { get; set; }

        public string? UserName { get; set; }
    }

    private sealed class FailureSwitch(TestOAuthFailure failure, int remaining, string? grantType)
    {
        public TestOAuthFailure Failure { get; } = failure;

        public int Remaining { get; set; } = remaining;

        public string? GrantType { get; } = grantType;
    }
}
