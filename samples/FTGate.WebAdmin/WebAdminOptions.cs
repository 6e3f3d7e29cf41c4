namespace FTGate.WebAdmin;

/// <summary>Settings of the web admin itself (configuration section <c>WebAdmin</c>), not of the SDK.</summary>
public sealed class WebAdminOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "WebAdmin";

    /// <summary>The address bound when neither <c>--urls</c> nor <c>ASPNETCORE_URLS</c> says otherwise: loopback only.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>
    /// The folder holding the configuration file (<c>ftgate.json</c>, the SDK's <c>FTGate</c> section), the encrypted token
    /// store, the cookie keys, the UIDL store and the Maildir that "Fetch now" delivers into.
    /// </summary>
    /// <value>Default: <c>data</c> beside the application (its content root).</value>
    public string? DataDirectory { get; set; }

    /// <summary>
    /// The public base URL of this site (for example <c>https://mail.example.com:8443</c>), used to build the redirect URI
    /// <c>&lt;base&gt;/oauth/callback</c>. Set it when the site is behind a proxy; otherwise the request's own address is used.
    /// </summary>
    public string? PublicBaseUrl { get; set; }
}

/// <summary>The web admin refuses to start (no admin password, an unusable data folder).</summary>
public sealed class WebAdminStartupException(string message) : Exception(message);
