namespace FTGate.Testing;

/// <summary>Options of a <see cref="TestOAuthAuthority"/>.</summary>
public sealed class TestOAuthAuthorityOptions
{
    /// <summary>The user who "signs in" at the authorization endpoint and approves device codes.</summary>
    /// <value>Default <see langword="null"/>: the authorization request's <c>login_hint</c> signs in.</value>
    public string? UserName { get; set; }

    /// <summary>How long access tokens live.</summary>
    /// <value>Default 1 hour.</value>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long refresh tokens live.</summary>
    /// <value>Default 90 days.</value>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Issues a new refresh token on every refresh and rejects the old one (re-use revokes the whole grant).</summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool RotateRefreshTokens { get; set; } = true;

    /// <summary>Requires PKCE (S256) from public clients.</summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool RequirePkce { get; set; } = true;

    /// <summary>The polling interval announced for device codes.</summary>
    /// <value>Default 1 second.</value>
    public TimeSpan DeviceCodeInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long device codes and authorization codes stay redeemable.</summary>
    /// <value>Default 10 minutes.</value>
    public TimeSpan CodeLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The clock for token lifetimes (a <c>FakeTimeProvider</c> lets a test expire tokens by advancing time).</summary>
    /// <value>Default <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}

/// <summary>A client registered with a <see cref="TestOAuthAuthority"/>.</summary>
public sealed class TestOAuthClient
{
    internal TestOAuthClient(string clientId, string? clientSecret, IReadOnlyList<string> redirectUris)
    {
        ClientId = clientId;
        ClientSecret = clientSecret;
        RedirectUris = redirectUris;
    }

    /// <summary>The client id.</summary>
    public string ClientId { get; }

    /// <summary>The secret of a confidential client; <see langword="null"/> for a public client.</summary>
    public string? ClientSecret { get; }

    /// <summary>
    /// The registered redirect URIs. Empty accepts any; loopback http URIs match on any port (RFC 8252 §7.3).
    /// </summary>
    public IReadOnlyList<string> RedirectUris { get; }

    /// <summary>Whether the client is public (has no secret).</summary>
    public bool IsPublic => ClientSecret is null;

    /// <inheritdoc />
    public override string ToString() => $"{ClientId} ({(IsPublic ? "public" : "confidential")})";
}

/// <summary>Provider errors a <see cref="TestOAuthAuthority"/> token endpoint can be told to return.</summary>
public enum TestOAuthFailure
{
    /// <summary>HTTP 400 <c>invalid_grant</c> with Microsoft's text: <c>AADSTS700082: The refresh token has expired due to inactivity. ...</c></summary>
    InvalidGrantMicrosoft = 0,

    /// <summary>HTTP 400 <c>invalid_grant</c> with Google's text: <c>Token has been expired or revoked.</c></summary>
    InvalidGrantGoogle = 1,

    /// <summary>HTTP 401 <c>invalid_client</c> (wrong or expired client secret).</summary>
    InvalidClient = 2,

    /// <summary>HTTP 429 with a <c>Retry-After</c> header (<see cref="TestOAuthAuthority.RetryAfter"/>).</summary>
    TooManyRequests = 3,

    /// <summary>HTTP 500 with <c>server_error</c>.</summary>
    ServerError = 4,

    /// <summary>HTTP 503 with an HTML body, as a gateway in front of the provider answers.</summary>
    ServiceUnavailable = 5,
}
