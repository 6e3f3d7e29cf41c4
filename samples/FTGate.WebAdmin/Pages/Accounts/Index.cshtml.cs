using System.Text.Json.Nodes;
using FTGate.Samples;
using FTGate.WebAdmin.Configuration;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FTGate.WebAdmin.Pages;

/// <summary>One line of the account list.</summary>
internal sealed record AccountRow(string Name, string Server, string UserName, string AuthType);

/// <summary>The SmartPop account list and "add".</summary>
internal sealed class AccountsIndexModel(ConfigurationFile file) : PageModel
{
    public IReadOnlyList<AccountRow> Rows { get; private set; } = [];

    public string? AddError { get; private set; }

    public void OnGet() => Load();

    public IActionResult OnPostAdd(string? name)
    {
        name = name?.Trim();
        if (NameRules.Check("Account", name) is { Count: > 0 } problems)
        {
            AddError = string.Join(" ", problems);
        }
        else if (file.Accounts().Any(a => string.Equals(a.Key, name, StringComparison.OrdinalIgnoreCase)))
        {
            AddError = $"An account named '{name}' already exists.";
        }

        if (AddError is not null)
        {
            Load();
            return Page();
        }

        return Redirect($"/accounts/edit?name={Uri.EscapeDataString(name!)}");
    }

    private void Load()
    {
        Rows = [.. file.Accounts().Select(a =>
        {
            JsonObject settings = a.Value as JsonObject ?? [];
            string server = $"{settings["Host"]}:{(settings["Port"]?.ToString() is { Length: > 0 } p && p != "0" ? p : "default")} ({settings["Security"]?.ToString() ?? "SslOnConnect"})";
            string auth = settings["AuthProvider"]?.ToString() is { Length: > 0 } provider ? "OAuth2: " + provider : AccountSchema.PasswordAuthType;
            return new AccountRow(a.Key, server, settings["UserName"]?.ToString() ?? "", auth);
        })];
    }
}
