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
    }

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
