using FTGate.OAuth.Tests.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Identity.Client;

namespace FTGate.OAuth.Tests.MicrosoftProvider;

public sealed class MicrosoftOptionsTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings, Action<IServiceCollection>? extra = null)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddFTGate(configuration.GetSection("FTGate"));
        extra?.Invoke(services);
        return services.BuildServiceProvider();
    }

    private static Dictionary<string, string?> Provider(params (string Key, string? Value)[] values)
    {
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["FTGate:Providers:Contoso:Type"] = "Microsoft",
            ["FTGate:Providers:Contoso:ClientId"] = FakeEntra.ClientId,
            ["FTGate:Providers:Contoso:TenantId"] = "contoso.com",
            ["FTGate:Providers:Contoso:UserName"] = "alice@contoso.com",
        };
        foreach ((string key, string? value) in values)
        {
            settings["FTGate:Providers:Contoso:" + key] = value;
        }

        return settings;
    }

    private static string ValidationMessage(Dictionary<string, string?> settings)
    {
        using ServiceProvider sp = Build(settings);
        Exception ex = Assert.ThrowsAny<Exception>(sp.ValidateFTGateConfiguration);
        return ex is AggregateException agg ? string.Join(" | ", agg.InnerExceptions.Select(e => e.Message)) : ex.Message;
    }

    [Theory]
    [InlineData("common")]
    [InlineData("organizations")]
    [InlineData("consumers")]
    public void ValidateFTGateConfiguration_AppOnlyWithMultiTenantAuthority_RejectedAtStart(string tenant)
    {
        string message = ValidationMessage(Provider(("Mode", "AppOnly"), ("TenantId", tenant), ("ClientSecret", "s3cret-value"), ("Mailbox", "shared@contoso.com")));

        Assert.Contains("Provider 'Contoso'", message, StringComparison.Ordinal);
        Assert.Contains($"TenantId '{tenant}' cannot be used with Mode AppOnly", message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateFTGateConfiguration_ClientIdIsEmailAddress_MessageSaysItMustBeTheGuid()
    {
        string message = ValidationMessage(Provider(("ClientId", "alice@contoso.com")));

        Assert.Contains("is an e-mail address", message, StringComparison.Ordinal);
        Assert.Contains("Application (client) ID", message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateFTGateConfiguration_TenantMissing_Required()
    {
        string message = ValidationMessage(Provider(("TenantId", null)));

        Assert.Contains("TenantId is required", message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateFTGateConfiguration_ConsumersInUsGovernmentCloud_Rejected()
    {
        string message = ValidationMessage(Provider(("TenantId", "consumers"), ("Cloud", "UsGovernment")));

        Assert.Contains("only in the Global cloud", message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateFTGateConfiguration_ValidDelegatedConfiguration_Passes()
    {
        using ServiceProvider sp = Build(Provider(("ClientSecret", "s3cret-value")));

        sp.ValidateFTGateConfiguration();

        Assert.IsType<MicrosoftAuthProvider>(sp.GetRequiredService<IAuthProviderRegistry>().Get("Contoso"));
    }

    [Theory]
    [InlineData(MicrosoftCloud.Global, "https://login.microsoftonline.com/contoso.com", "outlook.office365.com", "https://outlook.office.com/POP.AccessAsUser.All")]
    [InlineData(MicrosoftCloud.UsGovernment, "https://login.microsoftonline.us/contoso.com", "outlook.office365.us", "https://outlook.office365.us/POP.AccessAsUser.All")]
    [InlineData(MicrosoftCloud.China, "https://login.chinacloudapi.cn/contoso.com", "partner.outlook.cn", "https://partner.outlook.cn/POP.AccessAsUser.All")]
    public void Authority_NationalCloud_LoginAndPopHostOfThatCloud(MicrosoftCloud cloud, string authority, string popHost, string scope)
    {
        var options = new MicrosoftAuthOptions { ClientId = FakeEntra.ClientId, TenantId = "contoso.com", UserName = "alice@contoso.com", Cloud = cloud };
        var provider = new MicrosoftAuthProvider("Contoso", new StaticOptionsMonitor<MicrosoftAuthOptions>("Contoso", options), new InMemoryTokenStore(), TimeProvider.System);

        Assert.Equal(authority, provider.Authority);
        Assert.Equal(popHost, provider.PopHost);
        Assert.Equal([scope, "offline_access"], provider.Scopes);
    }

    [Fact]
    public async Task AddMicrosoft_HttpSeamRegisteredInContainer_ProviderUsesIt()
    {
        using var entra = new FakeEntra();
        var services = new ServiceCollection();
        services.AddSingleton<IHttpClientFactory>(new TestHttpClientFactory(entra));
        services.AddFTGate().AddMicrosoft("Contoso", o =>
        {
            o.ClientId = FakeEntra.ClientId;
            o.TenantId = FakeEntra.TenantGuid;
            o.Mode = MicrosoftAuthMode.AppOnly;
            o.ClientSecret = "s3cret-value";
            o.Mailbox = "shared@contoso.com";
            o.EnableInstanceDiscovery = false;
        });
        using ServiceProvider sp = services.BuildServiceProvider();
        sp.ValidateFTGateConfiguration();

        AccessToken token = await sp.GetRequiredService<IAuthProviderRegistry>().Get("Contoso").GetAccessTokenAsync("shared@contoso.com", TestContext.Current.CancellationToken);

        Assert.Equal("shared@contoso.com", token.UserName);
        Assert.Equal("client_credentials", Assert.Single(entra.Requests).GrantType);
    }
}
