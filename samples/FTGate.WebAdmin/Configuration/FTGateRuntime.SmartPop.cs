using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using FTGate.SmartPop;
using Microsoft.Extensions.Options;

namespace FTGate.WebAdmin.Configuration;

/// <summary>SmartPop in the runtime: accounts from <c>FTGate:SmartPop:Accounts</c>, UIDLs and a Maildir in the data folder.</summary>
internal sealed partial class FTGateRuntime
{
    /// <summary>
    /// The sample's own key beside an account's SDK settings: a PEM file of root certificates the POP3 server's certificate
    /// must chain to (SmartPopAccount.TrustedRootCertificates, full chain validation with a custom root, host name still
    /// checked). Certificate validation is never switched off.
    /// </summary>
    public const string TrustedRootCertificateFileKey = "TrustedRootCertificateFile";

    /// <summary>Where "Fetch now" delivers: one Maildir per account under this folder.</summary>
    public string MaildirDirectory => Path.Combine(DataDirectory, "maildir");

    public ISmartPopClient SmartPopClient => Services.GetRequiredService<ISmartPopClient>();

    public ISmartPopAccounts SmartPopAccounts => Services.GetRequiredService<ISmartPopAccounts>();

    public IMessageSink MessageSink => Services.GetRequiredService<IMessageSink>();

    /// <summary>The Maildir an account's messages go to.</summary>
    public string MaildirOf(string accountName) => ((MaildirMessageSink)MessageSink).GetMaildir(accountName);

    /// <summary>Validates an account with SmartPop's own validator, plus what only the admin knows (provider names, CA file).</summary>
    public IReadOnlyList<string> ValidateAccount(string name, JsonObject settings, IReadOnlyCollection<string> providerNames)
    {
        SmartPopAccount account;
        try
        {
            account = Bind<SmartPopAccount>(settings);
        }
        catch (InvalidOperationException ex)
        {
            return [$"SmartPop account '{name}': {ex.Message}"];
        }

        account.Name = name;
        var problems = new List<string>();
        foreach (IValidateOptions<SmartPopAccount> validator in _validators.GetServices<IValidateOptions<SmartPopAccount>>())
        {
            ValidateOptionsResult result = validator.Validate(name, account);
            if (result.Failed)
            {
                problems.AddRange(result.Failures ?? [result.FailureMessage]);
            }
        }

        if (account.AuthProvider is { Length: > 0 } provider && !providerNames.Contains(provider))
        {
            problems.Add($"SmartPop account '{name}': AuthProvider '{provider}' is not a configured provider; add it under Open Authentication first.");
        }

        if (settings[TrustedRootCertificateFileKey]?.ToString() is { Length: > 0 } caFile)
        {
            try
            {
                X509Certificate2Collection roots = LoadRoots(caFile);
                foreach (X509Certificate2 root in roots)
                {
                    root.Dispose();
                }
            }
            catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException or InvalidOperationException)
            {
                problems.Add($"SmartPop account '{name}': {TrustedRootCertificateFileKey} '{caFile}' cannot be read as PEM certificates: {ex.Message}");
            }
        }

        return problems;
    }

    /// <summary>Reads the root certificates of a PEM file (one or several).</summary>
    public static X509Certificate2Collection LoadRoots(string path)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(path);
        if (roots.Count == 0)
        {
            throw new InvalidOperationException("the file holds no certificate");
        }

        return roots;
    }

    private static void ConfigureSmartPopValidation(IServiceCollection services) => services.AddFTGate().AddSmartPop();

    private void ConfigureSmartPop(IFTGateBuilder builder)
    {
        builder.AddSmartPop()
            .UseFileUidlStore(Path.Combine(DataDirectory, "uidl"))
            .UseMaildirSink(MaildirDirectory, o => o.FolderPerAccount = true);

        // TrustedRootCertificateFile is bound by the SDK itself (SmartPopAccount.TrustedRootCertificateFile).
    }
}
