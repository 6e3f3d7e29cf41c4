using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FTGate;

/// <summary>Configures FTGate: providers, the token store, and (with FTGate.SmartPop) mail collection.</summary>
public interface IFTGateBuilder
{
    /// <summary>The service collection being configured.</summary>
    IServiceCollection Services { get; }

    /// <summary>The <c>FTGate</c> configuration section, when <c>AddFTGate(IConfiguration)</c> was used.</summary>
    IConfiguration? Configuration { get; }
}

internal sealed class FTGateBuilder(IServiceCollection services, IConfiguration? configuration) : IFTGateBuilder
{
    public IServiceCollection Services { get; } = services;

    public IConfiguration? Configuration { get; } = configuration;
}
