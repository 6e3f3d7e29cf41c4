using FTGate.OAuth;
using FTGate.Redis;
using FTGate.Redis.Internal;
using FTGate.SmartPop;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FTGate;

/// <summary>Farm registrations on <see cref="IFTGateBuilder"/>: every shared store on one Redis.</summary>
public static class RedisBuilderExtensions
{
    /// <summary>
    /// Makes this process a farm node: the token store (grants and pending Authorize Now requests, encrypted), the grant
    /// refresh lock, the seen-UIDL store and the account poll leases all live in Redis, bound from the builder's
    /// <c>Redis</c> configuration section (<c>FTGate:Redis:Configuration</c>, <c>FTGate:Redis:KeyPrefix</c>,
    /// <c>FTGate:Redis:EncryptionKeyFile</c>, …). Replaces the file or in-memory stores registered before it: call it after <c>UseFileTokenStore</c> and <c>UseFileUidlStore</c>.
    /// </summary>
    /// <param name="builder">The builder (from <c>AddFTGate(configuration)</c>).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="FTGateConfigurationException">The builder has no configuration; use the overload that takes a delegate.</exception>
    /// <example>
    /// <code>
    /// services.AddFTGate(configuration.GetSection("FTGate"))
    ///     .AddSmartPop()
    ///     .UseMaildirSink("/var/mail/inbound")
    ///     .UseRedis();
    /// </code>
    /// </example>
    public static IFTGateBuilder UseRedis(this IFTGateBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IConfiguration configuration = builder.Configuration?.GetSection("Redis") ?? throw new FTGateConfigurationException(
            "UseRedis(): the FTGate builder has no configuration to read FTGate:Redis from.",
            "Call AddFTGate(configuration.GetSection(\"FTGate\")) first, or use UseRedis(o => o.Configuration = \"host:6379\").");
        return builder.UseRedis(configuration);
    }

    /// <summary>Makes this process a farm node with settings bound from <paramref name="configuration"/> (the <c>FTGate:Redis</c> section).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configuration">The section.</param>
    /// <returns>The builder.</returns>
    public static IFTGateBuilder UseRedis(this IFTGateBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<RedisOptions>().Bind(configuration);
        return builder.AddRedisServices();
    }

    /// <summary>Makes this process a farm node with settings set in code.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the server, key prefix and encryption key.</param>
    /// <returns>The builder.</returns>
    public static IFTGateBuilder UseRedis(this IFTGateBuilder builder, Action<RedisOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<RedisOptions>().Configure(configure);
        return builder.AddRedisServices();
    }

    private static IFTGateBuilder AddRedisServices(this IFTGateBuilder builder)
    {
        IServiceCollection services = builder.Services;
        services.AddOptions<RedisOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisOptions>, RedisOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new RedisConnection(sp.GetRequiredService<IOptions<RedisOptions>>(), sp.GetService<ILogger<RedisConnection>>()));
        services.TryAddSingleton(sp => new RedisTokenStore(sp.GetRequiredService<RedisConnection>()));
        services.TryAddSingleton(sp => new RedisGrantLock(sp.GetRequiredService<RedisConnection>(), sp.GetRequiredService<TimeProvider>(), sp.GetService<ILogger<RedisGrantLock>>()));
        services.TryAddSingleton(sp => new RedisAccountLeases(sp.GetRequiredService<RedisConnection>(), sp.GetRequiredService<TimeProvider>(), sp.GetService<ILogger<RedisAccountLeases>>()));
        services.TryAddSingleton(sp => new RedisUidlStore(sp.GetRequiredService<RedisConnection>(), sp.GetRequiredService<RedisAccountLeases>()));
        services.Replace(ServiceDescriptor.Singleton<ITokenStore>(sp => sp.GetRequiredService<RedisTokenStore>()));
        services.Replace(ServiceDescriptor.Singleton<IGrantLock>(sp => sp.GetRequiredService<RedisGrantLock>()));
        services.Replace(ServiceDescriptor.Singleton<IUidlStore>(sp => sp.GetRequiredService<RedisUidlStore>()));
        services.Replace(ServiceDescriptor.Singleton<IAccountLeases>(sp => sp.GetRequiredService<RedisAccountLeases>()));
        return builder;
    }
}
