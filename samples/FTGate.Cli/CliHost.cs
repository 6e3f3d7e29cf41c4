using System.Text;
using System.Text.Json.Nodes;
using FTGate.Cli.Commands;
using FTGate.OAuth;
using FTGate.Samples;
using FTGate.SmartPop;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FTGate.Cli;

/// <summary>
/// Builds the Generic Host for one command from the config file: exactly what an embedding mail server does with its own
/// <c>appsettings.json</c> — <c>AddFTGate(configuration.GetSection("FTGate"))</c> and <c>AddSmartPop()</c>.
/// </summary>
internal static class CliHost
{
    /// <summary>The token store key under which a prompted client secret is kept, encrypted like the tokens.</summary>
    public static string ClientSecretKey(string provider) => $"ftgate-cli/client-secret/{provider}";

    /// <summary>The token store key of a provider's (or account's) binding, made by the CLI.</summary>
    public static string BindingKey(string kind, string name) => $"ftgate-cli/{(kind == "account" ? SecretBinding.AccountKey(name) : SecretBinding.ProviderKey(name))}";

    /// <summary>
    /// Builds the host. Each provider and account is handed to the SDK only while its settings are the ones its secrets were
    /// bound to; a changed one is left out and a request for it fails with the reason (see <see cref="BlockedItems"/>). An
    /// account whose password variable is not set is left out too, so it affects no other account.
    /// </summary>
    /// <param name="config">The configuration.</param>
    /// <param name="context">The command's context.</param>
    /// <param name="cancellationToken">Cancels the build.</param>
    /// <param name="bindNew">Whether items never bound before are bound to their current settings now (trust on first use).</param>
    public static async Task<IHost> BuildAsync(CliConfig config, CliContext context, CancellationToken cancellationToken, bool bindNew = true)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = config.Directory,
        });

        // The file as it is in memory (so "provider add" can validate before saving), with what the CLI adds: the token
        // store folder made absolute, secrets from environment variables or the encrypted store, and without the items whose
        // secrets were bound to other settings.
        (byte[] json, BlockedItems blocked) = await EffectiveAsync(config, bindNew, cancellationToken);
        builder.Configuration.AddJsonStream(new MemoryStream(json));

        if (context.Verbose)
        {
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddProvider(new TextWriterLoggerProvider(context.Console.Error));
        }

        builder.Services.AddFTGate(builder.Configuration.GetSection("FTGate"))
            .AddSmartPop()
            .UseFileUidlStore(config.UidlDirectory);
        RunCommand.UseRedisWhenConfigured(builder.Services, builder.Configuration, config); // FTGate:Redis: every command is a farm node
        builder.Services.AddSingleton(blocked);
        Decorate<IAuthProviderRegistry>(builder.Services, (sp, inner) => new BlockingRegistry(inner, sp.GetRequiredService<BlockedItems>()));
        Decorate<ISmartPopAccounts>(builder.Services, (sp, inner) => new BlockingAccounts(inner, sp.GetRequiredService<BlockedItems>()));

        return builder.Build();
    }

    /// <summary>Why an account cannot be used now (its binding, its provider's, or its password variable), or null.</summary>
    public static async Task<string?> AccountProblemAsync(CliConfig config, string key, JsonObject account, CancellationToken cancellationToken)
    {
        FileTokenStore store = Store(config);
        if (await BlockReasonAsync(store, "account", key, account, bindNew: false, cancellationToken) is { } reason)
        {
            return reason;
        }

        if ((string?)account["AuthProvider"] is { Length: > 0 } provider && CliConfig.TryFind(config.Providers, provider, out string providerKey, out JsonObject providerEntry)
            && await BlockReasonAsync(store, "provider", providerKey, providerEntry, bindNew: false, cancellationToken) is { } providerReason)
        {
            return providerReason;
        }

        return null;
    }

    /// <summary>The CLI's token store: a folder or key file others can read is refused, with the chmod that fixes it.</summary>
    public static FileTokenStore Store(CliConfig config) =>
        new(new FileTokenStoreOptions { Directory = config.TokenDirectory, RefuseUnsafePermissions = true });

    /// <summary>Binds an item's current settings (after the administrator entered or confirmed its secret).</summary>
    public static Task BindAsync(ITokenStore store, string kind, string name, JsonObject entry, Dictionary<string, string> secrets, CancellationToken cancellationToken) =>
        SecretBinding.WriteAsync(store, BindingKey(kind, name), SecretBinding.Record.For(Bound(kind, name, entry), secrets), cancellationToken);

    /// <summary>Forgets an item's binding (when the item is removed).</summary>
    public static Task ForgetAsync(ITokenStore store, string kind, string name, CancellationToken cancellationToken) =>
        store.RemoveAsync(BindingKey(kind, name), cancellationToken: cancellationToken);

    private static SortedDictionary<string, string> Bound(string kind, string name, JsonObject entry) =>
        kind == "account" ? SecretBinding.AccountBound(name, entry) : SecretBinding.ProviderBound(name, entry);

    /// <summary>Why an item is blocked, or null; an item never bound is bound now when <paramref name="bindNew"/>.</summary>
    private static async Task<string?> BlockReasonAsync(ITokenStore store, string kind, string name, JsonObject entry, bool bindNew, CancellationToken cancellationToken)
    {
        SecretBinding.Record? record = await SecretBinding.ReadAsync(store, BindingKey(kind, name), cancellationToken);
        SortedDictionary<string, string> bound = Bound(kind, name, entry);
        if (record is null)
        {
            if (bindNew)
            {
                await SecretBinding.WriteAsync(store, BindingKey(kind, name), SecretBinding.Record.For(bound, []), cancellationToken);
            }

            return null;
        }

        return record.Matches(bound)
            ? null
            : $"{(kind == "account" ? "Account" : "Provider")} '{name}': {SecretBinding.Explain(record, bound)} since its {(kind == "account" ? "password" : "client secret and tokens")} were set up; "
                + $"they are withheld and nothing is sent to the new settings. If the change is yours, run 'ftgate rebind {kind} \"{name}\"' (it asks for a stored secret again).";
    }

    private static async Task<(byte[] Json, BlockedItems Blocked)> EffectiveAsync(CliConfig config, bool bindNew, CancellationToken cancellationToken)
    {
        JsonObject root = JsonNode.Parse(config.ToUtf8())!.AsObject(); // a copy: the file's own text, parsed again
        JsonObject ftgate = Section(root, "FTGate");
        Section(ftgate, "TokenStore")["Directory"] = config.TokenDirectory;
        Section(ftgate, "TokenStore")["RefuseUnsafePermissions"] = true; // the CLI owns its folder: a readable one is refused
        var blocked = new BlockedItems();
        FileTokenStore store = Store(config);

        // An item only in memory is being added by this command: nothing was bound to it yet (a record left by an earlier
        // failed or removed add is not its binding).
        CliConfig disk = config.Exists ? CliConfig.Load(config.Path) : config;

        JsonObject providers = Section(ftgate, "Providers");
        foreach ((string name, JsonNode? node) in providers.ToList())
        {
            if (node is not JsonObject provider)
            {
                continue;
            }

            if (config.Exists && CliConfig.TryFind(disk.Providers, name, out _, out _)
                && await BlockReasonAsync(store, "provider", name, provider, bindNew, cancellationToken) is { } reason)
            {
                SecretBinding.Extract(provider, SecretBinding.ProviderSecretFields);
                providers.Remove(name);
                blocked.Providers[name] = reason;
                continue;
            }

            if ((string?)provider["ClientSecretEnvironmentVariable"] is { Length: > 0 } variable
                && Environment.GetEnvironmentVariable(variable) is { Length: > 0 } secret)
            {
                provider["ClientSecret"] = secret;
            }
            else if (SecretBinding.Read(provider, "ClientSecretInTokenStore").Equals("true", StringComparison.OrdinalIgnoreCase))
            {
                SecretBinding.Record? record = await SecretBinding.ReadAsync(store, BindingKey("provider", name), cancellationToken);
                if (record?.Secrets.GetValueOrDefault("ClientSecret") is { Length: > 0 } kept)
                {
                    provider["ClientSecret"] = kept;
                }
                else if (await store.GetAsync(ClientSecretKey(name), cancellationToken) is { } entry)
                {
                    provider["ClientSecret"] = Encoding.UTF8.GetString(entry.Value.Span); // kept by an earlier version
                }
            }
        }

        JsonObject accounts = Section(Section(ftgate, "SmartPop"), "Accounts");
        foreach ((string name, JsonNode? node) in accounts.ToList())
        {
            if (node is not JsonObject account)
            {
                continue;
            }

            if (config.Exists && CliConfig.TryFind(disk.Accounts, name, out _, out _)
                && await BlockReasonAsync(store, "account", name, account, bindNew, cancellationToken) is { } reason)
            {
                accounts.Remove(name);
                blocked.Accounts[name] = reason;
                continue;
            }

            if ((string?)account["PasswordEnvironmentVariable"] is { Length: > 0 } variable && Environment.GetEnvironmentVariable(variable) is not { Length: > 0 })
            {
                // Only this account is affected: it is left out, and a command about it says which variable to set.
                accounts.Remove(name);
                blocked.Accounts[name] = $"Account '{name}': environment variable {variable} (PasswordEnvironmentVariable) is not set. Set {variable} to the mailbox password, then run the command again.";
            }
        }

        return (Encoding.UTF8.GetBytes(root.ToJsonString()), blocked);
    }

    private static JsonObject Section(JsonObject parent, string name)
    {
        if (CliConfig.TryFind(parent, name, out _, out JsonObject existing))
        {
            return existing;
        }

        var created = new JsonObject();
        parent[name] = created;
        return created;
    }

    private static void Decorate<TService>(IServiceCollection services, Func<IServiceProvider, TService, TService> decorate)
        where TService : class
    {
        ServiceDescriptor original = services.Last(d => d.ServiceType == typeof(TService));
        services.Remove(original);
        services.AddSingleton(sp =>
        {
            TService inner = original.ImplementationInstance as TService
                ?? (original.ImplementationFactory is { } factory ? (TService)factory(sp)
                : (TService)ActivatorUtilities.CreateInstance(sp, original.ImplementationType!)); // one of the three is always set
            return decorate(sp, inner);
        });
    }
}

