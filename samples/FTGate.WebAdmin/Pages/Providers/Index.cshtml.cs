using System.Text.Json.Nodes;
using FTGate.OAuth;
using FTGate.Samples;
using FTGate.WebAdmin.Configuration;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FTGate.WebAdmin.Pages;

/// <summary>The Open Authentication list: providers with a status column, and "add" with a name and a type.</summary>
internal sealed class ProvidersIndexModel(ConfigurationFile file, FTGateRuntime runtime) : PageModel
{
    public IReadOnlyList<ProviderRow> Rows { get; private set; } = [];

    public string? ConfigurationError { get; private set; }

    public string? AddError { get; private set; }

    public async Task OnGetAsync(CancellationToken cancellationToken) => await LoadAsync(cancellationToken);

    public async Task<IActionResult> OnPostAddAsync(string? name, string? type, CancellationToken cancellationToken)
    {
        name = name?.Trim();
        ProviderTypeDefinition? definition = ProviderSchema.Find(type);
        if (string.IsNullOrEmpty(name) || definition is null)
        {
            AddError = "Enter a name and choose a type.";
        }
        else if (NameRules.Check("Provider", name) is { Count: > 0 } problems)
        {
            AddError = string.Join(" ", problems);
        }
        else if (file.Providers().Any(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)))
        {
            AddError = $"A provider named '{name}' already exists.";
        }

        if (AddError is not null)
        {
            await LoadAsync(cancellationToken);
            return Page();
        }

        // Nothing is saved until the property page validates: an empty provider would fail the SDK's validation.
        return Redirect($"/providers/edit?name={Uri.EscapeDataString(name!)}&type={definition!.Kind}");
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        var rows = new List<ProviderRow>();
        IAuthProviderRegistry? registry = null;
        try
        {
            registry = runtime.Registry;
        }
        catch (FTGateException ex)
        {
            ConfigurationError = ex.Message + (ex.Remedy is null ? "" : " " + ex.Remedy);
        }

        foreach ((string name, JsonNode? node) in file.Providers())
        {
            JsonObject settings = node as JsonObject ?? [];
            ProviderTypeDefinition? type = ProviderSchema.Find(settings["Type"]?.ToString());
            string? blocked = registry is null ? null : runtime.BlockedProvider(name);
            rows.Add(blocked is null
                ? await ProviderRow.CreateAsync(name, type, settings, registry, cancellationToken)
                : new ProviderRow(name, type?.DisplayName ?? "?", settings["UserName"]?.ToString() ?? "", "blocked: settings changed, re-enter the secret", "error", blocked));
        }

        Rows = rows;
    }
}

/// <summary>One line of the provider list.</summary>
internal sealed record ProviderRow(string Name, string TypeName, string UserName, string Status, string StatusClass, string? Remedy)
{
    public static async Task<ProviderRow> CreateAsync(string name, ProviderTypeDefinition? type, JsonObject settings, IAuthProviderRegistry? registry, CancellationToken cancellationToken)
    {
        string user = settings["UserName"]?.ToString() ?? settings["Mailbox"]?.ToString() ?? "";
        (string status, string css, string? remedy) = await GetStatusAsync(name, user, registry, cancellationToken);
        return new ProviderRow(name, type?.DisplayName ?? settings["Type"]?.ToString() ?? "?", user, status, css, remedy);
    }

    /// <summary>The status column: the SDK's own status sentence, or why the provider cannot be used.</summary>
    public static async Task<(string Status, string CssClass, string? Remedy)> GetStatusAsync(string name, string user, IAuthProviderRegistry? registry, CancellationToken cancellationToken)
    {
        if (registry is null)
        {
            return ("unavailable", "error", null);
        }

        try
        {
            IAuthProvider provider = registry.Get(name);
            AuthorizationStatus status = await provider.GetStatusAsync(provider.UserName ?? user, cancellationToken);
            string? remedy = status.State == AuthorizationState.ReauthorizationRequired ? status.Remedy : null;
            return (status.ToString(), status.State.ToString().ToLowerInvariant(), remedy);
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            return ("configuration invalid", "error", string.Join(" ", ex.Failures));
        }
        catch (FTGateException ex)
        {
            return ("error: " + ex.Message, "error", ex.Remedy);
        }
        catch (NotSupportedException ex)
        {
            return ("unavailable", "error", ex.Message);
        }
    }
}
