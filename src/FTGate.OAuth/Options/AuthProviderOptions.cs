namespace FTGate.OAuth;

/// <summary>
/// The fields every authentication provider has, bound from <c>FTGate:Providers:&lt;name&gt;</c>. Each provider type has its
/// own options class deriving from this one (<see cref="MicrosoftAuthOptions"/>, <see cref="GoogleAuthOptions"/>,
/// <see cref="OAuth2AuthOptions"/>); the configuration key <c>Type</c> picks it.
/// </summary>
/// <remarks>Never put tokens here: they live in the <see cref="ITokenStore"/>.</remarks>
public abstract class AuthProviderOptions
{
    /// <summary>The application (client) id from the provider's portal.</summary>
    /// <value>Required (except for a Google service account, whose key file names its client).</value>
    public string? ClientId { get; set; }

    /// <summary>The client secret, for confidential (web) clients. Leave empty for public (desktop/native) clients.</summary>
    /// <value>Default <see langword="null"/>. Load it from a secret store or environment variable, not a checked-in file.</value>
    public string? ClientSecret { get; set; }

    /// <summary>The authority or issuer URL, where the provider type uses one.</summary>
    /// <value>Default <see langword="null"/> (the provider type's well-known authority).</value>
    public string? Authority { get; set; }

    /// <summary>The scopes to request. Each provider type has a tested default; changing it is for experts.</summary>
    /// <value>Default empty: the provider type's default scopes.</value>
    public IList<string> Scopes { get; set; } = [];

    /// <summary>The redirect URI registered with the provider, used when the host does not pass one to <see cref="IAuthProvider.BeginAuthorizationAsync"/>.</summary>
    /// <value>Default <see langword="null"/>.</value>
    public string? RedirectUri { get; set; }

    /// <summary>The account to sign in (for example <c>user@domain.onmicrosoft.com</c>); sent as <c>login_hint</c> and checked after sign-in.</summary>
    /// <value>Required for interactive providers.</value>
    public string? UserName { get; set; }

    /// <summary>How long before an access token expires it is refreshed.</summary>
    /// <value>Default 5 minutes.</value>
    public TimeSpan RefreshMargin { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The provider type these options are for.</summary>
    public abstract AuthProviderKind Kind { get; }
}
