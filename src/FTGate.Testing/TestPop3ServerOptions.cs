using System.Security.Cryptography.X509Certificates;

namespace FTGate.Testing;

/// <summary>Whose replies <see cref="TestPop3Server"/> imitates: greeting, CAPA, SASL mechanisms and the texts of success and failure.</summary>
public enum Pop3ServerStyle
{
    /// <summary>
    /// Dovecot 2.3 (the SDK's integration-test server): SASL PLAIN XOAUTH2 OAUTHBEARER, PIPELINING; a rejected token gets the
    /// <c>+ {"status":"401","schemes":"bearer","scope":"mail"}</c> challenge, then <c>-ERR [AUTH] Authentication failed.</c>
    /// </summary>
    Dovecot = 0,

    /// <summary>
    /// Exchange Online (outlook.office365.com): SASL PLAIN XOAUTH2 (no OAUTHBEARER, no PIPELINING); a rejected token gets
    /// <c>-ERR Authentication failure: unknown user name or bad password.</c> at once.
    /// </summary>
    Exchange = 1,

    /// <summary>
    /// Gmail (pop.gmail.com): SASL PLAIN XOAUTH2 OAUTHBEARER, EXPIRE 0, LOGIN-DELAY 300 (no PIPELINING); a rejected token gets the
    /// <c>+ {"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}</c> challenge, then
    /// <c>-ERR [AUTH] Invalid credentials.</c> after the client's empty line.
    /// </summary>
    Gmail = 2,
}

/// <summary>Options of a <see cref="TestPop3Server"/>.</summary>
public sealed class TestPop3ServerOptions
{
    /// <summary>Decides whether an OAuth access token is active. <see cref="TestOAuthAuthority"/> is one.</summary>
    /// <value>Default <see langword="null"/>: every XOAUTH2 / OAUTHBEARER login is rejected.</value>
    public ITestTokenValidator? TokenValidator { get; set; }

    /// <summary>Whose replies the server imitates.</summary>
    /// <value>Default <see cref="Pop3ServerStyle.Dovecot"/>.</value>
    public Pop3ServerStyle Style { get; set; } = Pop3ServerStyle.Dovecot;

    /// <summary>Listens on a second port that speaks TLS from the first byte (POP3S, like port 995).</summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool EnableTlsPort { get; set; } = true;

    /// <summary>Offers STLS on the plain port.</summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool OfferStls { get; set; } = true;

    /// <summary>Refuses AUTH and USER/PASS on the plain port until STLS has run.</summary>
    /// <value>Default <see langword="false"/> (like Dovecot, which trusts loopback connections).</value>
    public bool RequireTlsForAuthentication { get; set; }

    /// <summary>Accepts app-only tokens (no user, from the client credentials grant) for every mailbox, as Exchange does for a granted service principal.</summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool AcceptAppOnlyTokens { get; set; } = true;

    /// <summary>A scope every accepted token must carry (Dovecot's <c>scope</c> setting).</summary>
    /// <value>Default <see langword="null"/>: no scope check.</value>
    public string? RequiredScope { get; set; }

    /// <summary>The server certificate for TLS.</summary>
    /// <value>Default <see langword="null"/>: a self-signed ECDSA certificate for 127.0.0.1 and localhost is generated.</value>
    public X509Certificate2? Certificate { get; set; }
}
