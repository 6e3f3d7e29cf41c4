using System.CommandLine;
using System.Text.Json.Nodes;
using FTGate.OAuth;
using FTGate.Samples;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FTGate.Cli.Commands;

/// <summary>
/// <c>ftgate status</c>: every provider's authorization and every account, without touching the network. Each item is read on
/// its own: one that cannot be read (a corrupt grant, settings changed since its secret was bound, an unset password variable)
/// is listed and marked broken with the reason, and the others are still shown.
/// </summary>
internal static class StatusCommand
{
    private const string Broken = "Broken";

    public static Command Create(GlobalOptions globals, CliConsole console)
    {
        Option<bool> json = new("--json") { Description = "Print the status as JSON." };
        Command command = new("status", "Show whether each provider is authorized and which accounts use it; a broken one is marked with the reason.") { json };
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
        BlockedItems blocked = host.Services.GetRequiredService<BlockedItems>();

        var providers = new List<ProviderStatus>();
        foreach ((string name, JsonNode? node) in config.Providers)
        {
            providers.Add(await ProviderAsync(registry, name, node as JsonObject ?? [], cancellationToken));
        }

        var accounts = new List<AccountStatus>();
        foreach ((string name, JsonNode? node) in config.Accounts)
        {
            JsonObject entry = node as JsonObject ?? [];
            string? provider = Text(entry, "AuthProvider");
            ProviderStatus? used = provider is null ? null : providers.FirstOrDefault(p => string.Equals(p.Name, provider, StringComparison.OrdinalIgnoreCase));
            string? problem = blocked.Accounts.GetValueOrDefault(name)
                ?? (provider is not null && used is null ? $"provider '{provider}' is not configured" : null)
                ?? (used?.State == Broken ? $"provider '{used.Name}' is broken" : null);
            accounts.Add(new AccountStatus(
                name, Text(entry, "Host"), int.TryParse(Text(entry, "Port"), out int port) && port > 0 ? port : null, Text(entry, "Security"), Text(entry, "UserName"), provider,
                problem is null ? "ok" : Broken, problem));
        }

        int exitCode = providers.Any(p => p.State == Broken) || accounts.Any(a => a.State == Broken) ? ExitCodes.Failure : ExitCodes.Success;
        if (json)
        {
            CliJson.Write(context.Out, new { configFile = config.Path, tokenStore = config.TokenDirectory, providers, accounts });
            return exitCode;
        }

        TextWriter output = context.Out;
        output.WriteLine($"Config: {config.Path}");
        output.WriteLine($"Tokens: {config.TokenDirectory}");
        output.WriteLine(providers.Count == 0 ? "Providers: none" : "Providers:");
        foreach (ProviderStatus p in providers)
        {
            output.WriteLine(TerminalText.Escape($"  {(p.State == Broken ? "BROKEN " : "")}{p.Name} ({p.Type}, {p.UserName}): {p.Summary}"));
            if (p.Remedy is { } remedy && p.State != nameof(AuthorizationState.Authorized))
            {
                output.WriteLine(TerminalText.Escape($"    fix: {CliErrors.InCliWords(remedy, p.Name)}"));
            }

            foreach (string warning in p.Warnings)
            {
                output.WriteLine(TerminalText.Escape($"    warning: {warning}"));
            }
        }

        output.WriteLine(accounts.Count == 0 ? "Accounts: none" : "Accounts:");
        foreach (AccountStatus a in accounts)
        {
            string auth = a.AuthProvider is { } provider
                ? $"OAuth2 via '{provider}' ({providers.FirstOrDefault(p => string.Equals(p.Name, provider, StringComparison.OrdinalIgnoreCase))?.Summary ?? "provider missing"})"
                : "password";
            output.WriteLine(TerminalText.Escape($"  {(a.State == Broken ? "BROKEN " : "")}{a.Name}: {a.UserName} at {a.Host}{(a.Port is { } port ? ":" + port : "")} ({a.Security ?? "SslOnConnect"}), {auth}"));
            if (a.Problem is { } problem)
            {
                output.WriteLine(TerminalText.Escape($"    why: {problem}"));
            }

            // Messages SmartPop could not collect in 3 fetches in a row (issue 14), from the UIDL store's failure counts.
            if (host.Services.GetService<FTGate.SmartPop.IUidlStore>() is FTGate.SmartPop.FileUidlStore store)
            {
                // A message over the size limit is reported as such and never retried: it is not stuck (as in FetchResult).
                foreach (FTGate.SmartPop.MessageFailure stuck in (await store.GetFailingMessagesAsync(a.Name, cancellationToken))
                    .Where(f => f.FailedFetches >= 3 && f.ErrorCode != FTGate.SmartPop.SmartPopErrorCodes.MessageTooLarge))
                {
                    string number = stuck.MessageNumber > 0 ? $" (number {stuck.MessageNumber} at the last fetch)" : string.Empty;
                    string words = stuck.ServerReply is { Length: > 0 } reply ? $"; the server said: {reply}" : string.Empty;
                    output.WriteLine(TerminalText.Escape($"    stuck: message {stuck.Uidl}{number} failed in {stuck.FailedFetches} fetches in a row [{stuck.ErrorCode}]: {stuck.Message}{words}"));
                }
            }
        }

        return exitCode;
    }

    /// <summary>One provider's status; an exception (corrupt grant, blocked settings, invalid options) marks it broken.</summary>
    private static async Task<ProviderStatus> ProviderAsync(IAuthProviderRegistry registry, string name, JsonObject entry, CancellationToken cancellationToken)
    {
        string type = Text(entry, "Type") ?? "?";
        string? user = Text(entry, "UserName");
        try
        {
            IAuthProvider provider = registry.Get(name);
            AuthorizationStatus? status = provider.UserName is { } userName ? await provider.GetStatusAsync(userName, cancellationToken) : null;
            return new ProviderStatus(
                name,
                provider.Kind.ToString(),
                provider.UserName,
                status?.State.ToString() ?? "NoUser",
                status?.ToString() ?? "no user name configured",
                status?.AccessTokenExpiresOn,
                status?.Scopes ?? [],
                status?.ErrorCode,
                status?.Remedy,
                status?.Warnings ?? []);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            string message = ex switch
            {
                Microsoft.Extensions.Options.OptionsValidationException options => string.Join(" ", options.Failures),
                _ => ex.Message,
            };
            string? remedy = ex switch
            {
                FTGateException ftgate => ftgate.Remedy,
                CliException cli => cli.Remedy,
                _ => null,
            };
            return new ProviderStatus(name, type, user, Broken, "broken: " + message.ReplaceLineEndings(" "), null, [], (ex as FTGateException)?.ErrorCode, remedy, []);
        }
    }

    private static string? Text(JsonObject entry, string field) => SecretBinding.Read(entry, field) is { Length: > 0 } value ? value : null;

    private sealed record ProviderStatus(
        string Name, string Type, string? UserName, string State, string Summary, DateTimeOffset? AccessTokenExpiresOn,
        IReadOnlyList<string> Scopes, string? ErrorCode, string? Remedy, IReadOnlyList<string> Warnings);

    private sealed record AccountStatus(string Name, string? Host, int? Port, string? Security, string? UserName, string? AuthProvider, string State, string? Problem);
}
