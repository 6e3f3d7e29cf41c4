namespace FTGate.WebAdmin;

/// <summary>Settings of the web admin itself (configuration section <c>WebAdmin</c>), not of the SDK.</summary>
public sealed class WebAdminOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "WebAdmin";

    /// <summary>The address bound when neither <c>--urls</c> nor <c>ASPNETCORE_URLS</c> says otherwise: loopback only.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>The shortest admin password accepted at start.</summary>
    public const int MinimumPasswordLength = 12;

    /// <summary>
    /// The folder holding the configuration file (<c>ftgate.json</c>, the SDK's <c>FTGate</c> section), the encrypted token
    /// store, the cookie keys, the UIDL store and the Maildir that "Fetch now" delivers into.
    /// </summary>
    /// <value>Default: <c>data</c> beside the application (its content root).</value>
    public string? DataDirectory { get; set; }

    /// <summary>
    /// The public URL of this site (for example <c>https://mail.example.com:8443</c>), used for the redirect URI
    /// <c>&lt;url&gt;/oauth/callback</c> and for links. Never taken from a request's Host header.
    /// </summary>
    /// <value>Default: the address the site is bound to (the first of <c>--urls</c>).</value>
    public string? PublicUrl { get; set; }

    /// <summary>The former name of <see cref="PublicUrl"/>, still read when <see cref="PublicUrl"/> is not set.</summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>
    /// The IP addresses of reverse proxies whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> headers are believed.
    /// When set, the admin cookies are marked Secure (the proxy terminates TLS).
    /// </summary>
    /// <value>Default: none; forwarded headers are ignored.</value>
    public IList<string> KnownProxies { get; } = [];

    /// <summary>
    /// When <see langword="true"/>, the token store refuses a key file or folder that other users can read (instead of
    /// starting with a warning).
    /// </summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool RefuseUnsafePermissions { get; set; } = true;

    /// <summary>The site's public base address (with a trailing slash).</summary>
    public Uri PublicBaseUri => new((PublicUrl ?? PublicBaseUrl ?? BoundAddress?.Invoke() ?? DefaultUrl).TrimEnd('/') + "/");

    /// <summary>Whether the session cookies are marked Secure whatever the request: behind a known (TLS-terminating) proxy.</summary>
    internal bool SecureCookies => KnownProxies.Count > 0;

    /// <summary>Reads the address the server is bound to (set when the application is built).</summary>
    internal Func<string?>? BoundAddress { get; set; }
}

/// <summary>The web admin refuses to start (no admin password, an unusable data folder).</summary>
public sealed class WebAdminStartupException(string message) : Exception(message);
