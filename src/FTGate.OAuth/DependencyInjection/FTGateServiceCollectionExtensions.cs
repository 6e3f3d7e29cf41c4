using FTGate.OAuth;
using FTGate.OAuth.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace FTGate;

/// <summary>The entry point: <c>services.AddFTGate(...)</c>.</summary>
public static class FTGateServiceCollectionExtensions
{
    /// <summary>
    /// Adds the FTGate core services (provider registry, token store, time). Idempotent: every registration is a TryAdd, so
    /// a host can replace any of them. Returns a builder to add providers and choose the token store.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The builder.</returns>
    /// <example>
    /// <code>
    /// services.AddFTGate()
    ///     .UseFileTokenStore("/var/lib/mailserver/tokens")
    ///     .AddMicrosoft("Company Email Account", o =>
    ///     {
    ///         o.ClientId = "00000000-0000-0000-0000-000000000000";
    ///         o.TenantId = "contoso.onmicrosoft.com";
    ///         o.UserName = "user@contoso.onmicrosoft.com";
    ///     });
    /// </code>
    /// </example>
    public static IFTGateBuilder AddFTGate(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddCore(services);
        return new FTGateBuilder(services, null);
    }

    /// <summary>
    /// Adds FTGate configured from the <c>FTGate</c> configuration section: <c>TokenStore</c> (<c>Directory</c>,
    /// <c>KeyFile</c>) and every provider under <c>Providers:&lt;name&gt;</c>, whose <c>Type</c> (<c>Microsoft</c>,
    /// <c>Google</c> or <c>OAuth2</c>) picks its options class.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The <c>FTGate</c> section, for example <c>builder.Configuration.GetSection("FTGate")</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="FTGateConfigurationException">A provider has no or an unknown <c>Type</c>.</exception>
    public static IFTGateBuilder AddFTGate(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        AddCore(services);
        var builder = new FTGateBuilder(services, configuration);

        IConfigurationSection store = configuration.GetSection("TokenStore");
        if (!string.IsNullOrWhiteSpace(store["Directory"]))
        {
            builder.UseFileTokenStore(o => store.Bind(o));
        }

        foreach (IConfigurationSection provider in configuration.GetSection("Providers").GetChildren())
        {
            string name = provider.Key;
            string? type = provider["Type"];
            if (string.IsNullOrWhiteSpace(type))
            {
                throw new FTGateConfigurationException(
                    $"Provider '{name}': Type is required.",
                    "Set FTGate:Providers:" + name + ":Type to Microsoft, Google or OAuth2.");
            }

            if (!Enum.TryParse(type, ignoreCase: true, out AuthProviderKind kind) || !Enum.IsDefined(kind))
            {
                throw new FTGateConfigurationException(
                    $"Provider '{name}': Type '{type}' is not a provider type.",
                    "Set FTGate:Providers:" + name + ":Type to Microsoft, Google or OAuth2.");
            }

            switch (kind)
            {
                case AuthProviderKind.Microsoft:
                    builder.AddMicrosoft(name, provider);
                    break;
                case AuthProviderKind.Google:
                    builder.AddGoogle(name, provider);
                    break;
                default:
                    builder.AddOAuth2(name, provider);
                    break;
            }
        }

        return builder;
    }

    /// <summary>
    /// Validates every FTGate option now (what the Generic Host does at start through <c>ValidateOnStart</c>), for hosts that
    /// build a service provider without a host.
    /// </summary>
    /// <param name="services">The built service provider.</param>
    /// <exception cref="OptionsValidationException">One item is invalid; the message names it and the field.</exception>
    /// <exception cref="AggregateException">Several items are invalid.</exception>
    public static void ValidateFTGateConfiguration(this IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.GetService<IStartupValidator>()?.Validate();
    }

    private static void AddCore(IServiceCollection services)
    {
        services.AddOptions();
        services.TryAddSingleton(TimeProvider.System);

        // The one HTTP seam: providers take the named clients "FTGate.OAuth.<provider>" from IHttpClientFactory.
        if (!services.Any(d => d.ServiceType == typeof(IHttpClientFactory)))
        {
            services.AddHttpClient();
        }
        services.TryAddSingleton<ITokenStore, InMemoryTokenStore>();

        // The lock that fits the store in use (the file store's lock files, otherwise in-process); a farm replaces it.
        services.TryAddSingleton<IGrantLock>(sp => GrantLocks.For(sp.GetRequiredService<ITokenStore>()));
        services.TryAddSingleton<IAuthProviderRegistry, AuthProviderRegistry>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MicrosoftAuthOptions>, MicrosoftAuthOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GoogleAuthOptions>, GoogleAuthOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OAuth2AuthOptions>, OAuth2AuthOptionsValidator>());
    }
}
