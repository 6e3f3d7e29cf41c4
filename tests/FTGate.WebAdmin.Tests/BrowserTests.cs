using System.Text.RegularExpressions;
using FTGate.Tests.Infrastructure;
using Microsoft.Playwright;

namespace FTGate.WebAdmin.Tests;

/// <summary>
/// The whole administrator journey in a real headless Chromium: sign in to the admin, add an OAuth2 provider with the local
/// OAuth server's endpoints, Authorize Now through the server's own sign-in and consent pages, back to the confirmation;
/// and the failure path with a wrong client secret.
/// </summary>
public sealed partial class BrowserTests(IntegrationServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AdminJourney_AuthorizeNowInChromium_GrantsAndAWrongSecretShowsTheRemedy()
    {
        Infra.Require(HeadlessChromium.UnavailableReason());
        servers.Require();
        await using WebAdminServer server = await WebAdminServer.StartAsync(Ct);
        await using HeadlessChromium chromium = await HeadlessChromium.LaunchAsync();
        IPage page = chromium.Context.Pages.Count > 0 ? chromium.Context.Pages[0] : await chromium.Context.NewPageAsync();

        // Every page needs the admin session: the first visit lands on the sign-in page.
        await page.GotoAsync(new Uri(server.BaseUri, "providers").AbsoluteUri);
        await Assertions.Expect(page).ToHaveURLAsync(LoginUrl());
        await page.FillAsync("#password", WebAdminServer.AdminPassword);
        await page.ClickAsync("#sign-in");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Configuration › Open Authentication");

        // Add a provider of type OAuth2 and fill in its property page.
        await AddOAuth2ProviderAsync(page, servers.OAuth, "Local OAuth", OAuthServer.WebClientSecret);
        await Assertions.Expect(page.Locator("#saved")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#redirect-uri")).ToHaveTextAsync(new Uri(server.BaseUri, "oauth/callback").AbsoluteUri);
        await Assertions.Expect(page.Locator("#f-ClientSecret")).ToHaveValueAsync(""); // never rendered back
        await Screenshots.SaveAsync(page, "01-provider-properties");

        // Authorize Now: the OAuth server's own sign-in and consent pages, then back to the confirmation.
        await page.ClickAsync("#authorize-now");
        await SignInAndConsentAsync(page, servers.OAuth, "02-oauth-sign-in", "03-oauth-consent");
        await Assertions.Expect(page).ToHaveURLAsync(CallbackUrl());
        await Assertions.Expect(page.Locator("#granted-message")).ToHaveTextAsync("Authorization has been granted for alice@example.test");
        await Screenshots.SaveAsync(page, "04-authorization-granted");

        await page.ClickAsync("a[href='/providers']");
        await Assertions.Expect(page.Locator("tr[data-provider='Local OAuth'] td.status")).ToContainTextAsync("authorized");
        await Screenshots.SaveAsync(page, "05-providers-authorized");

        // A SmartPop account that uses the provider: Test (every step passes), then Fetch now (the messages arrive).
        DovecotServer dovecot = servers.Dovecot;
        dovecot.ClearMailbox(OAuthProviderSetup.User);
        dovecot.AddMessage(OAuthProviderSetup.User, Message("First message"));
        dovecot.AddMessage(OAuthProviderSetup.User, Message("Second message"));

        await page.ClickAsync("#nav-accounts");
        await page.FillAsync("#new-account-name", "Alice mailbox");
        await page.ClickAsync("#add-account");
        await page.FillAsync("#f-Host", dovecot.Host);
        await page.FillAsync("#f-Port", dovecot.Pop3sPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await page.SelectOptionAsync("#f-Security", "SslOnConnect");
        await page.FillAsync("#f-UserName", OAuthProviderSetup.User);
        await page.ClickAsync("#tab-authentication");
        await Assertions.Expect(page.Locator("#f-AuthType option")).ToHaveTextAsync(["Password", "OAuth2: Local OAuth"]);
        await page.SelectOptionAsync("#f-AuthType", "Local OAuth");
        await Screenshots.SaveAsync(page, "07-account-authentication-tab");
        await page.ClickAsync("#tab-advanced");
        await page.FillAsync("#f-TrustedRootCertificateFile", dovecot.CaCertificatePath); // the test CA, full chain validation
        await page.UncheckAsync("#f-CheckCertificateRevocation"); // the test CA publishes no revocation list
        await page.ClickAsync("#save");
        await Assertions.Expect(page.Locator("#saved")).ToBeVisibleAsync();

        await page.ClickAsync("#test");
        await Assertions.Expect(page.Locator("#test-summary")).ToContainTextAsync("Test passed");
        await Assertions.Expect(page.Locator("#test-steps li[data-status='Failed']")).ToHaveCountAsync(0);
        foreach (string step in new[] { "Connect", "TlsHandshake", "Capabilities", "TokenAcquisition", "Login", "Stat" })
        {
            await Assertions.Expect(page.Locator($"#test-steps li[data-step='{step}']")).ToHaveAttributeAsync("data-status", "Passed");
            await Assertions.Expect(page.Locator($"#test-steps li[data-step='{step}'] .mark")).ToHaveTextAsync("✓");
        }

        await Screenshots.SaveAsync(page, "08-account-test-report");

        await page.ClickAsync("#fetch-now");
        await Assertions.Expect(page.Locator("#fetch-result")).ToContainTextAsync("Fetch completed");
        await Assertions.Expect(page.Locator("#fetch-listed")).ToHaveTextAsync("2");
        await Assertions.Expect(page.Locator("#fetch-delivered")).ToHaveTextAsync("2");
        await Screenshots.SaveAsync(page, "09-account-fetch-now");
        string maildir = await page.Locator("#fetch-maildir").InnerTextAsync();
        Assert.StartsWith(Path.Combine(server.DataDirectory, "maildir"), maildir, StringComparison.Ordinal);
        string[] delivered = Directory.GetFiles(Path.Combine(maildir, "new"));
        Assert.Equal(2, delivered.Length);
        Assert.Contains(delivered, f => File.ReadAllText(f).Contains("Subject: First message", StringComparison.Ordinal));

        // Failure path: a wrong client secret. Sign-in and consent work, the code redemption fails, and the page says why.
        await page.ClickAsync("#nav-providers");
        await AddOAuth2ProviderAsync(page, servers.OAuth, "Wrong Secret", "not-the-secret");
        await page.ClickAsync("#authorize-now");
        await SignInAndConsentAsync(page, servers.OAuth, null, null);
        await Assertions.Expect(page).ToHaveURLAsync(CallbackUrl());
        await Assertions.Expect(page.Locator("#authorization-failed")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#error-code")).ToHaveTextAsync("invalid_client");
        await Assertions.Expect(page.Locator("#error-remedy")).ToContainTextAsync("ClientSecret");
        await Screenshots.SaveAsync(page, "06-wrong-secret-error");

        await page.ClickAsync("a[href='/providers']");
        await Assertions.Expect(page.Locator("tr[data-provider='Wrong Secret'] td.status")).ToContainTextAsync("not authorized");

        // An endpoint edit: the stored client secret is bound to the old token endpoint, so the save is refused until the
        // secret is entered again, and the provider stays authorized with its old endpoint.
        await page.ClickAsync("a:text-is('Local OAuth')");
        await page.FillAsync("#f-TokenEndpoint", "http://127.0.0.1:9/elsewhere/token");
        await page.ClickAsync("#save");
        await Assertions.Expect(page.Locator("#validation")).ToContainTextAsync("TokenEndpoint (");
        await Assertions.Expect(page.Locator("#validation")).ToContainTextAsync("Enter the ClientSecret again");
        await Screenshots.SaveAsync(page, "10-endpoint-edit-needs-the-secret");
        await page.ClickAsync("#nav-providers");
        await Assertions.Expect(page.Locator("tr[data-provider='Local OAuth'] td.status")).ToContainTextAsync("authorized");

        // Sign out (a form with an antiforgery token): back at the sign-in page, and the pages need a new sign-in.
        await page.ClickAsync("#sign-out");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/login$"));
        await page.GotoAsync(new Uri(server.BaseUri, "providers").AbsoluteUri);
        await Assertions.Expect(page).ToHaveURLAsync(LoginUrl());
        await Screenshots.SaveAsync(page, "11-signed-out");
    }

    private static byte[] Message(string subject) => System.Text.Encoding.ASCII.GetBytes(
        $"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: {subject}\r\nMessage-ID: <{Guid.NewGuid():N}@example.test>\r\n\r\n{subject} body.\r\n");

    internal static async Task AddOAuth2ProviderAsync(IPage page, OAuthServer oauth, string name, string clientSecret)
    {
        await page.FillAsync("#new-name", name);
        await page.SelectOptionAsync("#new-type", "OAuth2");
        await page.ClickAsync("#add-provider");
        await Assertions.Expect(page.Locator("h1")).ToContainTextAsync(name);

        await page.FillAsync("#f-AuthorizationEndpoint", oauth.AuthorizationEndpoint.AbsoluteUri);
        await page.FillAsync("#f-TokenEndpoint", oauth.TokenEndpoint.AbsoluteUri);
        await page.FillAsync("#f-ClientId", OAuthServer.WebClientId);
        await page.FillAsync("#f-ClientSecret", clientSecret);
        await page.SelectOptionAsync("#f-ClientAuthentication", "ClientSecretBasic");
        await page.FillAsync("#f-UserName", OAuthProviderSetup.User);
        await page.FillAsync("#f-Scopes", OAuthProviderSetup.Scopes);
        await page.ClickAsync("#save");
    }

    /// <summary>On the OAuth server's pages: sign in (unless its session cookie already signed us in), then allow.</summary>
    internal static async Task SignInAndConsentAsync(IPage page, OAuthServer oauth, string? signInShot, string? consentShot)
    {
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("^" + Regex.Escape(oauth.Issuer.GetLeftPart(UriPartial.Authority)) + "/interaction/"));
        ILocator password = page.Locator("#password");
        ILocator allow = page.Locator("#allow");
        await password.Or(allow).First.WaitForAsync();
        if (await password.IsVisibleAsync())
        {
            await Assertions.Expect(page.Locator("#login")).ToHaveValueAsync(OAuthProviderSetup.User); // login_hint
            await password.FillAsync(OAuthProviderSetup.Password);
            if (signInShot is not null)
            {
                await Screenshots.SaveAsync(page, signInShot);
            }

            await page.ClickAsync("#submit");
        }

        await allow.WaitForAsync();
        if (consentShot is not null)
        {
            await Screenshots.SaveAsync(page, consentShot);
        }

        await allow.ClickAsync();
    }

    private static Regex LoginUrl() => LoginRegex();

    private static Regex CallbackUrl() => CallbackRegex();

    [GeneratedRegex("/login\\?ReturnUrl=%2Fproviders$")]
    private static partial Regex LoginRegex();

    [GeneratedRegex("/oauth/callback\\?")]
    private static partial Regex CallbackRegex();
}
