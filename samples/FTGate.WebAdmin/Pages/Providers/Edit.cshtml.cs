using System.Text.Json.Nodes;
using FTGate.OAuth;
using FTGate.Samples;
using FTGate.WebAdmin.Configuration;
using FTGate.WebAdmin.Security;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace FTGate.WebAdmin.Pages;

/// <summary>An error as the admin sees it: what happened, what to do, and the SDK's stable code.</summary>
internal sealed record ErrorView(string Message, string? Remedy, string? Code)
{
    public static ErrorView From(FTGateException ex)
    {
        string message = ex.Message;
        if (ex is AuthorizationException { Error: { } error } auth && !message.Contains(error, StringComparison.Ordinal))
        {
            message += $" (the provider said: {error}{(auth.ErrorDescription is null ? "" : " — " + auth.ErrorDescription)})";
        }

        return new ErrorView(message, ex.Remedy, ex.ErrorCode);
    }
}

/// <summary>What one field shows.</summary>
internal sealed record FieldView(FieldDefinition Definition, string? Value, bool HasStoredSecret);

/// <summary>The provider's property page: every field, validation with the SDK's messages, Authorize Now.</summary>
internal sealed class ProviderEditModel(ConfigurationFile file, FTGateRuntime runtime, PendingAuthorizations pending, WebAdminOptions options, SecretVault vault, ILogger<ProviderEditModel> logger) : PageModel
{
    private JsonObject _settings = [];
    private IReadOnlyDictionary<string, string> _storedSecrets = new Dictionary<string, string>();

    [BindProperty(SupportsGet = true)]
    public string Name { get; set; } = "";

    public ProviderTypeDefinition Type { get; private set; } = ProviderSchema.Types[^1];

    public bool Exists { get; private set; }

    public bool Saved { get; private set; }

    public string? Message { get; private set; }

    public ErrorView? Error { get; private set; }

    public IReadOnlyList<string> Problems { get; private set; } = [];

    public string Status { get; private set; } = "";

    public string StatusClass { get; private set; } = "";

    /// <summary>Why the provider is withheld from the SDK (its secret was entered for other settings), if it is.</summary>
    public string? Blocked { get; private set; }

    public string RedirectUri => CallbackUri(options).AbsoluteUri;

    /// <summary>The redirect URI: this site's /oauth/callback under its public URL (configured, never taken from the request).</summary>
    public static Uri CallbackUri(WebAdminOptions options) => new(options.PublicBaseUri, WebAdminApp.OAuthCallbackPath);

    public FieldView FieldView(FieldDefinition field) => new(
        field,
        field.Kind == FieldKind.Secret ? null : Value(field.Key),
        field.Kind == FieldKind.Secret && _storedSecrets.ContainsKey(field.Key));

    /// <summary>Whether a field holds something other than its default (advanced fields with values are shown open).</summary>
    public bool HasValue(FieldDefinition field) =>
        Value(field.Key) is { Length: > 0 } value
        && !(field.Kind == FieldKind.Select && string.Equals(value, field.Choices![0], StringComparison.OrdinalIgnoreCase));

    public string? Value(string key) => _settings[key] switch
    {
        null => null,
        JsonArray array => string.Join(' ', array.Select(v => v?.ToString())),
        JsonNode node => node.ToString(),
    };

    public async Task<IActionResult> OnGetAsync(string? type, bool saved, string? message, CancellationToken cancellationToken)
    {
        if (!Load(type))
        {
            return NotFound();
        }

        Saved = saved;
        Message = message switch
        {
            "forgotten" => "The stored tokens of this provider were removed.",
            _ => null,
        };
        await LoadStatusAsync(cancellationToken);
        return Page();
    }

