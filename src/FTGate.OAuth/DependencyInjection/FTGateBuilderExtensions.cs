using FTGate.OAuth;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace FTGate;

/// <summary>Token store and provider registrations on <see cref="IFTGateBuilder"/>.</summary>
public static class FTGateBuilderExtensions
{
    /// <summary>Stores tokens encrypted (AES-256-GCM) in one file per entry under <paramref name="directory"/>, with a key file beside it.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="directory">The folder; created owner-only if missing.</param>
    /// <returns>The builder.</returns>
    public static IFTGateBuilder UseFileTokenStore(this IFTGateBuilder builder, string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        return builder.UseFileTokenStore(o => o.Directory = directory);
    }

    /// <summary>Stores tokens in a <see cref="FileTokenStore"/> configured by <paramref name="configure"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the folder, and optionally the key or key file.</param>
    /// <returns>The builder.</returns>
    public static IFTGateBuilder UseFileTokenStore(this IFTGateBuilder builder, Action<FileTokenStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        builder.Services.Replace(ServiceDescriptor.Singleton<ITokenStore>(sp => new FileTokenStore(
            sp.GetRequiredService<IOptions<FileTokenStoreOptions>>().Value, sp.GetService<Microsoft.Extensions.Logging.ILogger<FileTokenStore>>()))); // the logger: permission warnings
        return builder;
    }

    /// <summary>Keeps tokens in memory only (tests, or hosts that re-authorize after each restart).</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IFTGateBuilder UseInMemoryTokenStore(this IFTGateBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<ITokenStore, InMemoryTokenStore>());
        return builder;
    }

    /// <summary>Uses the host's own <see cref="ITokenStore"/> (for example one on a database or a distributed cache).</summary>
    /// <typeparam name="TStore">The store type, resolved from the container as a singleton.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IFTGateBuilder UseTokenStore<TStore>(this IFTGateBuilder builder)
        where TStore : class, ITokenStore
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<ITokenStore, TStore>());
        return builder;
    }

    /// <summary>Adds a Microsoft 365 / Outlook.com provider.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The provider's unique name (for example "Company Email Account").</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The builder.</returns>
    public static IFTGateBuilder AddMicrosoft(this IFTGateBuilder builder, string name, Action<MicrosoftAuthOptions> configure) =>
        builder.AddProvider<MicrosoftAuthOptions>(name, AuthProviderKind.Microsoft, o => o.Configure(configure), CreateMicrosoft);

    /// <summary>Adds a Microsoft 365 / Outlook.com provider bound from a configuration section.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The provider's unique name.</param>
    /// <param name="configuration">The provider's section (<c>FTGate:Providers:&lt;name&gt;</c>).</param>
    /// <returns>The builder.</returns>
    public static IFTGateBuilder AddMicrosoft(this IFTGateBuilder builder, string name, IConfiguration configuration) =>
        builder.AddProvider<MicrosoftAuthOptions>(name, AuthProviderKind.Microsoft, o => o.Bind(configuration), CreateMicrosoft);

    /// <summary>Adds a Google (Gmail / Workspace) provider.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The provider's unique name.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The builder.</returns>
    public static IFTGateBuilder AddGoogle(this IFTGateBuilder builder, string name, Action<GoogleAuthOptions> configure) =>
        builder.AddProvider<GoogleAuthOptions>(name, AuthProviderKind.Google, o => o.Configure(configure), CreateGoogle);

    /// <summary>Adds a Google (Gmail / Workspace) provider bound from a configuration section.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The provider's unique name.</param>
    /// <param name="configuration">The provider's section.</param>
    /// <returns>The builder.</returns>
    public static IFTGateBuilder AddGoogle(this IFTGateBuilder builder, string name, IConfiguration configuration) =>
        builder.AddProvider<GoogleAuthOptions>(name, AuthProviderKind.Google, o => o.Bind(configuration), CreateGoogle);

    /// <summary>Adds a generic OAuth 2.0 / OpenID Connect provider.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The provider's unique name.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The builder.</returns>
    public static IFTGateBuilder AddOAuth2(this IFTGateBuilder builder, string name, Action<OAuth2AuthOptions> configure) =>
        builder.AddProvider<OAuth2AuthOptions>(name, AuthProviderKind.OAuth2, o => o.Configure(configure), CreateOAuth2);

    /// <summary>Adds a generic OAuth 2.0 / OpenID Connect provider bound from a configuration section.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The provider's unique name.</param>
    /// <param name="configuration">The provider's section.</param>
    /// <returns>The builder.</returns>
    public static IFTGateBuilder AddOAuth2(this IFTGateBuilder builder, string name, IConfiguration configuration) =>
        builder.AddProvider<OAuth2AuthOptions>(name, AuthProviderKind.OAuth2, o => o.Bind(configuration), CreateOAuth2);

    private static IAuthProvider CreateMicrosoft(IServiceProvider services, string name) =>
        ActivatorUtilities.CreateInstance<MicrosoftAuthProvider>(services, name);

    private static IAuthProvider CreateGoogle(IServiceProvider services, string name) =>
        ActivatorUtilities.CreateInstance<GoogleAuthProvider>(services, name);

    private static IAuthProvider CreateOAuth2(IServiceProvider services, string name) =>
        ActivatorUtilities.CreateInstance<OAuth2AuthProvider>(services, name);

    private static IFTGateBuilder AddProvider<TOptions>(
        this IFTGateBuilder builder,
        string name,
        AuthProviderKind kind,
        Action<OptionsBuilder<TOptions>> configure,
        Func<IServiceProvider, string, IAuthProvider> create)
        where TOptions : AuthProviderOptions
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        foreach (ServiceDescriptor descriptor in builder.Services)
        {
            if (descriptor.ServiceType == typeof(AuthProviderRegistration)
                && descriptor.ImplementationInstance is AuthProviderRegistration existing
                && string.Equals(existing.Name, name, StringComparison.Ordinal))
            {
                throw new FTGateConfigurationException(
                    $"Provider '{name}' is registered twice.",
                    "Give each provider a unique name, and register it either in configuration or in code, not both.");
            }
        }

        OptionsBuilder<TOptions> options = builder.Services.AddOptions<TOptions>(name);
        configure(options);
        options.ValidateOnStart();
        builder.Services.AddSingleton(new AuthProviderRegistration(name, kind, sp => create(sp, name)));
        return builder;
    }
}
