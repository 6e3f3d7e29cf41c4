using System.Text.Json.Nodes;
using FTGate.OAuth;
using FTGate.Samples;
using FTGate.WebAdmin.Configuration;

namespace FTGate.WebAdmin.Security;

/// <summary>Whether an item's secrets may be used with its current settings, and if not, why.</summary>
internal sealed record SecretVerdict(bool Usable, string? Reason, IReadOnlyDictionary<string, string> Secrets)
{
    public static readonly SecretVerdict NoSecrets = new(true, null, new Dictionary<string, string>());
}

/// <summary>
/// The web admin's secrets (client secrets, certificate passwords, mailbox passwords): kept in the encrypted token store,
/// never in the configuration file, each bound to the settings it was entered for (<see cref="SecretBinding"/>). A provider or
/// account whose bound settings no longer match is not handed to the SDK at all, so neither its secret nor its grant can reach
/// an endpoint it was not entered for.
/// </summary>
internal sealed class SecretVault(ITokenStore store, ILogger<SecretVault> logger)
{
    private readonly Lock _sync = new();
    private readonly Dictionary<string, SecretBinding.Record> _providers = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, SecretBinding.Record> _accounts = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Reads the bindings of every provider and account in the file. Secrets written into the file by hand are moved into the
    /// store, bound to the settings beside them, and removed from the file; an item never bound before is bound to its current
    /// settings (trust on first use: from then on an edit of its bound fields withholds the secret).
    /// </summary>
    public async Task LoadAsync(ConfigurationFile file, CancellationToken cancellationToken)
    {
        bool fileChanged = false;
        JsonObject snapshot = file.Snapshot();
        JsonObject providers = ConfigurationFile.Section(ConfigurationFile.Section(snapshot, "FTGate"), "Providers");
        JsonObject accounts = ConfigurationFile.Section(ConfigurationFile.Section(ConfigurationFile.Section(snapshot, "FTGate"), "SmartPop"), "Accounts");
        fileChanged |= await LoadSectionAsync(providers, _providers, SecretBinding.ProviderKey, SecretBinding.ProviderBound, SecretBinding.ProviderSecretFields, cancellationToken);
        fileChanged |= await LoadSectionAsync(accounts, _accounts, SecretBinding.AccountKey, SecretBinding.AccountBound, SecretBinding.AccountSecretFields, cancellationToken);
        if (fileChanged)
        {
            await file.UpdateAsync(
                root =>
                {
                    JsonObject ftgate = ConfigurationFile.Section(root, "FTGate");
                    ftgate["Providers"] = providers.DeepClone();
                    ConfigurationFile.Section(ftgate, "SmartPop")["Accounts"] = accounts.DeepClone();
                },
                cancellationToken);
            logger.LogWarning("Secrets found in the configuration file were moved into the encrypted token store and removed from the file.");
        }
    }

    public SecretVerdict Provider(string name, JsonObject settings) =>
        Verdict(_providers, name, SecretBinding.ProviderBound(name, settings), "client secret", "Open the provider, enter the client secret again (or confirm the settings) and Save; then Authorize Now again.");

    public SecretVerdict Account(string name, JsonObject settings) =>
        Verdict(_accounts, name, SecretBinding.AccountBound(name, settings), "password", "Open the account, enter the password again (or confirm the settings) and Save.");

    /// <summary>The binding a provider has now (to compare with an edit).</summary>
    public SecretBinding.Record? ProviderRecord(string name)
    {
        lock (_sync)
        {
            return _providers.GetValueOrDefault(name);
        }
    }

    public SecretBinding.Record? AccountRecord(string name)
    {
        lock (_sync)
        {
            return _accounts.GetValueOrDefault(name);
        }
    }

    public Task BindProviderAsync(string name, JsonObject settings, Dictionary<string, string> secrets, CancellationToken cancellationToken) =>
        BindAsync(_providers, SecretBinding.ProviderKey(name), name, SecretBinding.Record.For(SecretBinding.ProviderBound(name, settings), secrets), cancellationToken);

    public Task BindAccountAsync(string name, JsonObject settings, Dictionary<string, string> secrets, CancellationToken cancellationToken) =>
        BindAsync(_accounts, SecretBinding.AccountKey(name), name, SecretBinding.Record.For(SecretBinding.AccountBound(name, settings), secrets), cancellationToken);

    public Task ForgetProviderAsync(string name, CancellationToken cancellationToken) => ForgetAsync(_providers, SecretBinding.ProviderKey(name), name, cancellationToken);

    public Task ForgetAccountAsync(string name, CancellationToken cancellationToken) => ForgetAsync(_accounts, SecretBinding.AccountKey(name), name, cancellationToken);

    private SecretVerdict Verdict(Dictionary<string, SecretBinding.Record> records, string name, SortedDictionary<string, string> current, string what, string remedy)
    {
        SecretBinding.Record? record;
        lock (_sync)
        {
            record = records.GetValueOrDefault(name);
        }

        if (record is null)
        {
            return SecretVerdict.NoSecrets;
        }

        if (!record.Matches(current))
        {
            string reason = $"The stored {what} and tokens were entered for other settings ({SecretBinding.Explain(record, current)}); "
                + $"they are withheld and nothing is sent to the new settings. {remedy}";
            return new SecretVerdict(false, reason, new Dictionary<string, string>());
        }

        return new SecretVerdict(true, null, record.Secrets);
    }

    private async Task<bool> LoadSectionAsync(
        JsonObject section,
        Dictionary<string, SecretBinding.Record> records,
        Func<string, string> keyOf,
        Func<string, JsonObject, SortedDictionary<string, string>> boundOf,
        IReadOnlyList<string> secretFields,
        CancellationToken cancellationToken)
    {
        bool changed = false;
        foreach ((string name, JsonNode? node) in section.ToList())
        {
            if (node is not JsonObject settings)
            {
                continue;
            }

            SecretBinding.Record? record = await SecretBinding.ReadAsync(store, keyOf(name), cancellationToken);
            Dictionary<string, string> inFile = SecretBinding.Extract(settings, secretFields);
            changed |= inFile.Count > 0;
            if (record is null || inFile.Count > 0)
            {
                // First sight (or secrets typed into the file by hand): bind them to the settings beside them.
                var secrets = record is not null && record.Matches(boundOf(name, settings)) ? new Dictionary<string, string>(record.Secrets) : [];
                foreach ((string field, string value) in inFile)
                {
                    secrets[field] = value;
                }

                record = SecretBinding.Record.For(boundOf(name, settings), secrets);
                await SecretBinding.WriteAsync(store, keyOf(name), record, cancellationToken);
            }

            records[name] = record;
        }

        return changed;
    }

    private async Task BindAsync(Dictionary<string, SecretBinding.Record> records, string key, string name, SecretBinding.Record record, CancellationToken cancellationToken)
    {
        await SecretBinding.WriteAsync(store, key, record, cancellationToken);
        lock (_sync)
        {
            records[name] = record;
        }
    }

    private async Task ForgetAsync(Dictionary<string, SecretBinding.Record> records, string key, string name, CancellationToken cancellationToken)
    {
        await store.RemoveAsync(key, cancellationToken: cancellationToken);
        lock (_sync)
        {
            records.Remove(name);
        }
    }
}
