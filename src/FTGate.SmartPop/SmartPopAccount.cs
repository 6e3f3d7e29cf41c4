using System.Security.Cryptography.X509Certificates;
using FTGate.OAuth;

namespace FTGate.SmartPop;

/// <summary>How the connection to the POP3 server is secured.</summary>
public enum Pop3Security
{
    /// <summary>TLS from the first byte (POP3S, port 995). The default.</summary>
    SslOnConnect = 0,

    /// <summary>Plain connection upgraded with <c>STLS</c> before anything secret is sent (port 110). Fails if the server does not offer STLS.</summary>
    StartTls = 1,

    /// <summary>No encryption. Allowed only together with <see cref="SmartPopAccount.AllowInsecureAuthentication"/>.</summary>
    None = 2,
}

/// <summary>
/// One SmartPop account: a remote POP3 mailbox whose mail is collected into the host's delivery
/// (<see cref="IMessageSink"/>). Bound from <c>FTGate:SmartPop:Accounts:&lt;name&gt;</c> or configured in code with
/// <c>builder.AddSmartPop(name, o =&gt; ...)</c>, and validated at start.
/// </summary>
/// <remarks>
/// Authentication is either OAuth2 (<see cref="AuthProvider"/>, the name of an FTGate.OAuth provider; SASL XOAUTH2 or
/// OAUTHBEARER) or a password (<see cref="Password"/> or <see cref="PasswordEnvironmentVariable"/>; USER/PASS or
/// AUTH PLAIN). Exactly one of the three must be set. Secrets are never sent over an unencrypted connection unless
/// <see cref="AllowInsecureAuthentication"/> is set.
/// </remarks>
public sealed class SmartPopAccount
{
    /// <summary>The account's unique name (the options name; set automatically when registered by name).</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Whether the hosted poller collects this account.</summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>The POP3 server's host name, for example <c>outlook.office365.com</c> or <c>pop.gmail.com</c>.</summary>
    public string Host { get; set; } = string.Empty;

    /// <summary>The server port; 0 picks the default for <see cref="Security"/> (995 for SSL-on-connect, 110 otherwise).</summary>
    /// <value>Default 0.</value>
    public int Port { get; set; }

    /// <summary>How the connection is secured.</summary>
    /// <value>Default <see cref="Pop3Security.SslOnConnect"/>.</value>
    public Pop3Security Security { get; set; } = Pop3Security.SslOnConnect;

    /// <summary>The mailbox user name (for OAuth2 the SASL user: the signed-in account, or the shared mailbox address).</summary>
    public string UserName { get; set; } = string.Empty;

    /// <summary>A password for USER/PASS or AUTH PLAIN. Prefer <see cref="PasswordEnvironmentVariable"/> to keep it out of files.</summary>
    public string? Password { get; set; }

    /// <summary>The name of an environment variable that holds the password.</summary>
    public string? PasswordEnvironmentVariable { get; set; }

    /// <summary>The name of the FTGate.OAuth provider that issues this account's access tokens.</summary>
    public string? AuthProvider { get; set; }

    /// <summary>
    /// The SASL mechanism for OAuth2 accounts; <see langword="null"/> (Auto) uses XOAUTH2, or OAUTHBEARER when the server
    /// offers only that.
    /// </summary>
    /// <value>Default <see langword="null"/> (Auto).</value>
    public SaslMechanismKind? SaslMechanism { get; set; }

    /// <summary>Allows sending a token or password over an unencrypted connection. Never set it for a server on the Internet.</summary>
    /// <value>Default <see langword="false"/>.</value>
    public bool AllowInsecureAuthentication { get; set; }

    /// <summary>Leaves collected messages on the server (tracked by UIDL); <see langword="false"/> deletes each message once delivered.</summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool LeaveOnServer { get; set; } = true;

    /// <summary>With <see cref="LeaveOnServer"/>, deletes a delivered message this many days after it was first collected.</summary>
    /// <value>Default <see langword="null"/> (never).</value>
    public int? DeleteAfterDays { get; set; }

    /// <summary>
    /// Messages larger than this are skipped, reported and left on the server: by the server's LIST size before downloading,
    /// and by the bytes actually received (a message that grows past it is abandoned and skipped in later fetches).
    /// </summary>
    /// <value>Default 52,428,800 (50 MiB).</value>
    public long MaxMessageSize { get; set; } = 50L * 1024 * 1024;

    /// <summary>The most messages downloaded in one poll; the rest follow in the next poll. 0 means no limit.</summary>
    /// <value>Default 1000.</value>
    public int MaxMessagesPerPoll { get; set; } = 1000;

    /// <summary>How often the hosted poller collects this account.</summary>
    /// <value>Default 5 minutes (Gmail asks for at least 5 minutes through LOGIN-DELAY 300).</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Checks the server certificate's revocation status (CRL/OCSP).</summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool CheckCertificateRevocation { get; set; } = true;

    /// <summary>The TCP connect timeout.</summary>
    /// <value>Default 30 seconds.</value>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The timeout of each network read or write (not of a whole download): a server that sends nothing for this long is given up.</summary>
    /// <value>Default 60 seconds.</value>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The longest one fetch of this account may take, whatever the server does (a slow drip, a stall). When it expires the fetch
    /// starts no new download, commits the deletions of the messages already delivered (QUIT, with a short grace period) and
    /// reports how many were delivered; the rest follows in the next poll. Bound from
    /// <c>FTGate:SmartPop:Accounts:&lt;name&gt;:FetchTimeout</c> like the other settings.
    /// </summary>
    /// <value>Default 10 minutes.</value>
    public TimeSpan FetchTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Logs the POP3 dialogue at Debug level (category <c>FTGate.SmartPop.Protocol</c>), with AUTH payloads and passwords redacted and message bodies left out.</summary>
    /// <value>Default <see langword="false"/>.</value>
    public bool ProtocolLog { get; set; }

    /// <summary>
    /// Custom trust: when set, the server certificate must chain to one of these roots (and match the host name) instead of
    /// the system's trusted roots. For private CAs and tests; leave empty in production to use system validation.
    /// </summary>
    public X509Certificate2Collection? TrustedRootCertificates { get; set; }

    /// <summary>
    /// Custom trust from configuration: a PEM file holding one or more root certificates, used like
    /// <see cref="TrustedRootCertificates"/> (which wins when both are set). The chain and host name are still validated; a
    /// revoked certificate is still refused, but a private CA that publishes no revocation list is accepted.
    /// </summary>
    /// <value>Default <see langword="null"/> (system validation).</value>
    public string? TrustedRootCertificateFile { get; set; }

    /// <summary><see langword="true"/> when the account authenticates with OAuth2 tokens.</summary>
    public bool UsesOAuth => !string.IsNullOrWhiteSpace(AuthProvider);

    /// <summary>The port actually used: <see cref="Port"/>, or the default for <see cref="Security"/>.</summary>
    public int EffectivePort => Port != 0 ? Port : Security == Pop3Security.SslOnConnect ? 995 : 110;

    /// <summary>Describes the account without secrets.</summary>
    /// <returns>Name, user, host and port.</returns>
    public override string ToString() => $"SmartPopAccount({Name}: {UserName}@{Host}:{EffectivePort}, {Security})";
}