    public async Task<IActionResult> OnPostSaveAsync(string? type, CancellationToken cancellationToken)
    {
        if (!Load(type))
        {
            return NotFound();
        }

        JsonObject candidate = (JsonObject)_settings.DeepClone();
        candidate["Type"] = Type.Kind.ToString();
        var entered = new Dictionary<string, string>(StringComparer.Ordinal);
        var cleared = new HashSet<string>(StringComparer.Ordinal);
        foreach (FieldDefinition field in Type.Fields)
        {
            string? posted = Request.Form["f." + field.Key].FirstOrDefault()?.Trim();
            switch (field.Kind)
            {
                case FieldKind.Secret:
                    // Secrets never go into the file: they are kept in the token store, bound to these settings.
                    if (!string.IsNullOrEmpty(posted))
                    {
                        entered[field.Key] = posted;
                    }
                    else if (Request.Form["clear." + field.Key] == "true")
                    {
                        cleared.Add(field.Key);
                    }

                    break;
                case FieldKind.Checkbox:
                    if (posted == "true")
                    {
                        candidate[field.Key] = "true";
                    }
                    else
                    {
                        candidate.Remove(field.Key);
                    }

                    break;
                case FieldKind.List:
                    string[] items = (posted ?? "").Split([' ', ',', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries);
                    if (items.Length > 0)
                    {
                        candidate[field.Key] = new JsonArray([.. items.Select(i => (JsonNode?)JsonValue.Create(i))]);
                    }
                    else
                    {
                        candidate.Remove(field.Key);
                    }

                    break;
                default:
                    if (!string.IsNullOrEmpty(posted))
                    {
                        candidate[field.Key] = posted;
                    }
                    else
                    {
                        candidate.Remove(field.Key);
                    }

                    break;
            }
        }

        SecretBinding.Extract(candidate, SecretBinding.ProviderSecretFields);
        var problems = new List<string>(NameRules.Check("Provider", Name));
        SecretBinding.Record? record = vault.ProviderRecord(Name);
        SortedDictionary<string, string> bound = SecretBinding.ProviderBound(Name, candidate);
        bool rebound = record is not null && !record.Matches(bound);
        var secrets = new Dictionary<string, string>(StringComparer.Ordinal);
        if (record is not null)
        {
            if (!rebound)
            {
                foreach ((string field, string value) in record.Secrets)
                {
                    secrets[field] = value;
                }
            }
            else
            {
                foreach (string field in record.Secrets.Keys.Where(f => !entered.ContainsKey(f) && !cleared.Contains(f)))
                {
                    problems.Add($"Provider '{Name}': {SecretBinding.Explain(record, bound)}, and the stored {field} was entered for the old settings: it is never sent anywhere else. "
                        + $"Enter the {field} again (or tick 'clear' to save without it); the tokens of the old settings are removed when you save.");
                }
            }
        }

        foreach (string field in cleared)
        {
            secrets.Remove(field);
        }

        foreach ((string field, string value) in entered)
        {
            secrets[field] = value;
        }

        var withSecrets = (JsonObject)candidate.DeepClone();
        foreach ((string field, string value) in secrets)
        {
            withSecrets[field] = value;
        }

        problems.AddRange(runtime.ValidateProvider(Name, withSecrets));
        if (problems.Count > 0)
        {
            _settings = candidate;
            _storedSecrets = rebound ? new Dictionary<string, string>() : record?.Secrets ?? new Dictionary<string, string>();
            Problems = problems;
            await LoadStatusAsync(cancellationToken);
            return Page();
        }

        if (rebound)
        {
            // The grant (and any sign-in in progress) belongs to the old settings: remove it locally, never revoke it at the
            // new endpoints.
            int removed = await runtime.TokenStore.RemoveProviderDataAsync(Name, Users(_settings).Concat(Users(candidate)), cancellationToken);
            logger.LogWarning("Provider '{Provider}': bound settings changed ({Change}); {Count} stored token entries of the old settings removed.", Name, SecretBinding.Explain(record!, bound), removed);
        }

        await vault.BindProviderAsync(Name, candidate, secrets, cancellationToken);
        await file.UpdateAsync(root => ConfigurationFile.Section(ConfigurationFile.Section(root, "FTGate"), "Providers")[Name] = candidate, cancellationToken);
        return Redirect($"/providers/edit?name={Uri.EscapeDataString(Name)}&saved=true");
    }

    private static IEnumerable<string> Users(JsonObject settings) =>
        new[] { SecretBinding.Read(settings, "UserName"), SecretBinding.Read(settings, "Mailbox") }.Where(u => u.Length > 0);

    public async Task<IActionResult> OnPostAuthorizeAsync(CancellationToken cancellationToken)
    {
        if (!Load(null) || !Exists)
        {
            return NotFound();
        }

        if (runtime.BlockedProvider(Name) is { } blocked)
        {
            Error = new ErrorView(blocked, "Enter the client secret again (or confirm the settings) and Save, then Authorize Now.", FTGateErrorCodes.ConfigurationInvalid);
            await LoadStatusAsync(cancellationToken);
            return Page();
        }

        try
        {
            IAuthProvider provider = runtime.Registry.Get(Name);
            AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(CallbackUri(options)), cancellationToken);
            pending.Add(HttpContext, challenge.State, Name, challenge.ExpiresOn);
            return Redirect(challenge.AuthorizationUri.AbsoluteUri);
        }
        catch (OptionsValidationException ex)
        {
            Problems = [.. ex.Failures];
        }
        catch (FTGateException ex)
        {
            Error = ErrorView.From(ex);
        }
        catch (NotSupportedException ex)
        {
            Error = new ErrorView(ex.Message, "Use a provider type that this build supports.", null);
        }

        await LoadStatusAsync(cancellationToken);
        return Page();
    }

