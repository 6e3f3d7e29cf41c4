using System.Text.Json;
using System.Text.Json.Nodes;
using FTGate.OAuth;
using FTGate.WebAdmin.Security;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace FTGate.WebAdmin.Configuration;

/// <summary>
/// The SDK as configured by the configuration file: a service provider built with
/// <c>services.AddFTGate(configuration.GetSection("FTGate"))</c>, rebuilt whenever the admin saves a change (providers and
/// accounts are added at run time here, while the SDK reads its configuration once). All generations share one encrypted
/// <see cref="FileTokenStore"/>, so tokens and pending authorizations (state, PKCE verifier) survive a rebuild.
/// </summary>
internal sealed partial class FTGateRuntime : IAsyncDisposable
{
    private readonly ConfigurationFile _file;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _sync = new();
    private readonly List<ServiceProvider> _retired = [];
    private readonly ServiceProvider _validators;
    private readonly SecretVault _vault;
    private Generation? _current;

    public FTGateRuntime(ConfigurationFile file, WebAdminOptions options, FileTokenStore tokenStore, SecretVault vault, ILoggerFactory loggerFactory, TimeProvider time)
    {
        _file = file;
        _vault = vault;
        _loggerFactory = loggerFactory;
        _time = time;
        _logger = loggerFactory.CreateLogger("FTGate.WebAdmin.Runtime");
        TokenStore = tokenStore;
        DataDirectory = options.DataDirectory!;
        var validation = new ServiceCollection();
        validation.AddFTGate();
        ConfigureSmartPopValidation(validation);
        _validators = validation.BuildServiceProvider();
    }

    /// <summary>The encrypted token store shared by every generation.</summary>
    public FileTokenStore TokenStore { get; }

    /// <summary>The data folder.</summary>
    public string DataDirectory { get; }

    /// <summary>The SDK's services for the current configuration.</summary>
    /// <exception cref="FTGateConfigurationException">The configuration file cannot be turned into services.</exception>
    public IServiceProvider Services => Current().Services;

    /// <summary>
    /// Why a provider or account is withheld from the SDK (its secret or grant was bound to other settings), or
    /// <see langword="null"/> when it is in use.
    /// </summary>
    public string? BlockedProvider(string name) => Blocked().Providers.GetValueOrDefault(name);

    /// <inheritdoc cref="BlockedProvider"/>
    public string? BlockedAccount(string name) => Blocked().Accounts.GetValueOrDefault(name);

    private (Dictionary<string, string> Providers, Dictionary<string, string> Accounts) Blocked()
    {
        lock (_sync)
        {
            if (_current is not null && _current.Version == _file.Version)
            {
                return (_current.BlockedProviders, _current.BlockedAccounts);
            }
        }

        // Without building the SDK's services (which may fail for an unrelated reason).
        (_, Dictionary<string, string> providers, Dictionary<string, string> accounts) = Effective();
        return (providers, accounts);
    }

    /// <summary>The SDK's provider registry for the current configuration.</summary>
    public IAuthProviderRegistry Registry => Services.GetRequiredService<IAuthProviderRegistry>();

    /// <summary>
    /// Validates one provider's settings with the SDK's own validators (the messages name the provider and the field).
    /// </summary>
    public IReadOnlyList<string> ValidateProvider(string name, JsonObject settings)
    {
        ProviderTypeDefinition? type = ProviderSchema.Find(settings["Type"]?.GetValue<string>());
        if (type is null)
        {
            return [$"Provider '{name}': Type must be Microsoft, Google or OAuth2."];
        }

        return type.Kind switch
        {
            AuthProviderKind.Microsoft => Validate<MicrosoftAuthOptions>(name, settings),
            AuthProviderKind.Google => Validate<GoogleAuthOptions>(name, settings),
            _ => Validate<OAuth2AuthOptions>(name, settings),
        };
    }

