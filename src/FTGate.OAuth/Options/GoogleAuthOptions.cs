namespace FTGate.OAuth;

/// <summary>Options of a Google (Gmail / Workspace) provider (<c>Type: Google</c>).</summary>
public sealed class GoogleAuthOptions : AuthProviderOptions
{
    /// <inheritdoc />
    public override AuthProviderKind Kind => AuthProviderKind.Google;

    /// <summary>
    /// For Workspace domain-wide delegation: the service account's JSON key (the file's content). The mailbox to
    /// impersonate is <see cref="AuthProviderOptions.UserName"/>.
    /// </summary>
    /// <value>Default <see langword="null"/> (delegated sign-in with <see cref="AuthProviderOptions.ClientId"/>).</value>
    public string? ServiceAccountKeyJson { get; set; }

    /// <summary>For Workspace domain-wide delegation: a path to the service account's JSON key file.</summary>
    /// <value>Default <see langword="null"/>.</value>
    public string? ServiceAccountKeyFile { get; set; }

    /// <summary>
    /// Set when the Google Cloud app's publishing status is "Testing" with an External user type: Google then expires
    /// refresh tokens after 7 days, and the SDK warns before that happens.
    /// </summary>
    /// <value>Default <see langword="false"/>.</value>
    public bool AppInTestingStatus { get; set; }
}
