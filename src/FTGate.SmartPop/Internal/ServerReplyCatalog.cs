using System.Text.RegularExpressions;

namespace FTGate.SmartPop.Internal;

internal sealed record ServerReplyAdvice(string? ErrorCode, string? Cause, string? Remedy);

/// <summary>What the Test knows when a reply comes in: whose token it was, which mailbox, and what the token inspection proved.</summary>
internal sealed record ReplyContext(string TokenUser, bool OtherMailbox, bool AppOnly, JwtFindings? Findings)
{
    public static ReplyContext For(SmartPopAccount account) => new(account.UserName, false, false, null);
}

/// <summary>
/// Maps the literal replies of real POP3 servers (Exchange Online, Gmail, Dovecot) to causes and remedies. It reads the whole
/// reply: the RFC 2449 / RFC 3206 response code in brackets first (<c>[SYS/TEMP]</c>, <c>[SYS/PERM]</c>, <c>[IN-USE]</c>,
/// <c>[LOGIN-DELAY]</c>, <c>[AUTH]</c>), then the provider's own words. Exchange's one generic refusal is narrowed by what the
/// token inspection proved.
/// </summary>
internal static partial class ServerReplyCatalog
{
    [GeneratedRegex(@"^-ERR\s+\[([A-Za-z0-9\-/]+)\]", RegexOptions.CultureInvariant)]
    private static partial Regex ResponseCodeRegex();

    public static ServerReplyAdvice Explain(string? reply, SmartPopAccount account) => Explain(reply, account, ReplyContext.For(account));

    public static ServerReplyAdvice Explain(string? reply, SmartPopAccount account, ReplyContext context)
    {
        if (string.IsNullOrEmpty(reply))
        {
            return new ServerReplyAdvice(null, null, null);
        }

        // The final -ERR line decides; an error challenge ("+ eyJ...") may precede it in the reported words.
        string final = reply.Split(" (error challenge:", 2)[0].Trim();
        Match code = ResponseCodeRegex().Match(final);
        return (code.Success ? ByResponseCode(code.Groups[1].Value.ToUpperInvariant(), final, account, context) : null)
            ?? ByProviderText(reply, account, context)
            ?? new ServerReplyAdvice(null, null, null);
    }

    /// <summary>RFC 2449 §8 / RFC 3206 response codes: what the server classified itself.</summary>
    private static ServerReplyAdvice? ByResponseCode(string code, string reply, SmartPopAccount account, ReplyContext context) => code switch
    {
        "SYS/TEMP" => new ServerReplyAdvice(
            SmartPopErrorCodes.CommandFailed,
            "The server reports a temporary failure on its own side ([SYS/TEMP], RFC 3206): it could not check the credentials right now (Dovecot: its OAuth token introspection or password database did not answer). The token and the account settings are not the cause.",
            "Try again in a few minutes. If it persists, the mail server's administrator should read its authentication log (Dovecot: 'doveadm log errors'; check the passdb / oauth2 introspection_url is reachable)."),
        "SYS/PERM" when Has(reply, "not enabled for POP access") => PopDisabledInGmail(),
        "SYS/PERM" => new ServerReplyAdvice(
            SmartPopErrorCodes.CommandFailed,
            "The server refuses this permanently for the account ([SYS/PERM], RFC 3206): " + reply,
            "Read the server's words; the mailbox provider's administrator must change the account (retrying does not help)."),
        "IN-USE" => new ServerReplyAdvice(
            SmartPopErrorCodes.CommandFailed,
            "Another POP3 session holds the mailbox lock ([IN-USE], RFC 2449): a second collector, a mail client, or a session that has not timed out yet.",
            "Make sure only one collector polls this mailbox (no mail client on POP for it); the next poll tries again."),
        "LOGIN-DELAY" => new ServerReplyAdvice(
            SmartPopErrorCodes.CommandFailed,
            "The server refuses logins this soon after the previous one ([LOGIN-DELAY], RFC 2449; Gmail advertises LOGIN-DELAY 300).",
            "Poll this account less often: at least the server's LOGIN-DELAY apart (CAPA shows it; Gmail: 5 minutes)."),
        "AUTH" => RejectedCredentials(account, context),
        _ => null,
    };

    private static ServerReplyAdvice? ByProviderText(string reply, SmartPopAccount account, ReplyContext context)
    {
        if (Has(reply, "not enabled for POP access"))
        {
            return PopDisabledInGmail();
        }

        if (Has(reply, "unknown user name or bad password") || Has(reply, "Authentication failure"))
        {
            return ExchangeRefusal(account, context);
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
                $"The token is valid but not for mailbox {account.UserName} (wrong signed-in account, or missing mailbox permission).",
                $"Grant {context.TokenUser} FullAccess to the mailbox (Add-MailboxPermission -Identity {account.UserName} -User {context.TokenUser} -AccessRights FullAccess), or authorize the provider as the right user.");
        }

        if (Has(reply, "Invalid credentials") || Has(reply, "\"status\""))
        {
            return RejectedCredentials(account, context);
        }

