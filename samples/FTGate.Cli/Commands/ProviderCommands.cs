using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using FTGate.OAuth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FTGate.Cli.Commands;

/// <summary><c>ftgate provider add | list | show | remove</c>.</summary>
internal static class ProviderCommands
{
    private static readonly string[] s_wellKnownSuffixes = ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"];

    public static Command Create(GlobalOptions globals, CliConsole console) =>
        new("provider", "Add, list, show and remove authentication providers (Microsoft, Google or any OAuth2 server).")
        {
            Add(globals, console),
            List(globals, console),
            Show(globals, console),
            Remove(globals, console),
        };

    private static Command Add(GlobalOptions globals, CliConsole console)
    {
        Argument<string> name = new("NAME") { Description = "The provider's name, for example \"Company Email Account\"." };
        Option<string> type = new("--type") { Description = "The provider type.", Required = true, HelpName = "microsoft|google|oauth2" };
        type.AcceptOnlyFromAmong("microsoft", "google", "oauth2");
        Option<string> clientId = new("--client-id") { Description = "The application (client) id from the provider's portal.", Required = true, HelpName = "ID" };
        Option<string?> secretEnv = new("--client-secret-env") { Description = "Read the client secret (confidential clients only) from this environment variable each time it is needed.", HelpName = "VAR" };
        Option<bool> secretPrompt = new("--client-secret-prompt") { Description = "Ask for the client secret now (hidden) and keep it encrypted in the token store." };
        Option<string?> tenant = new("--tenant") { Description = "Microsoft: common, organizations, consumers, the directory (tenant) id or a verified domain.", HelpName = "T" };
        Option<string?> authority = new("--authority") { Description = "OAuth2: the issuer URL (its discovery document is read); Microsoft: a custom authority.", HelpName = "URL" };
        Option<string?> discovery = new("--discovery") { Description = "OAuth2: the full discovery document URL (.../.well-known/openid-configuration).", HelpName = "URL" };
        Option<string?> authorizationEndpoint = new("--authorization-endpoint") { Description = "OAuth2 without discovery: the authorization endpoint.", HelpName = "URL" };
        Option<string?> tokenEndpoint = new("--token-endpoint") { Description = "OAuth2 without discovery: the token endpoint.", HelpName = "URL" };
        Option<string?> deviceEndpoint = new("--device-endpoint") { Description = "OAuth2: the device authorization endpoint (RFC 8628), if not in discovery.", HelpName = "URL" };
        Option<string[]> scopes = new("--scope") { Description = "A scope to request (repeat for several). Default: the provider type's tested scopes.", HelpName = "S" };
        Option<string?> redirectUri = new("--redirect-uri") { Description = "A fixed redirect URI registered with the provider. Default: http://127.0.0.1:<free port>/ (RFC 8252).", HelpName = "URI" };
        Option<string> user = new("--user") { Description = "The account that signs in, for example user@contoso.onmicrosoft.com.", Required = true, HelpName = "NAME" };

        Command command = new("add", "Add a provider to the config file (validated before it is saved).")
        {
            name, type, clientId, secretEnv, secretPrompt, tenant, authority, discovery, authorizationEndpoint, tokenEndpoint, deviceEndpoint, scopes, redirectUri, user,
        };
        command.SetAction((parse, ct) =>
        {
            CliContext context = globals.Context(parse, console);
            return context.RunAsync(async () =>
            {
                string providerName = parse.GetRequiredValue(name);
                string kind = parse.GetRequiredValue(type);
                if (global::FTGate.Samples.NameRules.Check("Provider", providerName) is { Count: > 0 } nameProblems)
                {
                    throw new CliException(ExitCodes.UsageOrConfiguration, string.Join(" ", nameProblems), "Choose another NAME."); // issue 17: one name rule everywhere
                }

                CliConfig config = CliConfig.Load(context.ConfigPath);
                if (CliConfig.TryFind(config.Providers, providerName, out string existing, out _))
                {
                    throw new CliException(ExitCodes.UsageOrConfiguration, $"Provider '{existing}' already exists in '{config.Path}'.", $"Remove it first ('ftgate provider remove \"{existing}\"') or choose another name.");
                }

                RequireOnlyFor(parse, kind, "microsoft", tenant);
                RequireOnlyFor(parse, kind, "oauth2", discovery, authorizationEndpoint, tokenEndpoint, deviceEndpoint);
                if (parse.GetValue(secretEnv) is not null && parse.GetValue(secretPrompt))
                {
                    throw new CliException(ExitCodes.UsageOrConfiguration, "--client-secret-env and --client-secret-prompt cannot be used together.", "Choose one way to supply the client secret.");
                }

                var entry = new JsonObject
                {
                    ["Type"] = kind switch { "microsoft" => "Microsoft", "google" => "Google", _ => "OAuth2" },
                    ["ClientId"] = parse.GetRequiredValue(clientId),
                    ["UserName"] = parse.GetRequiredValue(user),
                };
                SetIfPresent(entry, "TenantId", parse.GetValue(tenant));
                SetIfPresent(entry, "Authority", parse.GetValue(authority));
                if (parse.GetValue(discovery) is { } discoveryUrl)
                {
                    if (parse.GetValue(authority) is not null || parse.GetValue(authorizationEndpoint) is not null || parse.GetValue(tokenEndpoint) is not null)
                    {
                        throw new CliException(ExitCodes.UsageOrConfiguration, "--discovery cannot be combined with --authority, --authorization-endpoint or --token-endpoint.", "Give either the discovery URL, or the issuer (--authority), or the endpoints.");
                    }

                    entry["Authority"] = IssuerFromDiscovery(discoveryUrl);
                }

                SetIfPresent(entry, "AuthorizationEndpoint", parse.GetValue(authorizationEndpoint));
                SetIfPresent(entry, "TokenEndpoint", parse.GetValue(tokenEndpoint));
                SetIfPresent(entry, "DeviceAuthorizationEndpoint", parse.GetValue(deviceEndpoint));
                SetIfPresent(entry, "RedirectUri", parse.GetValue(redirectUri));
                if (parse.GetValue(scopes) is { Length: > 0 } requested)
                {
                    entry["Scopes"] = new JsonArray([.. requested.Select(s => JsonValue.Create(s))]);
                }

                SetIfPresent(entry, "ClientSecretEnvironmentVariable", parse.GetValue(secretEnv));
                if (parse.GetValue(secretPrompt))
                {
                    entry["ClientSecretInTokenStore"] = true;
                }

                config.Providers[providerName] = entry;

                // Validate with the SDK's own validators before anything is saved: bad input names the field and exits 2.
                using (IHost host = await CliHost.BuildAsync(config, context, ct))
                {
                    CliErrors.ValidateBeforeSaving(host.Services);
                }

                if (parse.GetValue(secretPrompt))
                {
                    string secret = console.ReadSecret($"Client secret for '{providerName}' (input hidden): ");
                    if (secret.Length == 0)
                    {
                        throw new CliException(ExitCodes.UsageOrConfiguration, "No client secret was entered.", "Run the command again and type the secret's value (not its id).");
                    }

                    await new FileTokenStore(config.TokenDirectory).UpdateAsync(CliHost.ClientSecretKey(providerName), _ => Encoding.UTF8.GetBytes(secret), cancellationToken: ct);
                }

                config.Save();
                await CliHost.BindAsync(new FileTokenStore(config.TokenDirectory), "provider", providerName, entry, [], ct); // issue 17: secrets bound to these settings
                context.Out.WriteLine($"Provider '{providerName}' added to {config.Path}.");
                if (parse.GetValue(secretEnv) is { } variable && Environment.GetEnvironmentVariable(variable) is not { Length: > 0 })
                {
                    context.Out.WriteLine($"warning: environment variable {variable} is not set now; set it before 'ftgate authorize'.");
                }

                bool confidential = parse.GetValue(secretEnv) is not null || parse.GetValue(secretPrompt);
                if (kind == "microsoft" && PersonalMicrosoftAccountWarning(parse.GetRequiredValue(user), parse.GetValue(tenant)) is { } personal)
                {
                    context.Out.WriteLine("warning: " + personal);
                }

                context.Out.WriteLine("Redirect URI to register with the provider: " + (kind switch
                {
                    "microsoft" => $"{parse.GetValue(redirectUri) ?? "http://localhost"} under the platform '{FTGateErrorCatalog.MicrosoftRedirectPlatform(confidential)}' in Microsoft Entra (App registrations > Authentication){(confidential ? "; a client secret makes the app a confidential client" : "; no client secret: a public client, any port")}.",
                    "google" => parse.GetValue(redirectUri) ?? "none for a 'Desktop app' OAuth client (Google accepts http://127.0.0.1 on any port).",
                    _ => parse.GetValue(redirectUri) ?? "http://127.0.0.1/ (a native/public client; RFC 8252 loopback, any port).",
                }));
                context.Out.WriteLine($"Next: ftgate authorize \"{providerName}\"");
                return ExitCodes.Success;
            });
        });
        return command;
    }

