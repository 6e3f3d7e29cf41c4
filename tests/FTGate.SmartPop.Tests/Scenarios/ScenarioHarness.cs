using System.Diagnostics.CodeAnalysis;
using FTGate.OAuth;
using FTGate.SmartPop.Tests.Unit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FTGate.SmartPop.Tests.Scenarios;

/// <summary>A <see cref="SmartPopClient"/> wired to one target: the SDK's provider (refreshes counted), a UIDL store, the protocol log.</summary>
internal sealed class ScenarioHarness : IDisposable
{
    public const string ProviderName = "scenario-oauth";

    private readonly ILoggerFactory _loggers;
    private readonly List<string> _log = [];

    public ScenarioHarness(IPop3Target target, IAuthProvider? provider, SmartPopOptions? options = null, TimeProvider? time = null, IUidlStore? store = null)
    {
        Target = target;
        Provider = provider is null ? null : new CountingAuthProvider(provider);
        Store = store ?? new InMemoryUidlStore();
        _loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(new ListLoggerProvider(_log)));
        Client = new SmartPopClient(new SingleProviderRegistry(Provider), Store, Options.Create(options ?? new SmartPopOptions()), time ?? TimeProvider.System, _loggers);
    }

    public IPop3Target Target { get; }

    public CountingAuthProvider? Provider { get; }

    public int Refreshes => Provider?.Refreshes ?? 0;

    public IUidlStore Store { get; }

    public SmartPopClient Client { get; }

    public string AllLog
    {
        get
        {
            lock (_log)
            {
                return string.Join("\n", _log);
            }
        }
    }

    public static async Task<ScenarioHarness> AuthorizeAsync(IPop3Target target, SmartPopOptions? options = null, TimeProvider? time = null, IUidlStore? store = null)
    {
        IAuthProvider provider = await target.AuthorizeAsync(target.OAuthUser, TestContext.Current.CancellationToken);
        return new ScenarioHarness(target, provider, options, time, store);
    }

    /// <summary>An OAuth account on the target's TLS port, trusting exactly the target's root.</summary>
    public SmartPopAccount Account(Action<SmartPopAccount>? configure = null)
    {
        var account = new SmartPopAccount
        {
            Name = "sc-" + Target.Name.ToLowerInvariant(),
            Host = Target.Host,
            Port = Target.TlsPort,
            Security = Pop3Security.SslOnConnect,
            UserName = Target.OAuthUser,
            AuthProvider = ProviderName,
            TrustedRootCertificates = Target.TrustedRoots,
            CheckCertificateRevocation = false, // neither test root publishes a CRL
            ProtocolLog = true,
        };
        configure?.Invoke(account);
        return account;
    }

    /// <summary>A password account for the target's password user.</summary>
    public SmartPopAccount PasswordAccount(Action<SmartPopAccount>? configure = null) => Account(a =>
    {
        a.Name = "sc-pw-" + Target.Name.ToLowerInvariant();
        a.UserName = Target.PasswordUser;
        a.AuthProvider = null;
        a.Password = Target.Password;
        configure?.Invoke(a);
    });

    public void Dispose() => _loggers.Dispose();

    private sealed class ListLoggerProvider(List<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(lines);

        public void Dispose()
        {
        }
    }

    private sealed class SingleProviderRegistry(IAuthProvider? provider) : IAuthProviderRegistry
    {
        public IReadOnlyList<string> Names => provider is null ? [] : [ProviderName];

        public IAuthProvider Get(string name) =>
            TryGet(name, out IAuthProvider? found) ? found : throw new InvalidOperationException("no provider " + name);

        public bool TryGet(string name, [NotNullWhen(true)] out IAuthProvider? found)
        {
            found = name == ProviderName ? provider : null;
            return found is not null;
        }
    }
}

/// <summary>Forwards to the SDK's provider and counts forced refreshes (SmartPop's "one forced refresh" rule).</summary>
internal sealed class CountingAuthProvider(IAuthProvider inner) : IAuthProvider
{
    private int _refreshes;

    public int Refreshes => Volatile.Read(ref _refreshes);

    public string Name => inner.Name;

    public AuthProviderKind Kind => inner.Kind;

    public string? UserName => inner.UserName;

    public Task<AuthorizationChallenge> BeginAuthorizationAsync(AuthorizationRequest request, CancellationToken cancellationToken = default) => inner.BeginAuthorizationAsync(request, cancellationToken);

    public Task<AuthorizationResult> CompleteAuthorizationAsync(AuthorizationCallback callback, CancellationToken cancellationToken = default) => inner.CompleteAuthorizationAsync(callback, cancellationToken);

    public Task<AuthorizationResult> AuthorizeWithDeviceCodeAsync(Func<DeviceCodeInfo, CancellationToken, Task> onDeviceCode, CancellationToken cancellationToken = default) => inner.AuthorizeWithDeviceCodeAsync(onDeviceCode, cancellationToken);

    public Task<AccessToken> GetAccessTokenAsync(string userName, CancellationToken cancellationToken = default) => inner.GetAccessTokenAsync(userName, cancellationToken);

    public Task<AccessToken> RefreshAccessTokenAsync(string userName, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _refreshes);
        return inner.RefreshAccessTokenAsync(userName, cancellationToken);
    }

    public Task<AuthorizationStatus> GetStatusAsync(string userName, CancellationToken cancellationToken = default) => inner.GetStatusAsync(userName, cancellationToken);

    public Task SignOutAsync(string userName, CancellationToken cancellationToken = default) => inner.SignOutAsync(userName, cancellationToken);
}
