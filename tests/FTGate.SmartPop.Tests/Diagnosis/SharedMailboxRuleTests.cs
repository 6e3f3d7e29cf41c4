using FTGate.OAuth;
using FTGate.SmartPop.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FTGate.SmartPop.Tests.Diagnosis;

/// <summary>One obvious way for shared mailboxes: which user the token is asked for, per provider mode, and the Mailbox option.</summary>
public sealed class SharedMailboxRuleTests
{
    [Fact]
    public void MicrosoftDelegatedWithMailbox_FailsValidation_NamingTheAccountWayAndFullAccess()
    {
        var services = new ServiceCollection();
        services.AddFTGate().UseInMemoryTokenStore().AddMicrosoft("M365", o =>
        {
            o.ClientId = "11111111-2222-3333-4444-555555555555";
            o.TenantId = "contoso.onmicrosoft.com";
            o.UserName = "alice@contoso.com";
            o.Mailbox = "sales@contoso.com";
        });
        using ServiceProvider sp = services.BuildServiceProvider();

        Exception ex = Assert.ThrowsAny<Exception>(sp.ValidateFTGateConfiguration);

        string message = ex is AggregateException all ? string.Join(" ", all.InnerExceptions.Select(e => e.Message)) : ex.Message;
        Assert.Contains("Mailbox 'sales@contoso.com' is only for Mode AppOnly", message, StringComparison.Ordinal);
        Assert.Contains("set the SmartPop account's UserName to 'sales@contoso.com'", message, StringComparison.Ordinal);
        Assert.Contains("Add-MailboxPermission -Identity sales@contoso.com -User alice@contoso.com -AccessRights FullAccess", message, StringComparison.Ordinal);
    }

    [Fact]
    public void TokenUser_DelegatedProvidersUseTheirUser_AppOnlyProvidersTheMailbox()
    {
        using var host = new ProviderHost(b => b
            .AddMicrosoft("Delegated", o =>
            {
                o.ClientId = "11111111-2222-3333-4444-555555555555";
                o.TenantId = "contoso.onmicrosoft.com";
                o.UserName = "alice@contoso.com";
            })
            .AddMicrosoft("App", o =>
            {
                o.ClientId = "11111111-2222-3333-4444-555555555555";
                o.TenantId = "contoso.onmicrosoft.com";
                o.Mode = MicrosoftAuthMode.AppOnly;
                o.ClientSecret = "app-secret-value";
                o.Mailbox = "default@contoso.com";
            })
            .AddGoogle("Workspace", o =>
            {
                o.UserName = "default@workspace.example";
                o.ServiceAccountKeyJson = ServiceAccountKey();
            }));
        SmartPopAccount sales = new() { Name = "sales", Host = "outlook.office365.com", UserName = "sales@contoso.com", AuthProvider = "Delegated" };

        Assert.Equal("alice@contoso.com", MailboxTokenRule.TokenUser(host.Registry.Get("Delegated"), sales));
        Assert.True(MailboxTokenRule.IsOtherMailbox(host.Registry.Get("Delegated"), sales));
        Assert.Equal("sales@contoso.com", MailboxTokenRule.TokenUser(host.Registry.Get("App"), sales));
        Assert.Equal("sales@contoso.com", MailboxTokenRule.TokenUser(host.Registry.Get("Workspace"), sales));
        Assert.False(MailboxTokenRule.IsOtherMailbox(host.Registry.Get("App"), sales));
    }

    private static string ServiceAccountKey()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        return System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["type"] = "service_account",
            ["project_id"] = "ftgate-test",
            ["private_key_id"] = "abc123",
            ["private_key"] = rsa.ExportPkcs8PrivateKeyPem(),
            ["client_email"] = "pop-reader@ftgate-test.iam.gserviceaccount.com",
            ["client_id"] = "112233445566778899",
            ["token_uri"] = "https://oauth2.googleapis.com/token",
        });
    }
}
