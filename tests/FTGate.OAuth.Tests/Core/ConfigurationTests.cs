using FTGate.OAuth;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FTGate.OAuth.Tests.Core;

public sealed class ConfigurationTests
{
    private const string ClientId = "6731de76-14a6-49ae-97bc-6eba6914391e";

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    private static ServiceProvider Build(IConfiguration ftgate) =>
        new ServiceCollection().AddFTGate(ftgate).Services.BuildServiceProvider();

    private static string ValidationMessage(IConfiguration ftgate)
    {
        using ServiceProvider services = Build(ftgate);
        Exception ex = Assert.ThrowsAny<Exception>(services.ValidateFTGateConfiguration);
        return ex is AggregateException agg ? string.Join("\n", agg.InnerExceptions.Select(e => e.Message)) : ex.Message;
    }

    [Fact]
    public void Validate_MicrosoftWithoutTenant_NamesProviderAndField()
    {
        string message = ValidationMessage(Config(
            ("Providers:Company Email Account:Type", "Microsoft"),
            ("Providers:Company Email Account:ClientId", ClientId),
            ("Providers:Company Email Account:UserName", "user@contoso.onmicrosoft.com")));

        Assert.Contains("Provider 'Company Email Account': TenantId is required for Microsoft work/school accounts; use 'common' to allow any", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MicrosoftClientIdIsAnEmailAddress_SaysItMustBeTheGuid()
    {
        string message = ValidationMessage(Config(
            ("Providers:Mail:Type", "Microsoft"),
            ("Providers:Mail:ClientId", "user@contoso.com"),
            ("Providers:Mail:TenantId", "common"),
            ("Providers:Mail:UserName", "user@contoso.com")));

        Assert.Contains("Provider 'Mail': ClientId 'user@contoso.com' is an e-mail address", message, StringComparison.Ordinal);
        Assert.Contains("Application (client) ID", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MicrosoftAppOnlyWithCommonTenant_IsRejected()
    {
        string message = ValidationMessage(Config(
            ("Providers:App:Type", "Microsoft"),
            ("Providers:App:ClientId", ClientId),
            ("Providers:App:TenantId", "common"),
            ("Providers:App:Mode", "AppOnly"),
            ("Providers:App:ClientSecret", "s"),
            ("Providers:App:Mailbox", "box@contoso.com")));

        Assert.Contains("Provider 'App': TenantId 'common' cannot be used with Mode AppOnly", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_OAuth2WithoutEndpoints_NamesTheFields()
    {
        string message = ValidationMessage(Config(
            ("Providers:Other:Type", "OAuth2"),
            ("Providers:Other:ClientId", "client"),
            ("Providers:Other:UserName", "u@example.test")));

        Assert.Contains("Provider 'Other': Authority", message, StringComparison.Ordinal);
        Assert.Contains("TokenEndpoint", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_OAuth2PlainHttpOnPublicHost_IsRejected()
    {
        string message = ValidationMessage(Config(
            ("Providers:Other:Type", "OAuth2"),
            ("Providers:Other:ClientId", "client"),
            ("Providers:Other:UserName", "u@example.test"),
            ("Providers:Other:Authority", "http://login.example.com/")));

        Assert.Contains("Provider 'Other': Authority 'http://login.example.com/' uses plain http", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_GoogleWithAnotherScope_ExplainsTheOnlyScope()
    {
        string message = ValidationMessage(Config(
            ("Providers:Gmail:Type", "Google"),
            ("Providers:Gmail:ClientId", "123.apps.googleusercontent.com"),
            ("Providers:Gmail:UserName", "someone@gmail.com"),
            ("Providers:Gmail:Scopes:0", "https://www.googleapis.com/auth/gmail.modify")));

        Assert.Contains("Provider 'Gmail': Scopes contains 'https://www.googleapis.com/auth/gmail.modify', but Gmail POP accepts only 'https://mail.google.com/'", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SeveralBadProviders_ReportsEach()
    {
        string message = ValidationMessage(Config(
            ("Providers:A:Type", "Microsoft"),
            ("Providers:A:ClientId", ClientId),
            ("Providers:A:UserName", "a@contoso.com"),
            ("Providers:B:Type", "OAuth2"),
            ("Providers:B:UserName", "b@example.test"),
            ("Providers:B:TokenEndpoint", "https://idp.example.test/token")));

        Assert.Contains("Provider 'A': TenantId", message, StringComparison.Ordinal);
        Assert.Contains("Provider 'B': ClientId is required", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_GoodConfiguration_Passes()
    {
        using ServiceProvider services = Build(Config(
            ("Providers:Company Email Account:Type", "Microsoft"),
            ("Providers:Company Email Account:ClientId", ClientId),
            ("Providers:Company Email Account:TenantId", "contoso.onmicrosoft.com"),
            ("Providers:Company Email Account:UserName", "user@contoso.onmicrosoft.com")));

        services.ValidateFTGateConfiguration();
        MicrosoftAuthOptions options = services.GetRequiredService<IOptionsMonitor<MicrosoftAuthOptions>>().Get("Company Email Account");
        Assert.Equal("contoso.onmicrosoft.com", options.TenantId);
    }

    [Fact]
    public void AddFTGate_ProviderWithoutType_FailsAtStartNamingProviderAndField()
    {
        var ex = Assert.Throws<FTGateConfigurationException>(() => new ServiceCollection().AddFTGate(Config(("Providers:Mail:ClientId", ClientId))));
        Assert.Equal("Provider 'Mail': Type is required.", ex.Message);
        Assert.Contains("Microsoft, Google or OAuth2", ex.Remedy, StringComparison.Ordinal);
    }

    [Fact]
    public void AddFTGate_UnknownType_FailsAtStartNamingProviderAndField()
    {
        var ex = Assert.Throws<FTGateConfigurationException>(() => new ServiceCollection().AddFTGate(Config(("Providers:Mail:Type", "Yahoo"))));
        Assert.Equal("Provider 'Mail': Type 'Yahoo' is not a provider type.", ex.Message);
    }

    [Fact]
    public void AddFTGate_SameProviderTwice_Throws()
    {
        IFTGateBuilder builder = new ServiceCollection().AddFTGate();
        builder.AddOAuth2("x", _ => { });
        var ex = Assert.Throws<FTGateConfigurationException>(() => builder.AddOAuth2("x", _ => { }));
        Assert.Contains("Provider 'x' is registered twice", ex.Message, StringComparison.Ordinal);
    }
}
