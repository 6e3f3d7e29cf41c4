using FTGate.OAuth;
using FTGate.SmartPop;
using FTGate.SmartPop.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FTGate;

/// <summary>SmartPop registrations on <see cref="IFTGateBuilder"/>.</summary>
public static class SmartPopBuilderExtensions
{
    /// <summary>
    /// Adds SmartPop: the client, the account catalog, the seen-UIDL store (in memory unless <see cref="UseFileUidlStore"/>)
    /// and one memory budget for the process. No background work: the hosted poller is added by
    /// <see cref="AddSmartPopPoller"/>. When the builder has configuration
    /// (<c>AddFTGate(configuration)</c>), binds <c>SmartPop</c> (process settings) and every account under
    /// <c>SmartPop:Accounts:&lt;name&gt;</c>. Idempotent.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    /// <example>
    /// <code>
    /// services.AddFTGate(configuration.GetSection("FTGate"))
    ///     .AddSmartPop()
    ///     .UseFileUidlStore("/var/lib/mailserver/smartpop")
    ///     .UseMaildirSink("/var/mail/inbound");
    /// </code>
    /// </example>
    public static IFTGateBuilder AddSmartPop(this IFTGateBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddCore(builder.Services);
        IConfigurationSection? section = builder.Configuration?.GetSection("SmartPop");
        if (section is not null && !builder.Services.Any(d => d.ServiceType == typeof(SmartPopConfigurationBound)))
        {
            builder.Services.AddSingleton(new SmartPopConfigurationBound());
            builder.Services.AddOptions<SmartPopOptions>().Bind(section);
            foreach (IConfigurationSection account in section.GetSection("Accounts").GetChildren())
            {
                AddAccount(builder.Services, account.Key, o => o.Bind(account));
            }
        }

        return builder;
    }

    /// <summary>Adds SmartPop and sets the process-wide options.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets concurrency, the memory budget and back-off.</param>
    /// <returns>The builder.</returns>
    public static IFTGateBuilder AddSmartPop(this IFTGateBuilder builder, Action<SmartPopOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        builder.AddSmartPop();
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>Adds SmartPop (if not yet added) and one account configured in code.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The account's unique name.</param>
    /// <param name="configure">Sets the account.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="FTGateConfigurationException">An account of that name is already registered.</exception>
    public static IFTGateBuilder AddSmartPop(this IFTGateBuilder builder, string name, Action<SmartPopAccount> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        builder.AddSmartPop();
        AddAccount(builder.Services, name, o => o.Configure(configure));
        return builder;
    }

    /// <summary>
    /// Adds SmartPop (if not yet added) and its hosted poller, <see cref="SmartPopService"/>: the host starts it and stops it
    /// on shutdown, and <see cref="ISmartPopPollerStatus"/> reports what it does. When an <see cref="IAccountLeases"/> is
    /// registered, the poller collects an account only while it holds the account's lease. It delivers to the registered
    /// <see cref="IMessageSink"/> (<see cref="UseMaildirSink"/>, <see cref="UseMessageSink{TSink}"/>). Idempotent.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    /// <example>
    /// <code>
    /// builder.Services.AddFTGate(builder.Configuration.GetSection("FTGate"))
    ///     .AddSmartPop()
    ///     .UseMaildirSink("/var/mail/inbound")
    ///     .AddSmartPopPoller();
    /// </code>
    /// </example>
    public static IFTGateBuilder AddSmartPopPoller(this IFTGateBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddSmartPop();

        // One instance under both service types. SmartPopService is not IDisposable, so the container's two references to
        // it never lead to a second disposal.
        builder.Services.TryAddSingleton(sp => sp.GetService<IMessageSink>() is null
            ? throw new FTGateConfigurationException(
                "The SmartPop poller has nowhere to deliver collected mail: no IMessageSink is registered.",
                "Call UseMaildirSink(directory) or UseMessageSink<TSink>() on the FTGate builder, or register your own FTGate.SmartPop.IMessageSink as a singleton.")
            : ActivatorUtilities.CreateInstance<SmartPopService>(sp));
        builder.Services.TryAddSingleton<ISmartPopPollerStatus>(sp => sp.GetRequiredService<SmartPopService>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SmartPopService>(sp => sp.GetRequiredService<SmartPopService>()));
        return builder;
    }

    /// <summary>Keeps seen UIDLs in one small file per account under <paramref name="directory"/> (the embedded default for production).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="directory">The folder; created if missing.</param>
    /// <returns>The builder.</returns>
    public static IFTGateBuilder UseFileUidlStore(this IFTGateBuilder builder, string directory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        builder.Services.Replace(ServiceDescriptor.Singleton<IUidlStore>(_ => new FileUidlStore(directory)));
        return builder;
    }

    /// <summary>Delivers collected mail into a Maildir.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="directory">The Maildir.</param>
    /// <param name="configure">Optionally: one Maildir per account, line-end form.</param>
    /// <returns>The builder.</returns>
    public static IFTGateBuilder UseMaildirSink(this IFTGateBuilder builder, string directory, Action<MaildirMessageSinkOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var options = new MaildirMessageSinkOptions { Directory = directory };
        configure?.Invoke(options);
        builder.Services.Replace(ServiceDescriptor.Singleton<IMessageSink>(new MaildirMessageSink(options)));
        return builder;
    }

    /// <summary>Delivers collected mail through the host's own sink.</summary>
    /// <typeparam name="TSink">The sink type, resolved as a singleton.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IFTGateBuilder UseMessageSink<TSink>(this IFTGateBuilder builder)
        where TSink : class, IMessageSink
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IMessageSink, TSink>());
        return builder;
    }

    private static void AddCore(IServiceCollection services)
    {
        services.AddOptions();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IUidlStore, InMemoryUidlStore>();
        services.TryAddSingleton<ISmartPopAccounts, SmartPopAccounts>();
        services.TryAddSingleton<IPop3ConnectionFactory>(sp => new MailKitPop3ConnectionFactory(sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance));
        services.TryAddSingleton(sp => new ByteBudget(sp.GetRequiredService<IOptions<SmartPopOptions>>().Value.MemoryBudgetBytes));
        services.TryAddSingleton<ISmartPopClient>(sp => new SmartPopClient(
            sp.GetRequiredService<IAuthProviderRegistry>(),
            sp.GetRequiredService<IUidlStore>(),
            sp.GetRequiredService<IOptions<SmartPopOptions>>(),
            sp.GetRequiredService<IPop3ConnectionFactory>(),
            sp.GetRequiredService<ByteBudget>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SmartPopAccount>, SmartPopAccountValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SmartPopOptions>, SmartPopOptionsValidator>());
        services.AddOptions<SmartPopOptions>().ValidateOnStart();
    }

    private static void AddAccount(IServiceCollection services, string name, Action<OptionsBuilder<SmartPopAccount>> configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (services.Any(d => d.ServiceType == typeof(SmartPopAccountRegistration) && d.ImplementationInstance is SmartPopAccountRegistration r && r.Name == name))
        {
            throw new FTGateConfigurationException(
                $"SmartPop account '{name}' is registered twice.",
                "Give each account a unique name, and register it either in configuration or in code, not both.");
        }

        services.AddSingleton(new SmartPopAccountRegistration(name));
        OptionsBuilder<SmartPopAccount> options = services.AddOptions<SmartPopAccount>(name);
        configure(options);
        options.PostConfigure(o => o.Name = name).ValidateOnStart();
    }

    private sealed class SmartPopConfigurationBound;
}
