using System.Text.Json.Nodes;
using FTGate.OAuth;
using FTGate.SmartPop;
using FTGate.WebAdmin.Configuration;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace FTGate.WebAdmin.Pages;

/// <summary>A SmartPop account: General, Authentication (Auth Type: Password or a provider) and Advanced tabs; Test; Fetch now.</summary>
internal sealed class AccountEditModel(ConfigurationFile file, FTGateRuntime runtime) : PageModel
{
    public static readonly FieldDefinition PasswordField = new("Password", "Password", FieldKind.Secret, "Only for Auth Type Password.");

    public static readonly FieldDefinition SaslField = new("SaslMechanism", "SASL mechanism", FieldKind.Select, "Only for OAuth2: Auto uses XOAUTH2, or OAUTHBEARER when the server offers only that.", ["Auto", "XOAuth2", "OAuthBearer"]);

    private JsonObject _settings = [];

    [BindProperty(SupportsGet = true)]
    public string Name { get; set; } = "";

    public bool Exists { get; private set; }

    public bool Saved { get; private set; }

    public ErrorView? Error { get; private set; }

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

        return new FieldView(field, field.Kind == FieldKind.Secret ? null : value, field.Kind == FieldKind.Secret && !string.IsNullOrEmpty(value));
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
        if (authType == AccountSchema.PasswordAuthType)
        {
            candidate.Remove("AuthProvider");
            candidate.Remove("SaslMechanism");
            if (!string.IsNullOrEmpty(password))
            {
                candidate["Password"] = password;
            }
            else if (Request.Form["clear.Password"] == "true")
            {
                candidate.Remove("Password");
            }
        }
        else
        {
            candidate["AuthProvider"] = authType;
            candidate.Remove("Password");
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

        IReadOnlyList<string> problems = runtime.ValidateAccount(Name, candidate, ProviderNames);
        if (problems.Count > 0)
        {
            _settings = candidate;
            Problems = problems;
            return Page();
        }

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

        await file.UpdateAsync(
            root => ConfigurationFile.Section(ConfigurationFile.Section(ConfigurationFile.Section(root, "FTGate"), "SmartPop"), "Accounts").Remove(Name),
            cancellationToken);
        return Redirect("/accounts");
    }

    private async Task RunAsync(Func<SmartPopAccount, Task> action)
    {
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
        }

        return true;
    }
}
