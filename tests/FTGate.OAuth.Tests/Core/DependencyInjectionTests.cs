using FTGate.OAuth;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Moq;

namespace FTGate.OAuth.Tests.Core;

public sealed class DependencyInjectionTests
{
    [Fact]
    public void AddFTGate_Defaults_RegistersCoreServices()
    {
        using ServiceProvider services = new ServiceCollection().AddFTGate().Services.BuildServiceProvider();

        Assert.IsType<InMemoryTokenStore>(services.GetRequiredService<ITokenStore>());
        Assert.Same(TimeProvider.System, services.GetRequiredService<TimeProvider>());
        Assert.Empty(services.GetRequiredService<IAuthProviderRegistry>().Names);
    }

    [Fact]
    public void AddFTGate_CalledTwice_IsIdempotent()
    {
        var collection = new ServiceCollection();
        collection.AddFTGate();
        int count = collection.Count;
        collection.AddFTGate();

        Assert.Equal(count, collection.Count);
    }

    [Fact]
    public void AddFTGate_HostRegisteredTimeAndStore_AreKept()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var store = Mock.Of<ITokenStore>();
        var collection = new ServiceCollection();
        collection.AddSingleton<TimeProvider>(time);
        collection.AddSingleton(store);
        using ServiceProvider services = collection.AddFTGate().Services.BuildServiceProvider();

        Assert.Same(time, services.GetRequiredService<TimeProvider>());
        Assert.Same(store, services.GetRequiredService<ITokenStore>());
    }

    [Fact]
    public void UseFileTokenStore_ReplacesTheDefaultStore()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ftgate-di", Guid.NewGuid().ToString("N"));
        using ServiceProvider services = new ServiceCollection().AddFTGate().UseFileTokenStore(dir).Services.BuildServiceProvider();

        var store = Assert.IsType<FileTokenStore>(services.GetRequiredService<ITokenStore>());
        Assert.Equal(Path.GetFullPath(dir), store.Directory);
    }

    [Fact]
    public void AddFTGate_TokenStoreDirectoryInConfiguration_UsesFileTokenStore()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ftgate-di", Guid.NewGuid().ToString("N"));
        IConfiguration config = new ConfigurationBuilder()
            .AddInMemoryCollection([new("TokenStore:Directory", dir)])
            .Build();
        using ServiceProvider services = new ServiceCollection().AddFTGate(config).Services.BuildServiceProvider();

        Assert.Equal(Path.GetFullPath(dir), Assert.IsType<FileTokenStore>(services.GetRequiredService<ITokenStore>()).Directory);
    }

    [Fact]
    public void UseTokenStore_HostStore_IsResolved()
    {
        var collection = new ServiceCollection();
        using ServiceProvider services = collection.AddFTGate().UseTokenStore<CustomStore>().Services.BuildServiceProvider();

        Assert.IsType<CustomStore>(services.GetRequiredService<ITokenStore>());
    }

    [Fact]
    public void Registry_ProvidersFromConfiguration_ResolveByNameWithTheirKind()
    {
        IConfiguration config = new ConfigurationBuilder().AddInMemoryCollection(
        [
            new("Providers:Company Email Account:Type", "Microsoft"),
            new("Providers:Company Email Account:ClientId", "6731de76-14a6-49ae-97bc-6eba6914391e"),
            new("Providers:Company Email Account:TenantId", "common"),
            new("Providers:Company Email Account:UserName", "user@contoso.com"),
            new("Providers:Gmail:Type", "google"),
            new("Providers:Gmail:ClientId", "1.apps.googleusercontent.com"),
            new("Providers:Gmail:ClientSecret", "GOCSPX-test"),
            new("Providers:Gmail:UserName", "someone@gmail.com"),
            new("Providers:Local:Type", "OAuth2"),
            new("Providers:Local:ClientId", "c"),
            new("Providers:Local:UserName", "alice@example.test"),
            new("Providers:Local:TokenEndpoint", "http://127.0.0.1:9/token"),
        ]).Build();
        using ServiceProvider services = new ServiceCollection().AddFTGate(config).Services.BuildServiceProvider();
        IAuthProviderRegistry registry = services.GetRequiredService<IAuthProviderRegistry>();

        Assert.Equal(["Company Email Account", "Gmail", "Local"], registry.Names);
        IAuthProvider microsoft = registry.Get("Company Email Account");
        Assert.Equal(AuthProviderKind.Microsoft, microsoft.Kind);
        Assert.Equal("user@contoso.com", microsoft.UserName);
        Assert.Same(microsoft, registry.Get("Company Email Account"));
        Assert.Equal(AuthProviderKind.Google, registry.Get("Gmail").Kind);
        Assert.Equal(AuthProviderKind.OAuth2, registry.Get("Local").Kind);
    }

    [Fact]
    public void Registry_UnknownName_ListsTheKnownOnes()
    {
        IFTGateBuilder builder = new ServiceCollection().AddFTGate();
        builder.AddOAuth2("Local", o => { o.ClientId = "c"; o.TokenEndpoint = "http://127.0.0.1:9/token"; o.UserName = "a@b.c"; });
        builder.Services.AddSingleton(new AuthProviderRegistration("Custom", AuthProviderKind.OAuth2, _ => Mock.Of<IAuthProvider>()));
        using ServiceProvider services = builder.Services.BuildServiceProvider();
        IAuthProviderRegistry registry = services.GetRequiredService<IAuthProviderRegistry>();

        var ex = Assert.Throws<UnknownAuthProviderException>(() => registry.Get("local"));
        Assert.Equal("No authentication provider named 'local' is configured. Known providers: 'Local', 'Custom'.", ex.Message);
        Assert.Equal(FTGateErrorCodes.ProviderUnknown, ex.ErrorCode);
        Assert.False(registry.TryGet("nope", out _));
        Assert.True(registry.TryGet("Custom", out IAuthProvider? custom));
        Assert.Same(registry.Get("Custom"), custom);
    }

    [Fact]
    public void Registry_NoProviders_SaysHowToAddOne()
    {
        using ServiceProvider services = new ServiceCollection().AddFTGate().Services.BuildServiceProvider();
        var ex = Assert.Throws<UnknownAuthProviderException>(() => services.GetRequiredService<IAuthProviderRegistry>().Get("x"));
        Assert.Contains("none are configured", ex.Message, StringComparison.Ordinal);
        Assert.Contains("FTGate:Providers", ex.Remedy, StringComparison.Ordinal);
    }

    private sealed class CustomStore : ITokenStore
    {
        private readonly InMemoryTokenStore _inner = new();

        public Task<TokenStoreEntry?> GetAsync(string key, CancellationToken cancellationToken = default) => _inner.GetAsync(key, cancellationToken);

        public Task<string> SetAsync(string key, ReadOnlyMemory<byte> value, string? expectedVersion, CancellationToken cancellationToken = default) =>
            _inner.SetAsync(key, value, expectedVersion, cancellationToken);

        public Task<bool> RemoveAsync(string key, string? expectedVersion = null, CancellationToken cancellationToken = default) =>
            _inner.RemoveAsync(key, expectedVersion, cancellationToken);
    }
}
