using FTGate.OAuth;

namespace FTGate.SmartPop;

/// <summary>
/// A POP3 failure. <see cref="IsFatal"/> splits the two kinds: a fatal one (<see cref="Pop3ConnectionException"/>) left the
/// connection unusable; a non-fatal one (<see cref="Pop3CommandException"/>) is a <c>-ERR</c> answer on a usable session.
/// <see cref="ServerReply"/> carries the server's own words, captured from the protocol stream.
/// </summary>
public abstract class Pop3Exception : FTGateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errorCode">The stable error code (<see cref="SmartPopErrorCodes"/>).</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="remedy">What to do.</param>
    /// <param name="accountName">The SmartPop account.</param>
    /// <param name="host">The server host.</param>
    /// <param name="serverReply">The server's own reply line(s), when there were any.</param>
    /// <param name="innerException">The underlying cause.</param>
    protected Pop3Exception(string errorCode, string message, string? remedy, string? accountName, string? host, string? serverReply, Exception? innerException)
        : base(errorCode, message, remedy, innerException)
    {
        AccountName = accountName;
        Host = host;
        ServerReply = serverReply;
    }

    /// <summary>The SmartPop account involved, when known.</summary>
    public string? AccountName { get; }

    /// <summary>The POP3 server host, when known.</summary>
    public string? Host { get; }

    /// <summary>The server's own reply (for example <c>-ERR [AUTH] Authentication failed.</c>), when there was one. Never contains a secret.</summary>
    public string? ServerReply { get; }

    /// <summary><see langword="true"/> when the connection is unusable and must be dropped.</summary>
    public abstract bool IsFatal { get; }
}

/// <summary>The connection could not be made, or broke, or the dialogue went out of sync: the session is unusable.</summary>
public sealed class Pop3ConnectionException : Pop3Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errorCode">The stable error code.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="remedy">What to do.</param>
    /// <param name="accountName">The account.</param>
    /// <param name="host">The host.</param>
    /// <param name="serverReply">The server's last words, when any.</param>
    /// <param name="innerException">The underlying cause.</param>
    public Pop3ConnectionException(string errorCode, string message, string? remedy = null, string? accountName = null, string? host = null, string? serverReply = null, Exception? innerException = null)
        : base(errorCode, message, remedy, accountName, host, serverReply, innerException)
    {
    }

    /// <inheritdoc/>
    public override bool IsFatal => true;
}

/// <summary>The server answered <c>-ERR</c> (or refused credentials); the session itself is still in sync.</summary>
public sealed class Pop3CommandException : Pop3Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errorCode">The stable error code.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="remedy">What to do.</param>
    /// <param name="accountName">The account.</param>
    /// <param name="host">The host.</param>
    /// <param name="command">The command that failed, without arguments that could be secret (for example <c>AUTH XOAUTH2</c>).</param>
    /// <param name="serverReply">The server's own reply.</param>
    /// <param name="innerException">The underlying cause.</param>
    public Pop3CommandException(string errorCode, string message, string? remedy = null, string? accountName = null, string? host = null, string? command = null, string? serverReply = null, Exception? innerException = null)
        : base(errorCode, message, remedy, accountName, host, serverReply, innerException)
    {
        Command = command;
    }

    /// <summary>The command that failed (never with secret arguments).</summary>
    public string? Command { get; }

    /// <inheritdoc/>
    public override bool IsFatal => false;
}
