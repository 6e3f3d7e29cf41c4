using System.Text.Json.Nodes;
using FTGate.OAuth;
using FTGate.SmartPop;
using FTGate.Samples;
using FTGate.WebAdmin.Configuration;
using FTGate.WebAdmin.Security;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace FTGate.WebAdmin.Pages;

/// <summary>A SmartPop account: General, Authentication (Auth Type: Password or a provider) and Advanced tabs; Test; Fetch now.</summary>
internal sealed class AccountEditModel(ConfigurationFile file, FTGateRuntime runtime, SecretVault vault) : PageModel
{
    public static readonly FieldDefinition PasswordField = new("Password", "Password", FieldKind.Secret, "Only for Auth Type Password.");

    public static readonly FieldDefinition SaslField = new("SaslMechanism", "SASL mechanism", FieldKind.Select, "Only for OAuth2: Auto uses XOAUTH2, or OAUTHBEARER when the server offers only that.", ["Auto", "XOAuth2", "OAuthBearer"]);

    private JsonObject _settings = [];
    private IReadOnlyDictionary<string, string> _storedSecrets = new Dictionary<string, string>();

    [BindProperty(SupportsGet = true)]
    public string Name { get; set; } = "";

    public bool Exists { get; private set; }

    public bool Saved { get; private set; }

    public ErrorView? Error { get; private set; }

    /// <summary>Why the account is withheld from the SDK (its password was entered for another server), if it is.</summary>
    public string? Blocked { get; private set; }

    public IReadOnlyList<string> Problems { get; private set; } = [];

    public IReadOnlyList<string> ProviderNames { get; private set; } = [];

    public TestReport? Report { get; private set; }

    public FetchResult? Fetch { get; private set; }

    public string? Maildir { get; private set; }

    public string AuthType => _settings["AuthProvider"]?.ToString() is { Length: > 0 } provider ? provider : AccountSchema.PasswordAuthType;

    public static string Mark(TestStepStatus status) => status switch
    {
        TestStepStatus.Passed => "✓",
        TestStepStatus.Warning => "⚠",
        TestStepStatus.Failed => "✗",
        _ => "–",
    };

    public static string MarkClass(TestStepStatus status) => status switch
    {
        TestStepStatus.Passed => "ok",
        TestStepStatus.Warning => "warn",
        TestStepStatus.Failed => "bad",
        _ => "help",
    };

    public static string StepName(TestStepKind kind) => kind switch
    {
        TestStepKind.ResolveHost => "Resolve host",
        TestStepKind.Connect => "Connect",
        TestStepKind.TlsHandshake => "TLS and certificate",
        TestStepKind.Capabilities => "Capabilities",
        TestStepKind.TokenAcquisition => "Token",
        TestStepKind.TokenInspection => "Token contents",
        TestStepKind.Login => "Login",
        TestStepKind.Stat => "STAT (mailbox readable)",
        _ => kind.ToString(),
    };

    public FieldView FieldView(FieldDefinition field)
    {
        string? value = _settings[field.Key]?.ToString();
        if (field.Kind == FieldKind.Checkbox && value is null)
        {
            value = AccountSchema.CheckboxDefault(field.Key) ? "true" : "false";
        }

        return new FieldView(field, field.Kind == FieldKind.Secret ? null : value, field.Kind == FieldKind.Secret && _storedSecrets.ContainsKey(field.Key));
    }

    public IActionResult OnGet(bool saved)
    {
        if (!Load())
        {
            return NotFound();
        }

        Saved = saved;
        return Page();
    }

