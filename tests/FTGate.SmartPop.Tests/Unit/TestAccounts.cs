using FTGate.OAuth;
using FTGate.SmartPop.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace FTGate.SmartPop.Tests.Unit;

internal static class TestAccounts
{
    public static SmartPopAccount OAuth(Action<SmartPopAccount>? configure = null)
    {
        var account = new SmartPopAccount { Name = "acct", Host = "pop.example.test", UserName = "alice@example.test", AuthProvider = "prov" };
        configure?.Invoke(account);
        return account;
    }

    public static SmartPopAccount Password(Action<SmartPopAccount>? configure = null)
    {
        var account = new SmartPopAccount { Name = "acct", Host = "pop.example.test", UserName = "carol@example.test", Password = "carol-secret-password" };
        configure?.Invoke(account);
        return account;
    }

    public static (Mock<IAuthProvider> Provider, Mock<IAuthProviderRegistry> Registry) Provider(string cachedToken = "cached-token-123", string freshToken = "fresh-token-456", bool fromCache = true)
    {
        var provider = new Mock<IAuthProvider>(MockBehavior.Strict);
        provider.SetupGet(p => p.Name).Returns("prov");
        provider.SetupGet(p => p.UserName).Returns("alice@example.test"); // the shared-mailbox rule asks the provider's user
        provider.Setup(p => p.GetAccessTokenAsync("alice@example.test", It.IsAny<CancellationToken>()))
            .ReturnsAsync(new AccessToken(cachedToken, DateTimeOffset.UnixEpoch.AddYears(60), "alice@example.test", fromCache: fromCache));
        provider.Setup(p => p.RefreshAccessTokenAsync("alice@example.test", It.IsAny<CancellationToken>()))
            .ReturnsAsync(new AccessToken(freshToken, DateTimeOffset.UnixEpoch.AddYears(60), "alice@example.test"));
        var registry = new Mock<IAuthProviderRegistry>(MockBehavior.Strict);
        IAuthProvider? found = provider.Object;
        registry.Setup(r => r.Get("prov")).Returns(provider.Object);
        registry.Setup(r => r.TryGet("prov", out found)).Returns(true);
        return (provider, registry);
    }

    public static SmartPopClient Client(IAuthProviderRegistry registry, IUidlStore store, IPop3ConnectionFactory factory, TimeProvider? time = null, SmartPopOptions? options = null, ByteBudget? budget = null)
    {
        options ??= new SmartPopOptions();
        return new SmartPopClient(registry, store, Options.Create(options), factory, budget ?? new ByteBudget(options.MemoryBudgetBytes), time ?? new FakeTimeProvider(DateTimeOffset.Parse("2026-11-28T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture)), NullLoggerFactory.Instance);
    }
}
