namespace FTGate.SmartPop;

/// <summary>SmartPop's stable error codes (<see cref="FTGate.OAuth.FTGateException.ErrorCode"/>), explained in docs/troubleshooting.md.</summary>
public static class SmartPopErrorCodes
{
    /// <summary>The host name could not be resolved.</summary>
    public const string HostNotFound = "pop3_host_not_found";

    /// <summary>The TCP connection could not be made (refused, unreachable, timed out).</summary>
    public const string ConnectFailed = "pop3_connect_failed";

    /// <summary>The TLS handshake failed or the server certificate was refused.</summary>
    public const string TlsFailed = "pop3_tls_failed";

    /// <summary>The account asks for STARTTLS but the server does not offer STLS.</summary>
    public const string StartTlsNotOffered = "pop3_starttls_not_offered";

    /// <summary>A secret would have gone over an unencrypted connection and AllowInsecureAuthentication is off.</summary>
    public const string InsecureAuthenticationRefused = "pop3_insecure_authentication_refused";

    /// <summary>The server offers no mechanism the account can use (for example no XOAUTH2/OAUTHBEARER).</summary>
    public const string MechanismNotOffered = "pop3_mechanism_not_offered";

    /// <summary>The server rejected the credentials (after one forced token refresh, for OAuth2).</summary>
    public const string AuthenticationRejected = "pop3_authentication_rejected";

    /// <summary>POP access is disabled for the mailbox (Exchange PopEnabled, Gmail POP setting).</summary>
    public const string PopDisabled = "pop3_access_disabled";

    /// <summary>The server answered a command with -ERR; the session is still usable.</summary>
    public const string CommandFailed = "pop3_command_failed";

    /// <summary>The connection broke or the server's reply could not be understood; the session is unusable.</summary>
    public const string ConnectionLost = "pop3_connection_lost";

    /// <summary>The server does not support UIDL and the account cannot fall back.</summary>
    public const string UidlNotSupported = "pop3_uidl_not_supported";

    /// <summary>The message sink failed to accept a message; it stays on the server and unseen.</summary>
    public const string DeliveryFailed = "smartpop_delivery_failed";

    /// <summary>A read or write took longer than the account's CommandTimeout (a stalled or dripping server); transient.</summary>
    public const string Timeout = "pop3_timeout";

    /// <summary>The server broke the POP3 protocol (a line over 64 KiB, an unparsable reply, bytes out of turn); the session is unusable.</summary>
    public const string ProtocolViolation = "pop3_protocol_violation";

    /// <summary>The fetch reached the account's FetchTimeout: it stopped starting downloads; the rest follows in the next poll.</summary>
    public const string FetchTimeout = "smartpop_fetch_timeout";

    /// <summary>A message is larger than MaxMessageSize (by LIST, or by the bytes actually received); it stays on the server.</summary>
    public const string MessageTooLarge = "message_too_large";

    /// <summary>The transfer of one message broke (connection lost or timed out during its RETR); it is retried in the next poll.</summary>
    public const string TransferBroken = "pop3_transfer_broken";

    /// <summary>The server answered QUIT with -ERR: it committed none of the session's deletions (they are retried).</summary>
    public const string QuitFailed = "pop3_quit_failed";

    /// <summary>A message failed in this many fetches in a row (see FetchResult.StuckMessages); it needs a person.</summary>
    public const string MessageStuck = "smartpop_message_stuck";

    /// <summary>The server's UIDL listing cannot identify every message (duplicates, missing or non-RFC UIDLs); SmartPop identifies those by content.</summary>
    public const string UidlUnreliable = "pop3_uidl_unreliable";

    /// <summary>The server's listings disagree (STAT vs LIST, UIDL vs LIST, numbers out of range, impossible sizes); only consistent messages are collected.</summary>
    public const string ListingInconsistent = "pop3_listing_inconsistent";

    /// <summary>No SmartPop account of that name is configured.</summary>
    public const string AccountUnknown = "smartpop_account_unknown";
}
