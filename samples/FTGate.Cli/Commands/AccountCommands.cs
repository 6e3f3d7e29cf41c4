using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using FTGate.OAuth;
using FTGate.SmartPop;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FTGate.Cli.Commands;

/// <summary><c>ftgate account add | list | show | remove</c>: SmartPop accounts (the POP3 mailboxes to collect).</summary>
internal static class AccountCommands
{
    public static Command Create(GlobalOptions globals, CliConsole console) =>
        new("account", "Add, list, show and remove SmartPop accounts (POP3 mailboxes to collect from).")
        {
            Add(globals, console),
            List(globals, console),
            Show(globals, console),
            Remove(globals, console),
        };

    private static Command Add(GlobalOptions globals, CliConsole console)
    {
        Argument<string> name = new("NAME") { Description = "The account's name." };
        Option<string> host = new("--host") { Description = "The POP3 server, for example outlook.office365.com or pop.gmail.com.", Required = true, HelpName = "H" };
        Option<int?> port = new("--port") { Description = "The port. Default: 995 for ssl, 110 otherwise.", HelpName = "P" };
        Option<string> security = new("--security") { Description = "ssl (TLS from the first byte), starttls, or none.", DefaultValueFactory = _ => "ssl", HelpName = "ssl|starttls|none" };
        security.AcceptOnlyFromAmong("ssl", "starttls", "none");
        Option<string> user = new("--user") { Description = "The mailbox's user name (the SASL user). With --provider, the provider's token is used for it: a shared mailbox needs no provider of its own.", Required = true, HelpName = "U" };
        Option<string?> provider = new("--provider") { Description = "Log in with XOAUTH2 using this provider's tokens.", HelpName = "NAME" };
        Option<string?> passwordEnv = new("--password-env") { Description = "Log in with a password read from this environment variable.", HelpName = "VAR" };
        Option<bool> delete = new("--delete") { Description = "Delete messages from the server once delivered (default: leave them)." };
        Option<long?> maxSize = new("--max-size") { Description = "Skip (and report) messages larger than this. Default 50 MiB.", HelpName = "BYTES" };
        Option<bool> allowInsecure = new("--allow-insecure-auth") { Description = "Allow sending a token or password over an unencrypted connection (test networks only)." };
        Option<string?> caCert = new("--ca-cert") { Description = "Trust this root certificate (PEM or DER) for the server's TLS certificate, in addition to the system's; the full chain and host name are still checked.", HelpName = "PATH" };

        Option<bool> noRevocation = new("--no-revocation-check") { Description = "Do not check the server certificate's revocation (for a private CA that publishes no CRL); chain and host name are still checked." };

        Command command = new("add", "Add a POP3 account to collect from.")
        {
            name, host, port, security, user, provider, passwordEnv, delete, maxSize, allowInsecure, caCert, noRevocation,
        };
        command.SetAction((parse, ct) =>
        {
            CliContext context = globals.Context(parse, console);
            return context.RunAsync(async () =>
            {
                string accountName = parse.GetRequiredValue(name);
                if (global::FTGate.Samples.NameRules.Check("Account", accountName) is { Count: > 0 } nameProblems)
                {
                    throw new CliException(ExitCodes.UsageOrConfiguration, string.Join(" ", nameProblems), "Choose another NAME.");
                }

                CliConfig config = CliConfig.Load(context.ConfigPath);
                if (CliConfig.TryFind(config.Accounts, accountName, out string existing, out _))
                {
                    throw new CliException(ExitCodes.UsageOrConfiguration, $"Account '{existing}' already exists in '{config.Path}'.", $"Remove it first ('ftgate account remove \"{existing}\"') or choose another name.");
                }

                string? providerName = parse.GetValue(provider);
                string? variable = parse.GetValue(passwordEnv);
                if ((providerName is null) == (variable is null))
                {
                    throw new CliException(ExitCodes.UsageOrConfiguration, "Give exactly one of --provider NAME (OAuth2) or --password-env VAR (password).", "Use --provider with the name of a provider you added ('ftgate provider list').");
                }

                string hostName = parse.GetRequiredValue(host);
                if (Uri.CheckHostName(hostName) == UriHostNameType.Unknown)
                {
                    throw new CliException(ExitCodes.UsageOrConfiguration, $"--host '{hostName}' is not a host name or IP address.", "Give the server's name only, such as outlook.office365.com (no scheme, port or path).");
                }

                if (parse.GetValue(port) is { } p && p is < 1 or > 65535)
                {
                    throw new CliException(ExitCodes.UsageOrConfiguration, $"--port {p} is out of range.", "Use 995 for ssl or 110 for starttls/none.");
                }

                var entry = new JsonObject
                {
                    ["Host"] = hostName,
                    ["Security"] = parse.GetValue(security) switch { "starttls" => "StartTls", "none" => "None", _ => "SslOnConnect" },
                    ["UserName"] = parse.GetRequiredValue(user),
                    ["LeaveOnServer"] = !parse.GetValue(delete),
                };
                if (parse.GetValue(port) is { } chosenPort)
                {
                    entry["Port"] = chosenPort;
                }

                if (providerName is not null)
                {
                    (string providerKey, _) = ProviderCommands.FindProvider(config, providerName);
                    entry["AuthProvider"] = providerKey;
                }
                else
                {
                    entry["PasswordEnvironmentVariable"] = variable;
                }

                if (parse.GetValue(maxSize) is { } size)
                {
                    entry["MaxMessageSize"] = size;
                }

                if (parse.GetValue(allowInsecure))
                {
                    entry["AllowInsecureAuthentication"] = true;
                }

                if (parse.GetValue(noRevocation))
                {
                    entry["CheckCertificateRevocation"] = false;
                }

                if (parse.GetValue(caCert) is { } certificatePath)
                {
                    string full = config.ResolvePath(certificatePath);
                    _ = LoadCertificates(full);
                    entry["TrustedRootCertificateFile"] = full;
                }

                config.Accounts[accountName] = entry;

                // The SDK's own validation of the account (and the rest of the file) before anything is saved.
                using (IHost built = await CliHost.BuildAsync(config, context, ct))
                {
                    CliErrors.ValidateBeforeSaving(built.Services);
                }

                config.Save();
                await CliHost.BindAsync(CliHost.Store(config), "account", accountName, entry, [], ct);
                context.Out.WriteLine($"Account '{accountName}' added to {config.Path}.");
                context.Out.WriteLine($"Next: ftgate test \"{accountName}\"");
                return ExitCodes.Success;
            });
        });
        return command;
    }

