using System.Globalization;
using System.Net;
using System.Text;
using FTGate.OAuth;
using MailKit.Security;

namespace FTGate.SmartPop.Internal;

/// <summary>
/// SASL XOAUTH2 / OAUTHBEARER that completes the server's error challenge. MailKit's own mechanisms mark themselves
/// authenticated after sending the token, so when a server answers with a <c>+ &lt;base64 JSON&gt;</c> error challenge
/// (Gmail, Dovecot) MailKit never sends the empty reply the server waits for and the session goes out of sync. This
/// mechanism answers that challenge (empty line for XOAUTH2, <c>0x01</c> for OAUTHBEARER, RFC 7628 §3.2.3), records the
/// decoded JSON, and so receives the server's final <c>-ERR</c> on a session that stays in sync.
/// </summary>
internal sealed class OAuthSaslMechanism : SaslMechanism
{
    private readonly SaslMechanismKind _kind;
    private readonly string _host;
    private readonly int _port;
    private int _step;

    public OAuthSaslMechanism(SaslMechanismKind kind, string userName, string accessToken, string host, int port)
        : base(new NetworkCredential(userName, accessToken))
    {
        _kind = kind;
        _host = host;
        _port = port;
    }

    public override string MechanismName => _kind == SaslMechanismKind.OAuthBearer ? "OAUTHBEARER" : "XOAUTH2";

    public override bool SupportsInitialResponse => false;

    /// <summary>The server's decoded error challenge (JSON), when it sent one.</summary>
    public string? ErrorChallenge { get; private set; }

    protected override byte[]? Challenge(byte[]? token, int startIndex, int length, CancellationToken cancellationToken)
    {
        if (_step++ == 0)
        {
            string payload = _kind == SaslMechanismKind.OAuthBearer
                ? string.Create(CultureInfo.InvariantCulture, $"n,a={Credentials.UserName},\u0001host={_host}\u0001port={_port}\u0001auth=Bearer {Credentials.Password}\u0001\u0001")
                : $"user={Credentials.UserName}\u0001auth=Bearer {Credentials.Password}\u0001\u0001";
            return Encoding.UTF8.GetBytes(payload);
        }

        // A second continuation is the server's error challenge: remember it and send the reply that ends the exchange.
        ErrorChallenge = token is null || length == 0 ? string.Empty : Encoding.UTF8.GetString(token, startIndex, length);
        IsAuthenticated = true; // stop MailKit's loop after this reply; the server now answers -ERR
        return _kind == SaslMechanismKind.OAuthBearer ? [0x01] : [];
    }

    public override void Reset()
    {
        _step = 0;
        ErrorChallenge = null;
        base.Reset();
    }
}
