namespace FTGate.OAuth;

/// <summary>The type of an authentication provider, as chosen by the administrator.</summary>
public enum AuthProviderKind
{
    /// <summary>Microsoft 365, Exchange Online or Outlook.com, through the Microsoft identity platform (MSAL).</summary>
    Microsoft = 1,

    /// <summary>Gmail or Google Workspace, through Google's OAuth 2.0 endpoints.</summary>
    Google = 2,

    /// <summary>Any other OAuth 2.0 / OpenID Connect authorization server (explicit endpoints or discovery).</summary>
    OAuth2 = 3,
}