    public async Task<IActionResult> OnPostSignOutAsync(CancellationToken cancellationToken)
    {
        if (!Load(null) || !Exists)
        {
            return NotFound();
        }

        try
        {
            if (runtime.BlockedProvider(Name) is null)
            {
                // Revocation goes only to the endpoint the grant was made for (a provider whose settings changed is blocked).
                IAuthProvider provider = runtime.Registry.Get(Name);
                await provider.SignOutAsync(provider.UserName ?? Value("UserName") ?? "", cancellationToken);
            }

            await runtime.TokenStore.RemoveProviderDataAsync(Name, Users(_settings), cancellationToken);
            return Redirect($"/providers/edit?name={Uri.EscapeDataString(Name)}&message=forgotten");
        }
        catch (FTGateException ex)
        {
            Error = ErrorView.From(ex);
        }
        catch (Exception ex) when (ex is OptionsValidationException or NotSupportedException)
        {
            Error = new ErrorView(ex.Message, null, null);
        }

        await LoadStatusAsync(cancellationToken);
        return Page();
    }

    public async Task<IActionResult> OnPostDeleteAsync(CancellationToken cancellationToken)
    {
        if (!Load(null) || !Exists)
        {
            return NotFound();
        }

        // A later provider of the same name inherits nothing: grant, status, pending sign-ins and the bound secrets go.
        if (runtime.BlockedProvider(Name) is null)
        {
            try
            {
                IAuthProvider provider = runtime.Registry.Get(Name);
                if ((provider.UserName ?? Value("UserName")) is { Length: > 0 } user)
                {
                    await provider.SignOutAsync(user, cancellationToken);
                }
            }
            catch (Exception ex) when (ex is FTGateException or OptionsValidationException or NotSupportedException or HttpRequestException)
            {
                logger.LogWarning("Provider '{Provider}': the grant could not be revoked at the provider while deleting it ({Error}); it is removed here.", Name, ex.Message);
            }
        }

        await runtime.TokenStore.RemoveProviderDataAsync(Name, Users(_settings), cancellationToken);
        await vault.ForgetProviderAsync(Name, cancellationToken);
        await file.UpdateAsync(root => ConfigurationFile.Section(ConfigurationFile.Section(root, "FTGate"), "Providers").Remove(Name), cancellationToken);
        return Redirect("/providers");
    }

    private bool Load(string? type)
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            return false;
        }

        JsonObject providers = file.Providers();
        if (providers[Name] is JsonObject existing)
        {
            Exists = true;
            _settings = existing;
            type = existing["Type"]?.ToString();
            SecretVerdict verdict = vault.Provider(Name, existing);
            _storedSecrets = verdict.Secrets;
        }

        ProviderTypeDefinition? definition = ProviderSchema.Find(type);
        if (definition is null)
        {
            return false;
        }

        Type = definition;
        return true;
    }

    private async Task LoadStatusAsync(CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return;
        }

        if (runtime.BlockedProvider(Name) is { } blocked)
        {
            Blocked = blocked;
            (Status, StatusClass) = ("blocked: settings changed, re-enter the secret", "error");
            return;
        }

        IAuthProviderRegistry? registry;
        try
        {
            registry = runtime.Registry;
        }
        catch (FTGateException)
        {
            registry = null;
        }

        (Status, StatusClass, _) = await ProviderRow.GetStatusAsync(Name, Value("UserName") ?? Value("Mailbox") ?? "", registry, cancellationToken);
    }
}