    private static readonly string[] s_personalMicrosoftDomains = ["outlook.", "hotmail.", "live.", "msn.com", "passport.com", "windowslive.com"];

    /// <summary>A personal Microsoft address (outlook.com, hotmail.com, live.com, msn.com ...) with a specific tenant cannot sign in.</summary>
    internal static string? PersonalMicrosoftAccountWarning(string userName, string? tenantId)
    {
        int at = userName.LastIndexOf('@');
        string domain = at < 0 ? string.Empty : userName[(at + 1)..].ToLowerInvariant();
        bool personal = domain.Length > 0 && s_personalMicrosoftDomains.Any(d => d.EndsWith('.') ? domain.StartsWith(d, StringComparison.Ordinal) : domain == d);
        bool allowsPersonal = tenantId is null || tenantId.Equals("consumers", StringComparison.OrdinalIgnoreCase) || tenantId.Equals("common", StringComparison.OrdinalIgnoreCase);
        return personal && !allowsPersonal
            ? $"{userName} is a personal Microsoft account, but TenantId is '{tenantId}': personal accounts sign in only with TenantId 'consumers' (or 'common') and an app whose 'Supported account types' include personal Microsoft accounts; otherwise Microsoft answers AADSTS50020 (see 'ftgate explain AADSTS50020'). Use --tenant consumers."
            : null;
    }