    private static Command List(GlobalOptions globals, CliConsole console)
    {
        Command command = new("list", "List the configured accounts.");
        command.SetAction((parse, ct) =>
        {
            CliContext context = globals.Context(parse, console);
            return context.RunAsync(() =>
            {
                CliConfig config = CliConfig.Load(context.ConfigPath);
                if (config.Accounts.Count == 0)
                {
                    context.Out.WriteLine("No accounts. Add one with 'ftgate account add NAME --host H --user U --provider NAME'.");
                }

                foreach ((string key, JsonNode? node) in config.Accounts)
                {
                    context.Out.WriteLine($"{key}\t{(string?)node?["UserName"]}@{(string?)node?["Host"]}\t{Describe(node as JsonObject)}");
                }

                return Task.FromResult(ExitCodes.Success);
            });
        });
        return command;
    }

    private static Command Show(GlobalOptions globals, CliConsole console)
    {
        Argument<string> name = new("NAME") { Description = "The account's name." };
        Command command = new("show", "Show an account's settings (secrets masked).") { name };
        command.SetAction((parse, ct) =>
        {
            CliContext context = globals.Context(parse, console);
            return context.RunAsync(() =>
            {
                CliConfig config = CliConfig.LoadExisting(context.ConfigPath);
                (string key, JsonObject entry) = FindAccount(config, parse.GetRequiredValue(name));
                context.Out.WriteLine($"Name: {key}");
                foreach ((string field, JsonNode? value) in entry)
                {
                    context.Out.WriteLine($"{field}: {ProviderCommands.Display(field, value)}");
                }

                return Task.FromResult(ExitCodes.Success);
            });
        });
        return command;
    }

