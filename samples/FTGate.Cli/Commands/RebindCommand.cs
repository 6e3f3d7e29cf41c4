using System.CommandLine;
using System.Text.Json.Nodes;
using FTGate.OAuth;
using FTGate.Samples;

namespace FTGate.Cli.Commands;

/// <summary>
/// <c>ftgate rebind provider|account NAME</c>: after the administrator changed a bound setting (endpoint, client id, tenant;
/// host, port) in the config file, confirms the new settings. A client secret kept in the token store must be typed again;
/// the tokens of the old settings are removed (authorize again).
/// </summary>
internal static class RebindCommand
{
    public static Command Create(GlobalOptions globals, CliConsole console)
    {
        Argument<string> kind = new("KIND") { Description = "provider or account." };
        kind.AcceptOnlyFromAmong("provider", "account");
        Argument<string> name = new("NAME") { Description = "The provider's or account's name." };
        Command command = new("rebind", "Confirm a provider's or account's changed endpoint, client id, tenant, host or port, so its secret may be sent there (a stored secret is asked for again).")
        {
            kind, name,
        };
        command.SetAction((parse, ct) =>
        {
            CliContext context = globals.Context(parse, console);
            return context.RunAsync(() => RunAsync(context, console, parse.GetRequiredValue(kind), parse.GetRequiredValue(name), ct));
        });
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, CliConsole console, string kind, string name, CancellationToken cancellationToken)
    {
        CliConfig config = CliConfig.LoadExisting(context.ConfigPath);
        (string key, JsonObject entry) = kind == "account" ? AccountCommands.FindAccount(config, name) : ProviderCommands.FindProvider(config, name);
        var store = CliHost.Store(config);
        SecretBinding.Record? record = await SecretBinding.ReadAsync(store, CliHost.BindingKey(kind, key), cancellationToken);
        SortedDictionary<string, string> bound = kind == "account" ? SecretBinding.AccountBound(key, entry) : SecretBinding.ProviderBound(key, entry);
        if (record is not null && record.Matches(bound))
        {
            context.Out.WriteLine($"{(kind == "account" ? "Account" : "Provider")} '{key}' is already bound to its current settings; nothing to do.");
            return ExitCodes.Success;
        }

        if (record is not null)
        {
            context.Out.WriteLine(TerminalText.Escape($"{(kind == "account" ? "Account" : "Provider")} '{key}': {SecretBinding.Explain(record, bound)}."));
        }

        var secrets = new Dictionary<string, string>(StringComparer.Ordinal);
        if (kind == "provider")
        {
            if (SecretBinding.Read(entry, "ClientSecretInTokenStore").Equals("true", StringComparison.OrdinalIgnoreCase))
            {
                string secret = console.ReadSecret($"Client secret for '{key}' with these settings (input hidden): ");
                if (secret.Length == 0)
                {
                    throw new CliException(ExitCodes.UsageOrConfiguration, "No client secret was entered; nothing was changed.", "Run the command again and type the secret's value for the new settings.");
                }

                secrets["ClientSecret"] = secret;
                await store.RemoveAsync(CliHost.ClientSecretKey(key), cancellationToken: cancellationToken);
            }
            else if (SecretBinding.Read(entry, "ClientSecretEnvironmentVariable") is { Length: > 0 } variable)
            {
                context.Out.WriteLine($"From now on the secret in {variable} is sent to the settings above.");
            }

            // The grant was made for the old settings: it is removed here, never revoked at the new endpoint.
            int removed = await store.RemoveProviderDataAsync(key, [SecretBinding.Read(entry, "UserName"), SecretBinding.Read(entry, "Mailbox")], cancellationToken);
            if (removed > 0)
            {
                context.Out.WriteLine($"The tokens of the old settings were removed: run 'ftgate authorize \"{key}\"'.");
            }
        }

        await CliHost.BindAsync(store, kind, key, entry, secrets, cancellationToken);
        context.Out.WriteLine($"{(kind == "account" ? "Account" : "Provider")} '{key}' is bound to its current settings.");
        return ExitCodes.Success;
    }
}
