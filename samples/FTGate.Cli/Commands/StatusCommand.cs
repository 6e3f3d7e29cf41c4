using System.CommandLine;
using System.Text.Json.Nodes;
using FTGate.OAuth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FTGate.Cli.Commands;

/// <summary><c>ftgate status</c>: every provider's authorization and every account, without touching the network.</summary>
internal static class StatusCommand
{
    public static Command Create(GlobalOptions globals, CliConsole console)
    {
        Option<bool> json = new("--json") { Description = "Print the status as JSON." };
        Command command = new("status", "Show whether each provider is authorized and which accounts use it.") { json };
        command.SetAction((parse, ct) =>
        {
            CliContext context = globals.Context(parse, console);
            return context.RunAsync(() => RunAsync(context, parse.GetValue(json), ct));
        });
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, bool json, CancellationToken cancellationToken)
    {
        CliConfig config = CliConfig.LoadExisting(context.ConfigPath);
        using IHost host = await CliHost.BuildAsync(config, context, cancellationToken);
        IAuthProviderRegistry registry = host.Services.GetRequiredService<IAuthProviderRegistry>();

        var providers = new List<ProviderStatus>();
        foreach (string name in registry.Names)
        {
            IAuthProvider provider = registry.Get(name);
            AuthorizationStatus? status = provider.UserName is { } user ? await provider.GetStatusAsync(user, cancellationToken) : null;
            providers.Add(new ProviderStatus(
                name,
                provider.Kind.ToString(),
                provider.UserName,
                status?.State.ToString() ?? "NoUser",
                status?.ToString() ?? "no user name configured",
                status?.AccessTokenExpiresOn,
                status?.Scopes ?? [],
                status?.ErrorCode,
                status?.Remedy,
                status?.Warnings ?? []));
        }

        var accounts = new List<AccountStatus>();
        foreach ((string name, JsonNode? node) in config.Accounts)
        {
            accounts.Add(new AccountStatus(name, (string?)node?["Host"], (int?)node?["Port"], (string?)node?["Security"], (string?)node?["UserName"], (string?)node?["AuthProvider"]));
        }

        if (json)
        {
            CliJson.Write(context.Out, new { configFile = config.Path, tokenStore = config.TokenDirectory, providers, accounts });
            return ExitCodes.Success;
        }

        context.Out.WriteLine($"Config: {config.Path}");
        context.Out.WriteLine($"Tokens: {config.TokenDirectory}");
        context.Out.WriteLine(providers.Count == 0 ? "Providers: none" : "Providers:");
        foreach (ProviderStatus p in providers)
        {
            context.Out.WriteLine($"  {p.Name} ({p.Type}, {p.UserName}): {p.Summary}");
            if (p.Remedy is { } remedy && p.State != nameof(AuthorizationState.Authorized))
            {
                context.Out.WriteLine($"    fix: {remedy}");
            }

            foreach (string warning in p.Warnings)
            {
                context.Out.WriteLine($"    warning: {warning}");
            }
        }

        context.Out.WriteLine(accounts.Count == 0 ? "Accounts: none" : "Accounts:");
        foreach (AccountStatus a in accounts)
        {
            string auth = a.AuthProvider is { } provider
                ? $"OAuth2 via '{provider}' ({providers.FirstOrDefault(p => string.Equals(p.Name, provider, StringComparison.OrdinalIgnoreCase))?.Summary ?? "provider missing"})"
                : "password";
            context.Out.WriteLine($"  {a.Name}: {a.UserName} at {a.Host}{(a.Port is { } port ? ":" + port : "")} ({a.Security ?? "SslOnConnect"}), {auth}");
            if (host.Services.GetService<FTGate.SmartPop.IUidlStore>() is FTGate.SmartPop.FileUidlStore store)
            {
                foreach (FTGate.SmartPop.MessageFailure stuck in (await store.GetFailingMessagesAsync(a.Name, cancellationToken)).Where(f => f.FailedFetches >= 3))
                {
                    context.Out.WriteLine($"    stuck: message {stuck.Uidl} failed in {stuck.FailedFetches} fetches in a row [{stuck.ErrorCode}]: {stuck.Message}");
                }
            }
        }

        return ExitCodes.Success;
    }

    private sealed record ProviderStatus(
        string Name, string Type, string? UserName, string State, string Summary, DateTimeOffset? AccessTokenExpiresOn,
        IReadOnlyList<string> Scopes, string? ErrorCode, string? Remedy, IReadOnlyList<string> Warnings);

    private sealed record AccountStatus(string Name, string? Host, int? Port, string? Security, string? UserName, string? AuthProvider);
}
