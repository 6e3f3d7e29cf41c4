using FTGate.OAuth;

namespace FTGate.SmartPop.Internal;

/// <summary>What the server offered after connecting (CAPA).</summary>
internal sealed record Pop3ServerInfo(
    IReadOnlySet<string> SaslMechanisms,
    bool SupportsUidl,
    bool SupportsPipelining,
    bool SupportsUser,
    bool SupportsTop,
    bool SupportsStartTls,
    string? Implementation,
    int LoginDelaySeconds,
    string? Greeting);

/// <summary>Facts about an established connection.</summary>
internal sealed record Pop3ConnectInfo(
    string RemoteAddress,
    TimeSpan TcpConnectTime,
    TimeSpan HandshakeTime,
    bool IsEncrypted,
    string? TlsProtocol,
    string? CertificateSubject,
    string? CertificateIssuer,
    DateTimeOffset? CertificateNotAfter);

/// <summary>
/// One POP3 session, behind a seam so the fetch logic can be tested with fakes. Every failure surfaces as a
/// <see cref="Pop3Exception"/> (fatal or not) carrying the server's words; MailKit types never leave the implementation.
/// </summary>
internal interface IPop3Connection : IAsyncDisposable
{
    /// <summary>Connects, secures (per the account) and reads CAPA.</summary>
    Task<Pop3ConnectInfo> ConnectAsync(CancellationToken cancellationToken);

    /// <summary>The server's capabilities (after <see cref="ConnectAsync"/>).</summary>
    Pop3ServerInfo Server { get; }

    /// <summary>Whether the connection is encrypted.</summary>
    bool IsEncrypted { get; }

    /// <summary>SASL XOAUTH2 or OAUTHBEARER. Throws <see cref="Pop3CommandException"/> (AuthenticationRejected) on refusal.</summary>
    Task AuthenticateOAuthAsync(SaslMechanismKind mechanism, string userName, string accessToken, CancellationToken cancellationToken);

    /// <summary>AUTH PLAIN when offered, else USER/PASS.</summary>
    Task AuthenticatePasswordAsync(string userName, string password, CancellationToken cancellationToken);

    /// <summary>STAT: message count and total size.</summary>
    Task<(int Count, long Size)> StatAsync(CancellationToken cancellationToken);

    /// <summary>
    /// A multi-line listing (<c>UIDL</c> or <c>LIST</c>) read raw: each line exactly as sent (Latin-1, so every byte survives,
    /// spaces and control characters included). Lines are at most 64 KiB and the listing at most 64 MiB.
    /// </summary>
    Task<IReadOnlyList<string>> ListRawAsync(string command, CancellationToken cancellationToken);

    /// <summary>Sends <c>RETR</c> for each message (pipelined when there are several); read each answer with <see cref="ReadRetrAsync"/>, in order.</summary>
    Task SendRetrAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken);

    /// <summary>
    /// Reads the status line of the next RETR answer: <c>-ERR</c> throws <see cref="Pop3CommandException"/> (the session goes on);
    /// <c>+OK</c> returns the body as a stream read straight from the connection. Read it to its end (or drain it) before the next
    /// answer.
    /// </summary>
    Task<RetrStream> ReadRetrAsync(int index, long maxBytes, CancellationToken cancellationToken);

    /// <summary>DELE (takes effect at QUIT).</summary>
    Task DeleteAsync(int index, CancellationToken cancellationToken);

    /// <summary>QUIT: commits deletions and closes. <c>-ERR</c> (nothing committed) throws <see cref="Pop3CommandException"/>.</summary>
    Task QuitAsync(CancellationToken cancellationToken);
}

/// <summary>Creates POP3 sessions for an account.</summary>
internal interface IPop3ConnectionFactory
{
    IPop3Connection Create(SmartPopAccount account);
}