    private static Command Remove(GlobalOptions globals, CliConsole console)
    {
        Argument<string> name = new("NAME") { Description = "The account's name." };
        Command command = new("remove", "Remove an account and what was remembered about it (its provider and tokens stay).") { name };
        command.SetAction((parse, ct) =>
        {
            CliContext context = globals.Context(parse, console);
            return context.RunAsync(async () =>
            {
                CliConfig config = CliConfig.LoadExisting(context.ConfigPath);
                (string key, _) = FindAccount(config, parse.GetRequiredValue(name));

                // A later account of the same name inherits nothing: its seen UIDLs and its binding go.
                using (IHost host = await CliHost.BuildAsync(config, context, ct, bindNew: false))
                {
                    await host.Services.GetRequiredService<IUidlStore>().PruneAsync(key, [], ct);
                    await CliHost.ForgetAsync(CliHost.Store(config), "account", key, ct);
                }

                config.Accounts.Remove(key);
                config.Save();
                context.Out.WriteLine($"Account '{key}' removed.");
                return ExitCodes.Success;
            });
        });
        return command;
    }

    internal static (string Key, JsonObject Entry) FindAccount(CliConfig config, string name)
    {
        if (CliConfig.TryFind(config.Accounts, name, out string key, out JsonObject entry))
        {
            return (key, entry);
        }

        string known = config.Accounts.Count == 0 ? "none are configured" : "known accounts: " + string.Join(", ", config.Accounts.Select(a => $"'{a.Key}'"));
        throw new CliException(ExitCodes.UsageOrConfiguration, $"No account named '{name}' ({known}).", "Check the name ('ftgate account list'), or add it with 'ftgate account add'.");
    }

    /// <summary>
    /// A password account whose variable is not set fails here, naming the variable, rather than at the server; so does an
    /// account (or its provider) whose bound settings changed since its secret was set up.
    /// </summary>
    internal static void RequirePasswordVariable(string key, JsonObject account)
    {
        if ((string?)account["PasswordEnvironmentVariable"] is { Length: > 0 } variable && Environment.GetEnvironmentVariable(variable) is not { Length: > 0 })
        {
            throw new CliException(ExitCodes.UsageOrConfiguration, $"Account '{key}': environment variable {variable} (PasswordEnvironmentVariable) is not set.", $"Set {variable} to the mailbox password, then run the command again.");
        }
    }

    internal static string Describe(JsonObject? account) =>
        account is null ? "" : (string?)account["AuthProvider"] is { } provider ? $"OAuth2 via '{provider}'" : $"password from ${(string?)account["PasswordEnvironmentVariable"]}";

    /// <summary>Loads the root certificates of a <c>--ca-cert</c> file (PEM with one or more certificates, or DER).</summary>
    internal static X509Certificate2Collection LoadCertificates(string path)
    {
        if (!File.Exists(path))
        {
            throw new CliException(ExitCodes.UsageOrConfiguration, $"--ca-cert '{path}' does not exist.", "Give the path of the root CA certificate file (PEM or DER).");
        }

        try
        {
            var certificates = new X509Certificate2Collection();
            byte[] bytes = File.ReadAllBytes(path);
            if (Encoding.ASCII.GetString(bytes).Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            {
                certificates.ImportFromPem(Encoding.ASCII.GetString(bytes));
            }
            else
            {
                certificates.Add(X509CertificateLoader.LoadCertificate(bytes));
            }

            return certificates.Count > 0
                ? certificates
                : throw new CliException(ExitCodes.UsageOrConfiguration, $"--ca-cert '{path}' holds no certificate.", "Give a PEM or DER certificate file.");
        }
        catch (CryptographicException ex)
        {
            throw new CliException(ExitCodes.UsageOrConfiguration, $"--ca-cert '{path}' is not a certificate: {ex.Message}", "Give a PEM or DER certificate file.");
        }
    }
}
