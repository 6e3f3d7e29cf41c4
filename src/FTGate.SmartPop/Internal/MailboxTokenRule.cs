using FTGate.OAuth;

namespace FTGate.SmartPop.Internal;

/// <summary>
/// The shared-mailbox rule: a token belongs to the provider's authorized user (the person who ran Authorize Now), or, for an
/// app-only provider, to the application acting for the mailbox; the SASL user is always the account's mailbox
/// (<see cref="SmartPopAccount.UserName"/>). So an account <c>sales@contoso.com</c> on a provider authorized as
/// <c>alice@contoso.com</c> logs in to sales' mailbox with alice's token (Exchange needs alice to hold FullAccess on it).
/// </summary>
internal static class MailboxTokenRule
{
    /// <summary>The user name to ask the provider's token (and its authorization status) for.</summary>
    public static string TokenUser(IAuthProvider provider, SmartPopAccount account) =>
        provider is IAppOnlyAuthProvider { IsAppOnly: true } || string.IsNullOrWhiteSpace(provider.UserName)
            ? account.UserName
            : provider.UserName;

    /// <summary>Whether the account reads a mailbox other than the provider's own user's (a shared or delegated mailbox).</summary>
    public static bool IsOtherMailbox(IAuthProvider provider, SmartPopAccount account) =>
        !string.Equals(TokenUser(provider, account), account.UserName, StringComparison.OrdinalIgnoreCase);
}
