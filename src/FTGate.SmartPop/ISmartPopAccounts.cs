using System.Diagnostics.CodeAnalysis;
using FTGate.OAuth;
using Microsoft.Extensions.Options;

namespace FTGate.SmartPop;

/// <summary>The configured SmartPop accounts, by name.</summary>
public interface ISmartPopAccounts
{
    /// <summary>The names of all configured accounts, in registration order.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>Returns an account by name.</summary>
    /// <param name="name">The account's name (case-sensitive).</param>
    /// <returns>The account's current options.</returns>
    /// <exception cref="FTGateConfigurationException">No account has that name (error code <see cref="SmartPopErrorCodes.AccountUnknown"/>); the message lists the known ones.</exception>
    SmartPopAccount Get(string name);

    /// <summary>Looks an account up by name.</summary>
    /// <param name="name">The account's name.</param>
    /// <param name="account">The account, when found.</param>
    /// <returns><see langword="true"/> when found.</returns>
    bool TryGet(string name, [NotNullWhen(true)] out SmartPopAccount? account);
}

/// <summary>Conveniences that address accounts by name.</summary>
public static class SmartPopClientExtensions
{
    /// <summary>Fetches the named account into <paramref name="sink"/>.</summary>
    /// <param name="client">The client.</param>
    /// <param name="accounts">The account catalog.</param>
    /// <param name="accountName">The account's name.</param>
    /// <param name="sink">Where messages go.</param>
    /// <param name="progress">Receives progress reports.</param>
    /// <param name="cancellationToken">Stops after the current message.</param>
    /// <returns>What was done.</returns>
    /// <exception cref="FTGateConfigurationException">No account has that name.</exception>
    public static Task<FetchResult> FetchAsync(this ISmartPopClient client, ISmartPopAccounts accounts, string accountName, IMessageSink sink, IProgress<FetchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(accounts);
        return client.FetchAsync(accounts.Get(accountName), sink, progress, cancellationToken);
    }

    /// <summary>Tests the named account.</summary>
    /// <param name="client">The client.</param>
    /// <param name="accounts">The account catalog.</param>
    /// <param name="accountName">The account's name.</param>
    /// <param name="cancellationToken">Cancels the test.</param>
    /// <returns>The report.</returns>
    /// <exception cref="FTGateConfigurationException">No account has that name.</exception>
    public static Task<TestReport> TestAsync(this ISmartPopClient client, ISmartPopAccounts accounts, string accountName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(accounts);
        return client.TestAsync(accounts.Get(accountName), cancellationToken);
    }
}

internal sealed class SmartPopAccountRegistration(string name)
{
    public string Name { get; } = name;
}

internal sealed class SmartPopAccounts(IEnumerable<SmartPopAccountRegistration> registrations, IOptionsMonitor<SmartPopAccount> options) : ISmartPopAccounts
{
    public IReadOnlyList<string> Names { get; } = registrations.Select(r => r.Name).Distinct(StringComparer.Ordinal).ToList();

    public SmartPopAccount Get(string name) =>
        TryGet(name, out SmartPopAccount? account)
            ? account
            : throw new FTGateConfigurationException(
                SmartPopErrorCodes.AccountUnknown,
                Names.Count == 0
                    ? $"No SmartPop account named '{name}' is configured, and none are configured at all."
                    : $"No SmartPop account named '{name}' is configured. Known accounts: {string.Join(", ", Names.Select(n => $"'{n}'"))}.",
                "Use one of the known names (case-sensitive), or add the account under FTGate:SmartPop:Accounts:<name>.",
                innerException: null);

    public bool TryGet(string name, [NotNullWhen(true)] out SmartPopAccount? account)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Names.Contains(name, StringComparer.Ordinal))
        {
            account = null;
            return false;
        }

        account = options.Get(name);
        return true;
    }
}
