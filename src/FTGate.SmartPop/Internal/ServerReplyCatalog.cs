namespace FTGate.SmartPop.Internal;

internal sealed record ServerReplyAdvice(string? ErrorCode, string? Cause, string? Remedy);

/// <summary>Maps the literal replies of real POP3 servers (Exchange Online, Gmail, Dovecot) to causes and remedies.</summary>
internal static class ServerReplyCatalog
{
    public static ServerReplyAdvice Explain(string? reply, SmartPopAccount account)
    {
        if (string.IsNullOrEmpty(reply))
        {
            return new ServerReplyAdvice(null, null, null);
        }

        if (Has(reply, "not enabled for POP access"))
        {
            return new ServerReplyAdvice(
                SmartPopErrorCodes.PopDisabled,
                "POP access is disabled in the Gmail account's settings.",
                "In Gmail open Settings → See all settings → Forwarding and POP/IMAP, choose \"Enable POP for all mail\" (or \"for mail that arrives from now on\") and save.");
        }

        if (Has(reply, "unknown user name or bad password") || Has(reply, "Authentication failure"))
        {
            return new ServerReplyAdvice(
                SmartPopErrorCodes.AuthenticationRejected,
                "Exchange Online answers this one text for several causes: (1) POP is disabled for the mailbox; (2) the token is for the wrong audience or lacks POP.AccessAsUser.All (app-only: POP.AccessAsApp); (3) the signed-in account is not the mailbox user; (4) app-only access without an Exchange service principal and mailbox permission.",
                $"Check in order: (1) Set-CASMailbox -Identity {account.UserName} -PopEnabled $true; (2) run the Test and read the token inspection step (aud https://outlook.office.com, scp POP.AccessAsUser.All); (3) authorize again signed in as {account.UserName}; (4) for app-only: New-ServicePrincipal -AppId <app id> -ObjectId <Enterprise Application object id>, then Add-MailboxPermission -Identity {account.UserName} -User <service principal id> -AccessRights FullAccess.");
        }

        if (Has(reply, "Logon failure"))
        {
            return new ServerReplyAdvice(
                SmartPopErrorCodes.AuthenticationRejected,
                "The server refused password (basic) authentication; Microsoft has turned it off for Exchange Online.",
                "Use OAuth2: configure a Microsoft provider and set the account's AuthProvider.");
        }

        if (Has(reply, "Protocol error. Connection is closed"))
        {
            return new ServerReplyAdvice(SmartPopErrorCodes.ConnectionLost, "The server refused a one-line AUTH XOAUTH2.", "Report this: SmartPop always uses the two-step form.");
        }

        if (Has(reply, "authenticated but not connected"))
        {
            return new ServerReplyAdvice(
                SmartPopErrorCodes.AuthenticationRejected,
                "The token is valid but not for this mailbox (wrong signed-in account, or missing mailbox permission).",
                $"Authorize again signed in as {account.UserName}, or grant the signed-in user FullAccess to the mailbox.");
        }

        if (Has(reply, "[SYS/TEMP]"))
        {
            return new ServerReplyAdvice(
                SmartPopErrorCodes.ConnectionLost,
                "The server could not check the credentials right now (its token validation or password backend is unavailable).",
                "Nothing to change: SmartPop retries later. If it persists, ask the server's administrator.");
        }

        if (Has(reply, "[IN-USE]"))
        {
            return new ServerReplyAdvice(SmartPopErrorCodes.CommandFailed, "Another POP3 session holds the mailbox lock.", "Make sure only one collector polls this mailbox; SmartPop retries later.");
        }

        if (Has(reply, "[AUTH]") || Has(reply, "Invalid credentials") || Has(reply, "\"status\""))
        {
            return new ServerReplyAdvice(
                SmartPopErrorCodes.AuthenticationRejected,
                account.UsesOAuth
                    ? "The server rejected the access token: it is expired or revoked, issued for another user, or lacks the scope the server requires."
                    : "The server rejected the user name or password.",
                account.UsesOAuth
                    ? $"Run the Test; if the token inspection step shows no problem, authorize provider '{account.AuthProvider}' again signed in as {account.UserName}."
                    : "Check the user name and password (for Gmail with 2-step verification an app password is required).");
        }

        if (Has(reply, "[SYS/PERM]"))
        {
            return new ServerReplyAdvice(SmartPopErrorCodes.CommandFailed, "The server refuses this permanently for the account.", "Read the server's words and ask the mailbox provider.");
        }

        return new ServerReplyAdvice(null, null, null);
    }

    private static bool Has(string text, string part) => text.Contains(part, StringComparison.OrdinalIgnoreCase);
}