    public async Task<IActionResult> OnPostSaveAsync(CancellationToken cancellationToken)
    {
        if (!Load())
        {
            return NotFound();
        }

        JsonObject candidate = (JsonObject)_settings.DeepClone();
        foreach (FieldDefinition field in AccountSchema.General.Concat(AccountSchema.Advanced))
        {
            string? posted = Request.Form["f." + field.Key].FirstOrDefault()?.Trim();
            if (field.Kind == FieldKind.Checkbox)
            {
                candidate[field.Key] = posted == "true";
            }
            else if (string.IsNullOrEmpty(posted))
            {
                candidate.Remove(field.Key);
            }
            else
            {
                candidate[field.Key] = posted;
            }
        }

        string authType = Request.Form["f.AuthType"].FirstOrDefault() ?? AccountSchema.PasswordAuthType;
        string? password = Request.Form["f.Password"].FirstOrDefault();
        string? sasl = Request.Form["f.SaslMechanism"].FirstOrDefault();
        SecretBinding.Extract(candidate, SecretBinding.AccountSecretFields);
        var problems = new List<string>(NameRules.Check("Account", Name));
        SecretBinding.Record? record = vault.AccountRecord(Name);
        SortedDictionary<string, string> bound = SecretBinding.AccountBound(Name, candidate);
        bool rebound = record is not null && !record.Matches(bound);
        var secrets = new Dictionary<string, string>(StringComparer.Ordinal);
        if (authType == AccountSchema.PasswordAuthType)
        {
            candidate.Remove("AuthProvider");
            candidate.Remove("SaslMechanism");
            if (!string.IsNullOrEmpty(password))
            {
                secrets["Password"] = password;
            }
            else if (Request.Form["clear.Password"] != "true" && record is not null && record.Secrets.TryGetValue("Password", out string? stored))
            {
                if (rebound)
                {
                    problems.Add($"SmartPop account '{Name}': {SecretBinding.Explain(record, bound)}, and the stored password was entered for the old server: it is never sent to another one. "
                        + "Enter the password again (or tick 'clear' to save without it).");
                }
                else
                {
                    secrets["Password"] = stored;
                }
            }
        }
        else
        {
            candidate["AuthProvider"] = authType;
            candidate.Remove("PasswordEnvironmentVariable");
            if (string.IsNullOrEmpty(sasl) || sasl == "Auto")
            {
                candidate.Remove("SaslMechanism");
            }
            else
            {
                candidate["SaslMechanism"] = sasl;
            }
        }

        var withSecrets = (JsonObject)candidate.DeepClone();
        foreach ((string field, string value) in secrets)
        {
            withSecrets[field] = value;
        }

        problems.AddRange(runtime.ValidateAccount(Name, withSecrets, ProviderNames));
        if (problems.Count > 0)
        {
            _settings = candidate;
            _storedSecrets = rebound ? new Dictionary<string, string>() : record?.Secrets ?? new Dictionary<string, string>();
            Problems = problems;
            return Page();
        }

        await vault.BindAccountAsync(Name, candidate, secrets, cancellationToken);
        await file.UpdateAsync(
            root => ConfigurationFile.Section(ConfigurationFile.Section(ConfigurationFile.Section(root, "FTGate"), "SmartPop"), "Accounts")[Name] = candidate,
            cancellationToken);
        return Redirect($"/accounts/edit?name={Uri.EscapeDataString(Name)}&saved=true");
    }

    public async Task<IActionResult> OnPostTestAsync(CancellationToken cancellationToken)
    {
        if (!Load() || !Exists)
        {
            return NotFound();
        }

        await RunAsync(async account => Report = await runtime.SmartPopClient.TestAsync(account, cancellationToken));
        return Page();
    }

    public async Task<IActionResult> OnPostFetchAsync(CancellationToken cancellationToken)
    {
        if (!Load() || !Exists)
        {
            return NotFound();
        }

        await RunAsync(async account =>
        {
            Maildir = runtime.MaildirOf(account.Name);
            Fetch = await runtime.SmartPopClient.FetchAsync(account, runtime.MessageSink, cancellationToken: cancellationToken);
        });
        return Page();
    }

    public async Task<IActionResult> OnPostDeleteAsync(CancellationToken cancellationToken)
    {
        if (!Load() || !Exists)
        {
            return NotFound();
        }

        // A later account of the same name inherits nothing: its remembered UIDLs and its bound password go.
        await runtime.Services.GetRequiredService<IUidlStore>().PruneAsync(Name, [], cancellationToken);
        await vault.ForgetAccountAsync(Name, cancellationToken);
        await file.UpdateAsync(
            root => ConfigurationFile.Section(ConfigurationFile.Section(ConfigurationFile.Section(root, "FTGate"), "SmartPop"), "Accounts").Remove(Name),
            cancellationToken);
        return Redirect("/accounts");
    }

    private async Task RunAsync(Func<SmartPopAccount, Task> action)
    {
        if (Blocked is not null)
        {
            Error = new ErrorView(Blocked, "Enter the password again (or confirm the settings) and Save.", FTGateErrorCodes.ConfigurationInvalid);
            return;
        }

        try
        {
            await action(runtime.SmartPopAccounts.Get(Name));
        }
        catch (OptionsValidationException ex)
        {
            Problems = [.. ex.Failures];
        }
        catch (FTGateException ex)
        {
            Error = ErrorView.From(ex);
        }
    }

    private bool Load()
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            return false;
        }

        ProviderNames = [.. file.Providers().Select(p => p.Key)];
        if (file.Accounts()[Name] is JsonObject existing)
        {
            Exists = true;
            _settings = existing;
            _storedSecrets = vault.Account(Name, existing).Secrets;
            Blocked = runtime.BlockedAccount(Name);
            if (Blocked is null && SecretBinding.Read(existing, "AuthProvider") is { Length: > 0 } provider && runtime.BlockedProvider(provider) is { } providerBlocked)
            {
                Blocked = $"Provider '{provider}' is blocked: {providerBlocked}";
            }
        }

        return true;
    }
}