    /// <summary>Reads a provider's settings as the SDK binds them.</summary>
    public static TOptions Bind<TOptions>(JsonObject settings)
        where TOptions : new()
    {
        IConfigurationRoot configuration = new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(settings)))
            .Build();
        var options = new TOptions();
        configuration.Bind(options);
        return options;
    }

    public async ValueTask DisposeAsync()
    {
        List<ServiceProvider> all;
        lock (_sync)
        {
            all = [.. _retired];
            if (_current is not null)
            {
                all.Add(_current.Services);
            }

            _retired.Clear();
            _current = null;
        }

        foreach (ServiceProvider provider in all)
        {
            await provider.DisposeAsync();
        }

        await _validators.DisposeAsync();
    }

    private List<string> Validate<TOptions>(string name, JsonObject settings)
        where TOptions : class, new()
    {
        TOptions options;
        try
        {
            options = Bind<TOptions>(settings);
        }
        catch (InvalidOperationException ex)
        {
            return [$"Provider '{name}': {ex.Message}"];
        }

        var problems = new List<string>();
        foreach (IValidateOptions<TOptions> validator in _validators.GetServices<IValidateOptions<TOptions>>())
        {
            ValidateOptionsResult result = validator.Validate(name, options);
            if (result.Failed)
            {
                problems.AddRange(result.Failures ?? [result.FailureMessage]);
            }
        }

        return problems;
    }

    private Generation Current()
    {
        lock (_sync)
        {
            if (_current is not null && _current.Version == _file.Version)
            {
                return _current;
            }

            int version = _file.Version;
            (byte[] json, Dictionary<string, string> blockedProviders, Dictionary<string, string> blockedAccounts) = Effective();
            ServiceProvider services = Build(json);
            if (_current is not null)
            {
                // Requests still running may hold the old generation's providers: dispose it at shutdown, not now.
                _retired.Add(_current.Services);
            }

            _current = new Generation(version, services, blockedProviders, blockedAccounts);
            LogRebuilt(_logger, version);
            return _current;
        }
    }

    /// <summary>
    /// The configuration the SDK gets: each provider and account with the secrets bound to its current settings; one whose
    /// bound settings changed since its secret was entered is left out entirely (with the reason), so that no secret, token or
    /// pending authorization of it can reach the new endpoint.
    /// </summary>
    private (byte[] Json, Dictionary<string, string> BlockedProviders, Dictionary<string, string> BlockedAccounts) Effective()
    {
        JsonObject root = _file.Snapshot();
        JsonObject ftgate = ConfigurationFile.Section(root, "FTGate");
        var blockedProviders = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var blockedAccounts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        Apply(ConfigurationFile.Section(ftgate, "Providers"), _vault.Provider, Samples.SecretBinding.ProviderSecretFields, blockedProviders);
        Apply(ConfigurationFile.Section(ConfigurationFile.Section(ftgate, "SmartPop"), "Accounts"), _vault.Account, Samples.SecretBinding.AccountSecretFields, blockedAccounts);
        return (JsonSerializer.SerializeToUtf8Bytes(root), blockedProviders, blockedAccounts);

        static void Apply(JsonObject section, Func<string, JsonObject, SecretVerdict> verdictOf, IReadOnlyList<string> secretFields, Dictionary<string, string> blocked)
        {
            foreach ((string name, JsonNode? node) in section.ToList())
            {
                if (node is not JsonObject settings)
                {
                    continue;
                }

                Samples.SecretBinding.Extract(settings, secretFields);
                SecretVerdict verdict = verdictOf(name, settings);
                if (!verdict.Usable)
                {
                    section.Remove(name);
                    blocked[name] = verdict.Reason!; // a verdict that is not usable always says why
                    continue;
                }

                foreach ((string field, string value) in verdict.Secrets)
                {
                    settings[field] = value;
                }
            }
        }
    }

    private ServiceProvider Build(byte[] json)
    {
        IConfigurationRoot configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(json)).Build();
        IConfigurationSection section = configuration.GetSection("FTGate");
        var services = new ServiceCollection();
        services.AddSingleton(_loggerFactory);
        services.AddLogging();
        services.AddSingleton(_time);
        IFTGateBuilder builder = services.AddFTGate(section);
        builder.Services.Replace(ServiceDescriptor.Singleton<ITokenStore>(TokenStore));
        ConfigureSmartPop(builder); // FTGateRuntime.SmartPop.cs
        return services.BuildServiceProvider();
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "FTGate services rebuilt for configuration version {Version}")]
    private static partial void LogRebuilt(ILogger logger, int version);

    private sealed record Generation(int Version, ServiceProvider Services, Dictionary<string, string> BlockedProviders, Dictionary<string, string> BlockedAccounts);
}