    private static Command List(GlobalOptions globals, CliConsole console)
    {
        Command command = new("list", "List the configured providers.");
        command.SetAction((parse, ct) =>
        {
            CliContext context = globals.Context(parse, console);
            return context.RunAsync(() =>
            {
                CliConfig config = CliConfig.Load(context.ConfigPath);
                if (config.Providers.Count == 0)
                {
                    context.Out.WriteLine("No providers. Add one with 'ftgate provider add NAME --type microsoft|google|oauth2 ...'.");
                }

                foreach ((string key, JsonNode? node) in config.Providers)
                {
                    context.Out.WriteLine($"{key}\t{(string?)node?["Type"]}\t{(string?)node?["UserName"]}");
                }

                return Task.FromResult(ExitCodes.Success);
            });
        });
        return command;
    }

    private static Command Show(GlobalOptions globals, CliConsole console)
    {
        Argument<string> name = new("NAME") { Description = "The provider's name." };
        Command command = new("show", "Show a provider's settings (secrets masked).") { name };
        command.SetAction((parse, ct) =>
        {
            CliContext context = globals.Context(parse, console);
            return context.RunAsync(() =>
            {
                CliConfig config = CliConfig.LoadExisting(context.ConfigPath);
                (string key, JsonObject entry) = FindProvider(config, parse.GetRequiredValue(name));
                context.Out.WriteLine($"Name: {key}");
                foreach ((string field, JsonNode? value) in entry)
                {
                    context.Out.WriteLine($"{field}: {Display(field, value)}");
                }

                return Task.FromResult(ExitCodes.Success);
            });
        });
        return command;
    }

    private static Command Remove(GlobalOptions globals, CliConsole console)
    {
        Argument<string> name = new("NAME") { Description = "The provider's name." };
        Command command = new("remove", "Remove a provider and forget (revoke where supported) its tokens.") { name };
        command.SetAction((parse, ct) =>
        {
            CliContext context = globals.Context(parse, console);
            return context.RunAsync(async () =>
            {
                CliConfig config = CliConfig.LoadExisting(context.ConfigPath);
                (string key, JsonObject entry) = FindProvider(config, parse.GetRequiredValue(name));
                foreach ((string account, JsonNode? node) in config.Accounts)
                {
                    if (string.Equals((string?)node?["AuthProvider"], key, StringComparison.OrdinalIgnoreCase))
                    {
                        throw new CliException(ExitCodes.UsageOrConfiguration, $"Account '{account}' uses provider '{key}'.", $"Remove the account first ('ftgate account remove \"{account}\"').");
                    }
                }

                try
                {
                    using IHost host = await CliHost.BuildAsync(config, context, ct);
                    // A provider whose settings changed since it was bound is not revoked (its endpoint is not the grant's).
                    if (host.Services.GetRequiredService<IAuthProviderRegistry>().TryGet(key, out IAuthProvider? provider) && provider.UserName is { } userName)
                    {
                        await provider.SignOutAsync(userName, ct);
                    }

                    await host.Services.GetRequiredService<ITokenStore>().RemoveProviderDataAsync(key, [(string?)entry["UserName"] ?? ""], ct);
                    await CliHost.ForgetAsync(host.Services.GetRequiredService<ITokenStore>(), "provider", key, ct);

                    await host.Services.GetRequiredService<ITokenStore>().RemoveAsync(CliHost.ClientSecretKey(key), cancellationToken: ct);
                }
                catch (Exception ex) when (ex is FTGateException or HttpRequestException or NotSupportedException or Microsoft.Extensions.Options.OptionsValidationException)
                {
                    context.Out.WriteLine($"warning: the stored tokens could not be revoked ({ex.Message.ReplaceLineEndings(" ")}); revoke the app's access at the provider if needed.");
                }

                config.Providers.Remove(key);
                config.Save();
                context.Out.WriteLine($"Provider '{key}' removed.");
                return ExitCodes.Success;
            });
        });
        return command;
    }