/// <summary>Providers and accounts left out of the SDK's configuration, with the reason (what to tell the administrator).</summary>
internal sealed class BlockedItems
{
    public Dictionary<string, string> Providers { get; } = new(StringComparer.OrdinalIgnoreCase);

    public Dictionary<string, string> Accounts { get; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>The SDK's registry, with blocked providers listed and refused with their reason (exit code 2).</summary>
internal sealed class BlockingRegistry(IAuthProviderRegistry inner, BlockedItems blocked) : IAuthProviderRegistry
{
    public IReadOnlyList<string> Names => [.. inner.Names, .. blocked.Providers.Keys];

    public IAuthProvider Get(string name) =>
        blocked.Providers.TryGetValue(name, out string? reason) ? throw new CliException(ExitCodes.UsageOrConfiguration, reason) : inner.Get(name);

    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IAuthProvider? provider) => inner.TryGet(name, out provider);
}

/// <summary>SmartPop's accounts, with blocked accounts refused with their reason (exit code 2).</summary>
internal sealed class BlockingAccounts(ISmartPopAccounts inner, BlockedItems blocked) : ISmartPopAccounts
{
    // Blocked accounts are not listed (a command that goes through every account collects the others and names the blocked
    // ones from BlockedItems); asking for one by name says why it cannot be used.
    public IReadOnlyList<string> Names => inner.Names;

    public SmartPopAccount Get(string name) =>
        blocked.Accounts.TryGetValue(name, out string? reason) ? throw new CliException(ExitCodes.UsageOrConfiguration, reason) : inner.Get(name);

    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SmartPopAccount? account) => inner.TryGet(name, out account);
}

/// <summary>With <c>--verbose</c>: the SDK's logs, one line each, on the error output.</summary>
internal sealed class TextWriterLoggerProvider(TextWriter writer) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(writer, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(TextWriter writer, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (writer)
            {
                writer.WriteLine($"{logLevel.ToString().ToLowerInvariant()[..4]}: {category}[{eventId.Id}] {formatter(state, exception)}");
            }
        }
    }
}
