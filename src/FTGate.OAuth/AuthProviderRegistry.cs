using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace FTGate.OAuth;

/// <summary>Resolves configured authentication providers by name.</summary>
public interface IAuthProviderRegistry
{
    /// <summary>The names of all configured providers, in registration order.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>Returns the provider with the given name.</summary>
    /// <param name="name">The provider's name (case-sensitive).</param>
    /// <returns>The provider.</returns>
    /// <exception cref="UnknownAuthProviderException">No provider has that name; the message lists the known ones.</exception>
    IAuthProvider Get(string name);

    /// <summary>Looks a provider up by name.</summary>
    /// <param name="name">The provider's name.</param>
    /// <param name="provider">The provider, when found.</param>
    /// <returns><see langword="true"/> when found.</returns>
    bool TryGet(string name, [NotNullWhen(true)] out IAuthProvider? provider);
}

/// <summary>
/// Describes one configured provider to the registry: its name, type and how to build it. Registered by
/// <c>AddMicrosoft</c>, <c>AddGoogle</c>, <c>AddOAuth2</c> (or a host's own provider type).
/// </summary>
public sealed class AuthProviderRegistration
{
    /// <summary>Creates a registration.</summary>
    /// <param name="name">The provider's unique name.</param>
    /// <param name="kind">The provider's type.</param>
    /// <param name="factory">Builds the provider (called once, on first use).</param>
    public AuthProviderRegistration(string name, AuthProviderKind kind, Func<IServiceProvider, IAuthProvider> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        Name = name;
        Kind = kind;
        Factory = factory;
    }

    /// <summary>The provider's unique name.</summary>
    public string Name { get; }

    /// <summary>The provider's type.</summary>
    public AuthProviderKind Kind { get; }

    /// <summary>Builds the provider.</summary>
    public Func<IServiceProvider, IAuthProvider> Factory { get; }
}

internal sealed class AuthProviderRegistry : IAuthProviderRegistry
{
    private readonly IServiceProvider _services;
    private readonly Dictionary<string, AuthProviderRegistration> _registrations;
    private readonly ConcurrentDictionary<string, Lazy<IAuthProvider>> _providers = new(StringComparer.Ordinal);

    public AuthProviderRegistry(IServiceProvider services, IEnumerable<AuthProviderRegistration> registrations)
    {
        _services = services;
        _registrations = new Dictionary<string, AuthProviderRegistration>(StringComparer.Ordinal);
        var names = new List<string>();
        foreach (AuthProviderRegistration registration in registrations)
        {
            if (!_registrations.TryAdd(registration.Name, registration))
            {
                throw new FTGateConfigurationException(
                    $"Provider '{registration.Name}' is registered twice.",
                    "Give each provider a unique name, and register it either in configuration or in code, not both.");
            }

            names.Add(registration.Name);
        }

        Names = names;
    }

    public IReadOnlyList<string> Names { get; }

    public IAuthProvider Get(string name) =>
        TryGet(name, out IAuthProvider? provider) ? provider : throw new UnknownAuthProviderException(name, Names);

    public bool TryGet(string name, [NotNullWhen(true)] out IAuthProvider? provider)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_registrations.TryGetValue(name, out AuthProviderRegistration? registration))
        {
            provider = null;
            return false;
        }

        provider = _providers.GetOrAdd(
            name,
            _ => new Lazy<IAuthProvider>(() => registration.Factory(_services), LazyThreadSafetyMode.ExecutionAndPublication)).Value;
        return true;
    }
}