    internal static (string Key, JsonObject Entry) FindProvider(CliConfig config, string name)
    {
        if (CliConfig.TryFind(config.Providers, name, out string key, out JsonObject entry))
        {
            return (key, entry);
        }

        string known = config.Providers.Count == 0 ? "none are configured" : "known providers: " + string.Join(", ", config.Providers.Select(p => $"'{p.Key}'"));
        throw new CliException(ExitCodes.UsageOrConfiguration, $"No provider named '{name}' ({known}).", "Check the name ('ftgate provider list'), or add it with 'ftgate provider add'.");
    }

    /// <summary>Turns <c>https://host/path/.well-known/openid-configuration</c> into the issuer <c>https://host/path</c>.</summary>
    private static string IssuerFromDiscovery(string discoveryUrl)
    {
        if (!Uri.TryCreate(discoveryUrl, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            throw new CliException(ExitCodes.UsageOrConfiguration, $"--discovery '{discoveryUrl}' is not an absolute http(s) URL.", "Give the full URL of the discovery document, such as https://login.example.com/.well-known/openid-configuration.");
        }

        string path = uri.GetLeftPart(UriPartial.Path);
        foreach (string suffix in s_wellKnownSuffixes)
        {
            if (path.EndsWith(suffix, StringComparison.Ordinal))
            {
                return path[..^suffix.Length];
            }
        }

        throw new CliException(ExitCodes.UsageOrConfiguration, $"--discovery '{discoveryUrl}' does not end with /.well-known/openid-configuration or /.well-known/oauth-authorization-server.", "Give the discovery document's URL, or the issuer itself with --authority.");
    }

    private static void RequireOnlyFor(ParseResult parse, string kind, string allowedKind, params Option<string?>[] options)
    {
        foreach (Option<string?> option in options)
        {
            if (kind != allowedKind && parse.GetValue(option) is not null)
            {
                throw new CliException(ExitCodes.UsageOrConfiguration, $"{option.Name} applies only to --type {allowedKind}.", $"Remove {option.Name}, or use --type {allowedKind}.");
            }
        }
    }

    private static void SetIfPresent(JsonObject entry, string field, string? value)
    {
        if (value is not null)
        {
            entry[field] = value;
        }
    }

    /// <summary>Secrets are masked; everything else is shown as written.</summary>
    internal static string Display(string field, JsonNode? value)
    {
        bool secret = (field.Contains("Secret", StringComparison.OrdinalIgnoreCase) || field.Contains("Password", StringComparison.OrdinalIgnoreCase))
            && !field.EndsWith("EnvironmentVariable", StringComparison.OrdinalIgnoreCase)
            && !field.EndsWith("InTokenStore", StringComparison.OrdinalIgnoreCase);
        if (secret)
        {
            return value is null ? "(none)" : "******** (stored in the config file: move it to an environment variable)";
        }

        if (field.EndsWith("EnvironmentVariable", StringComparison.OrdinalIgnoreCase) && (string?)value is { } variable)
        {
            return $"{variable} ({(Environment.GetEnvironmentVariable(variable) is { Length: > 0 } ? "set" : "not set")})";
        }

        return value switch
        {
            JsonArray array => string.Join(' ', array.Select(v => v?.ToString())),
            null => "",
            _ => value.ToString(),
        };
    }
}