        return null;
    }

    private static ServerReplyAdvice PopDisabledInGmail() => new(
        SmartPopErrorCodes.PopDisabled,
        "POP access is disabled in the Gmail account's settings.",
        "In Gmail open Settings → See all settings → Forwarding and POP/IMAP, choose \"Enable POP for all mail\" (or \"for mail that arrives from now on\") and save.");

    /// <summary>Gmail's and Dovecot's <c>[AUTH]</c>: the token (or password) itself was refused.</summary>
    private static ServerReplyAdvice RejectedCredentials(SmartPopAccount account, ReplyContext context)
    {
        if (!account.UsesOAuth)
        {
            return new ServerReplyAdvice(
                SmartPopErrorCodes.AuthenticationRejected,
                "The server rejected the user name or password.",
                "Check the user name and password (for Gmail with 2-step verification an app password is required).");
        }

        if (context.OtherMailbox)
        {
            return new ServerReplyAdvice(
                SmartPopErrorCodes.AuthenticationRejected,
                $"The token belongs to {context.TokenUser} but the mailbox is {account.UserName}: this server accepts a token only for the mailbox's own user (Gmail and Dovecot have no shared mailboxes over POP).",
                $"Give this mailbox its own provider authorized as {account.UserName} (or, for Google Workspace, a service account with domain-wide delegation), and point the account's AuthProvider to it.");
        }

        return new ServerReplyAdvice(
            SmartPopErrorCodes.AuthenticationRejected,
            "The server rejected the access token: it is expired or revoked, issued for another user, or lacks the scope the server requires (Gmail: https://mail.google.com/).",
            $"Authorize provider '{account.AuthProvider}' again signed in as {context.TokenUser}; if that does not help, check the scopes the provider requests.");
    }

    /// <summary>
    /// Exchange Online's one generic refusal, narrowed: what the token inspection proved right is not listed again, and a shared
    /// mailbox puts the missing FullAccess first.
    /// </summary>
    private static ServerReplyAdvice ExchangeRefusal(SmartPopAccount account, ReplyContext context)
    {
        var causes = new List<string>();
        var fixes = new List<string>();
        string mailbox = account.UserName;
        bool proven = context.Findings is { Proven: true };
        if (context.Findings is { Problems.Count: > 0 } findings)
        {
            causes.Add("the token is wrong: " + string.Join("; ", findings.Problems));
            fixes.Add("fix the token problems named in the token inspection step, then authorize again");
        }

        if (context.AppOnly || context.Findings is { AppOnly: true })
        {
            causes.Add("the application has no Exchange service principal or no FullAccess on the mailbox");
            fixes.Add($"New-ServicePrincipal -AppId <app id> -ObjectId <Enterprise Application object id>; Add-MailboxPermission -Identity {mailbox} -User <that object id> -AccessRights FullAccess");
        }
        else if (context.OtherMailbox)
        {
            causes.Add($"{context.TokenUser} lacks FullAccess on the shared mailbox {mailbox} (most likely)");
            fixes.Add($"Add-MailboxPermission -Identity {mailbox} -User {context.TokenUser} -AccessRights FullAccess (takes effect within about an hour)");
        }

        causes.Add($"POP is disabled for the mailbox {mailbox}");
        fixes.Add($"Set-CASMailbox -Identity {mailbox} -PopEnabled $true (check: Get-CASMailbox {mailbox} | fl PopEnabled)");
        if (!proven && context.Findings is not { Problems.Count: > 0 })
        {
            causes.Add("the token's audience or scope is not Exchange's POP (https://outlook.office.com, POP.AccessAsUser.All; app-only: POP.AccessAsApp), or it was issued to another user");
            fixes.Add("run the Test and read the token inspection step; authorize again signed in as " + context.TokenUser);
        }

        if (context.Findings is null && !context.AppOnly && !context.OtherMailbox)
        {
            // Nothing is known about the token (a fetch, not the Test): name the shared-mailbox and app-only set-ups too.
            causes.Add("for a shared mailbox: the provider's signed-in user lacks FullAccess on it");
            fixes.Add($"Add-MailboxPermission -Identity {mailbox} -User <the provider's signed-in user> -AccessRights FullAccess");
            causes.Add("for app-only access: the Exchange service principal or its mailbox permission is missing");
            fixes.Add($"New-ServicePrincipal -AppId <app id> -ObjectId <Enterprise Application object id>, then Add-MailboxPermission -Identity {mailbox} -User <that object id> -AccessRights FullAccess");
        }

        string intro = proven
            ? "Exchange Online refused the login although the token's audience, scope and user are right. Likely causes, in order: "
            : "Exchange Online answers this one text for several causes. Likely, in order: ";
        return new ServerReplyAdvice(
            SmartPopErrorCodes.AuthenticationRejected,
            intro + string.Join("; ", causes.Select((c, i) => $"({i + 1}) {c}")) + ".",
            "Check in order: " + string.Join("; ", fixes.Select((f, i) => $"({i + 1}) {f}")) + ".");
    }

    private static bool Has(string text, string part) => text.Contains(part, StringComparison.OrdinalIgnoreCase);
}
