namespace FTGate.OAuth;

/// <summary>Microsoft national clouds: each has its own sign-in host and POP host.</summary>
public enum MicrosoftCloud
{
    /// <summary>The worldwide cloud: <c>login.microsoftonline.com</c>, POP host <c>outlook.office365.com</c>.</summary>
    Global = 0,

    /// <summary>Microsoft 365 US Government (GCC High / DoD): <c>login.microsoftonline.us</c>, POP host <c>outlook.office365.us</c>.</summary>
    UsGovernment = 1,

    /// <summary>Microsoft 365 operated by 21Vianet: <c>login.chinacloudapi.cn</c>, POP host <c>partner.outlook.cn</c>.</summary>
    China = 2,
}

/// <summary>How the Microsoft provider obtains tokens.</summary>
public enum MicrosoftAuthMode
{
    /// <summary>A person signs in once (Authorize Now or device code); tokens act as that user (<c>POP.AccessAsUser.All</c>).</summary>
    Delegated = 0,

    /// <summary>Client credentials: the application itself holds <c>POP.AccessAsApp</c> and an Exchange mailbox permission.</summary>
    AppOnly = 1,
}

/// <summary>Options of a Microsoft 365 / Outlook.com provider (<c>Type: Microsoft</c>).</summary>
public sealed class MicrosoftAuthOptions : AuthProviderOptions
{
    /// <inheritdoc />
    public override AuthProviderKind Kind => AuthProviderKind.Microsoft;

    /// <summary>
    /// The tenant: <c>common</c> (work/school and personal accounts), <c>organizations</c> (work/school only),
    /// <c>consumers</c> (Outlook.com only), the directory (tenant) id GUID, or a verified domain.
    /// </summary>
    /// <value>Required: there is no silent default.</value>
    public string? TenantId { get; set; }

    /// <summary>The national cloud.</summary>
    /// <value>Default <see cref="MicrosoftCloud.Global"/>.</value>
    public MicrosoftCloud Cloud { get; set; } = MicrosoftCloud.Global;

    /// <summary>Delegated (a user signs in) or app-only (client credentials).</summary>
    /// <value>Default <see cref="MicrosoftAuthMode.Delegated"/>.</value>
    public MicrosoftAuthMode Mode { get; set; } = MicrosoftAuthMode.Delegated;

    /// <summary>A PFX/PKCS#12 file with the application's certificate (instead of a client secret).</summary>
    /// <value>Default <see langword="null"/>.</value>
    public string? CertificatePath { get; set; }

    /// <summary>The password of <see cref="CertificatePath"/>, if any.</summary>
    /// <value>Default <see langword="null"/>.</value>
    public string? CertificatePassword { get; set; }

    /// <summary>
    /// When the client secret expires (Entra shows it under Certificates &amp; secrets; at most 24 months after creation).
    /// From 30 days before, the provider's status carries a warning so a new secret is made before collection stops with
    /// AADSTS7000222.
    /// </summary>
    /// <value>Default <see langword="null"/> (not tracked).</value>
    public DateTimeOffset? ClientSecretExpiresOn { get; set; }

    /// <summary>
    /// App-only mode only: the default mailbox of the provider (its status, <see cref="MicrosoftAuthProvider.GetExchangeAppOnlySetupScript"/>).
    /// Which mailbox is collected is always the SmartPop account's UserName. For a shared mailbox in delegated mode leave this
    /// empty: set the account's UserName to the shared address; it logs in with the token of <see cref="AuthProviderOptions.UserName"/>,
    /// who needs FullAccess on it.
    /// </summary>
    /// <value>Default <see langword="null"/>. Setting it with <see cref="MicrosoftAuthMode.Delegated"/> is a validation error.</value>
    public string? Mailbox { get; set; }

    /// <summary>
    /// Whether MSAL validates the authority through Entra's instance discovery endpoint before the first request.
    /// Turn it off only for a private or test authority whose host is known to be right.
    /// </summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool EnableInstanceDiscovery { get; set; } = true;
}
