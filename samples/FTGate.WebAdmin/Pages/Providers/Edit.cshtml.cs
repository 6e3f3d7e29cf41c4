using System.Text.Json.Nodes;
using FTGate.OAuth;
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
internal sealed class ProviderEditModel(ConfigurationFile file, FTGateRuntime runtime, PendingAuthorizations pending, WebAdminOptions options) : PageModel
{
    private JsonObject _settings = [];

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

    public string RedirectUri => CallbackUri(options, Request).AbsoluteUri;

    /// <summary>The redirect URI: this site's /oauth/callback.</summary>
    public static Uri CallbackUri(WebAdminOptions options, HttpRequest request)
    {
        string baseUrl = !string.IsNullOrWhiteSpace(options.PublicBaseUrl) ? options.PublicBaseUrl.TrimEnd('/') : $"{request.Scheme}://{request.Host}";
        return new Uri(baseUrl + WebAdminApp.OAuthCallbackPath);
    }

    public FieldView FieldView(FieldDefinition field) => new(
        field,
        field.Kind == FieldKind.Secret ? null : Value(field.Key),
        field.Kind == FieldKind.Secret && !string.IsNullOrEmpty(Value(field.Key)));

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
        foreach (FieldDefinition field in Type.Fields)
        {
            string? posted = Request.Form["f." + field.Key].FirstOrDefault()?.Trim();
            switch (field.Kind)
            {
                case FieldKind.Secret:
                    if (!string.IsNullOrEmpty(posted))
                    {
                        candidate[field.Key] = posted;
                    }
                    else if (Request.Form["clear." + field.Key] == "true")
                    {
                        candidate.Remove(field.Key);
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

        IReadOnlyList<string> problems = runtime.ValidateProvider(Name, candidate);
        if (problems.Count > 0)
        {
            _settings = candidate;
            Problems = problems;
            await LoadStatusAsync(cancellationToken);
            return Page();
        }

        await file.UpdateAsync(root => ConfigurationFile.Section(ConfigurationFile.Section(root, "FTGate"), "Providers")[Name] = candidate, cancellationToken);
        return Redirect($"/providers/edit?name={Uri.EscapeDataString(Name)}&saved=true");
    }

    public async Task<IActionResult> OnPostAuthorizeAsync(CancellationToken cancellationToken)
    {
        if (!Load(null) || !Exists)
        {
            return NotFound();
        }

        try
        {
            IAuthProvider provider = runtime.Registry.Get(Name);
            AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(CallbackUri(options, Request)), cancellationToken);
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
            IAuthProvider provider = runtime.Registry.Get(Name);
            await provider.SignOutAsync(provider.UserName ?? Value("UserName") ?? "", cancellationToken);
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
