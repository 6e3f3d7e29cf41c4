namespace FTGate.OAuth;

/// <summary>The SASL mechanism a mail server expects the token in.</summary>
public enum SaslMechanismKind
{
    /// <summary>SASL XOAUTH2 (Google's and Microsoft's mechanism; the default).</summary>
    XOAuth2 = 0,

    /// <summary>SASL OAUTHBEARER (RFC 7628).</summary>
    OAuthBearer = 1,
}

/// <summary>How a confidential client authenticates at the token endpoint.</summary>
public enum ClientAuthenticationMethod
{
    /// <summary>HTTP Basic with the client id and secret (RFC 6749 §2.3.1, the default).</summary>
    ClientSecretBasic = 0,

    /// <summary>The client id and secret as form fields.</summary>
    ClientSecretPost = 1,
}

/// <summary>How the generic provider obtains tokens.</summary>
public enum OAuth2GrantMode
{
    /// <summary>A person signs in (authorization code + PKCE, or the device flow).</summary>
    Delegated = 0,

    /// <summary>The client credentials grant (no person involved).</summary>
    ClientCredentials = 1,
}

/// <summary>Options of a generic OAuth 2.0 / OpenID Connect provider (<c>Type: OAuth2</c>).</summary>
public sealed class OAuth2AuthOptions : AuthProviderOptions
{
    /// <inheritdoc />
    public override AuthProviderKind Kind => AuthProviderKind.OAuth2;

    /// <summary>The authorization endpoint, when no discovery document is used.</summary>
    /// <value>Default <see langword="null"/>: taken from discovery on <see cref="AuthProviderOptions.Authority"/>.</value>
    public string? AuthorizationEndpoint { get; set; }

    /// <summary>The token endpoint, when no discovery document is used.</summary>
    /// <value>Default <see langword="null"/>: taken from discovery.</value>
    public string? TokenEndpoint { get; set; }

    /// <summary>The device authorization endpoint (RFC 8628), when the server has one.</summary>
    /// <value>Default <see langword="null"/>: taken from discovery, if present.</value>
    public string? DeviceAuthorizationEndpoint { get; set; }

    /// <summary>The revocation endpoint (RFC 7009), when the server has one.</summary>
    /// <value>Default <see langword="null"/>: taken from discovery, if present.</value>
    public string? RevocationEndpoint { get; set; }

    /// <summary>How the client authenticates at the token endpoint when it has a secret.</summary>
    /// <value>Default <see cref="ClientAuthenticationMethod.ClientSecretBasic"/>.</value>
    public ClientAuthenticationMethod ClientAuthentication { get; set; } = ClientAuthenticationMethod.ClientSecretBasic;

    /// <summary>Delegated sign-in or client credentials.</summary>
    /// <value>Default <see cref="OAuth2GrantMode.Delegated"/>.</value>
    public OAuth2GrantMode Mode { get; set; } = OAuth2GrantMode.Delegated;

    /// <summary>Allows plain <c>http</c> endpoints on hosts other than loopback. Never set it in production.</summary>
    /// <value>Default <see langword="false"/> (http is accepted only on 127.0.0.1, ::1 and localhost).</value>
    public bool AllowInsecureHttp { get; set; }
}
