using System.Text;
using System.Text.Json;
using FTGate.OAuth;
using FTGate.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FTGate.Cli.Tests;

/// <summary>
/// An administrator's whole workflow through the <c>ftgate</c> command against the real OAuth server and the real Dovecot:
/// provider add, authorize (the test plays the browser), account add, test, fetch, fetch again, status.
/// </summary>
public sealed class EndToEndTests(IntegrationServers servers)
{
    private const string User = "alice@example.test";
    private const string Password = "alice-password";

    [Fact]
    public async Task Workflow_ProviderAuthorizeAccountTestFetchStatus_CollectsMailAndNeverPrintsSecrets()
    {
        servers.Require();
        CancellationToken ct = TestContext.Current.CancellationToken;
        string dir = Infra.NewTempDirectory("ftg-cli");
        var cli = new CliRunner(Path.Combine(dir, "ftgate.json"));
        servers.Dovecot.ClearMailbox(User);
        for (int i = 1; i <= 3; i++)
        {
            servers.Dovecot.AddMessage(User, Encoding.ASCII.GetBytes($"From: bob@example.test\r\nTo: {User}\r\nSubject: CLI test {i}\r\nMessage-ID: <cli-{i}@example.test>\r\n\r\nBody {i}.\r\n"));
        }

        // A confidential client too, so that the secret's handling is checked: only the variable's name is stored.
        string secretVariable = "FTGATE_CLI_TEST_SECRET_" + Guid.NewGuid().ToString("N")[..8];
        Environment.SetEnvironmentVariable(secretVariable, OAuthServer.WebClientSecret);
        CliRun web = await cli.RunAsync("provider", "add", "Web", "--type", "oauth2", "--authority", servers.OAuth.Issuer.AbsoluteUri.TrimEnd('/'),
            "--client-id", OAuthServer.WebClientId, "--client-secret-env", secretVariable, "--user", User);
        Assert.True(web.ExitCode == 0, web.ToString());

        // provider add: the generic OAuth2 type, pointed at the local server's discovery document, as a public client.
        CliRun add = await cli.RunAsync("provider", "add", "Local", "--type", "oauth2",
            "--discovery", new Uri(servers.OAuth.Issuer, "/.well-known/openid-configuration").AbsoluteUri,
            "--client-id", OAuthServer.NativeClientId, "--user", User,
            "--scope", "openid", "--scope", "email", "--scope", "offline_access", "--scope", "mail");
        Assert.True(add.ExitCode == 0, add.ToString());
        Assert.Contains("Provider 'Local' added", add.Out, StringComparison.Ordinal);

        CliRun show = await cli.RunAsync("provider", "show", "Web");
        Assert.Equal(0, show.ExitCode);
        Assert.Contains($"ClientSecretEnvironmentVariable: {secretVariable} (set)", show.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(OAuthServer.WebClientSecret, File.ReadAllText(cli.ConfigPath), StringComparison.Ordinal);

        // authorize: the CLI prints the URL and listens on a loopback port; the test is the person at the browser.
        var output = new LineWriter();
        Task<CliRun> authorize = cli.RunAsync(["authorize", "Local", "--no-browser", "--timeout", "120"], "", output);
        string urlLine = await output.WaitForLineAsync(l => l.StartsWith("Open this URL to authorize: ", StringComparison.Ordinal)).WaitAsync(TimeSpan.FromSeconds(60), ct);
        var url = new Uri(urlLine["Open this URL to authorize: ".Length..]);
        Assert.Equal(servers.OAuth.AuthorizationEndpoint.GetLeftPart(UriPartial.Path), url.GetLeftPart(UriPartial.Path));
        using var browser = new HeadlessBrowser();
        Uri redirect = await browser.AuthorizeAsync(url, User, Password, deliverRedirect: true, cancellationToken: ct);
        Assert.Equal("127.0.0.1", redirect.Host);
        CliRun authorized = await authorize.WaitAsync(TimeSpan.FromSeconds(60), ct);
        Assert.True(authorized.ExitCode == 0, authorized.ToString());
        Assert.Contains($"Authorization granted for {User} (scopes: ", authorized.Out, StringComparison.Ordinal);
        Assert.Contains("You may close this window", browser.LastRedirectResponseBody, StringComparison.Ordinal);

        // account add: POP3S to the local Dovecot, trusting the test CA (full chain and host name validation against it; the
        // test CA publishes no CRL).
        CliRun account = await cli.RunAsync("account", "add", "alice", "--host", servers.Dovecot.Host, "--port", servers.Dovecot.Pop3sPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--security", "ssl", "--user", User, "--provider", "Local", "--ca-cert", servers.Dovecot.CaCertificatePath);
        Assert.True(account.ExitCode == 0, account.ToString());

        CliRun test = await cli.RunAsync("test", "alice");
        Assert.True(test.ExitCode == 0, test.ToString());
        Assert.DoesNotContain("✘", test.Out, StringComparison.Ordinal);
        Assert.Contains("✔", test.Out, StringComparison.Ordinal);

        string maildir = Path.Combine(dir, "Maildir");
        CliRun fetch = await cli.RunAsync("fetch", "alice", "--maildir", maildir);
        Assert.True(fetch.ExitCode == 0, fetch.ToString());
        Assert.Matches(@"^fetched 3 new message\(s\), skipped 0, deleted 0, \d+ bytes in \d+(\.\d+)? s$", fetch.Out.TrimEnd().Split('\n')[^1].TrimEnd('\r'));
        Assert.Equal(3, Directory.GetFiles(Path.Combine(maildir, "new")).Length);

        CliRun again = await cli.RunAsync("fetch", "alice", "--maildir", maildir, "--json");
        Assert.True(again.ExitCode == 0, again.ToString());
        using (JsonDocument result = JsonDocument.Parse(again.Out))
        {
            Assert.Equal(0, result.RootElement.GetProperty("delivered").GetInt32());
            Assert.True(result.RootElement.GetProperty("completed").GetBoolean());
        }

        Assert.Equal(3, Directory.GetFiles(Path.Combine(maildir, "new")).Length);

        CliRun status = await cli.RunAsync("status");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("Local (OAuth2, alice@example.test): authorized", status.Out, StringComparison.Ordinal);
        CliRun statusJson = await cli.RunAsync("status", "--json");
        using (JsonDocument json = JsonDocument.Parse(statusJson.Out))
        {
            JsonElement local = json.RootElement.GetProperty("providers").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "Local");
            Assert.Equal("Authorized", local.GetProperty("state").GetString());
        }

        // No secret ever reached the output: not the client secret, not the tokens the CLI stored.
        string accessToken = await ReadStoredAccessTokenAsync(dir, ct);
        Assert.DoesNotContain(OAuthServer.WebClientSecret, cli.AllOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(accessToken, cli.AllOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, cli.AllOutput, StringComparison.Ordinal);
        Environment.SetEnvironmentVariable(secretVariable, null);
    }

    [Fact]
    public async Task Authorize_DeviceCode_PrintsUrlAndCodeAndStoresTheGrant()
    {
        servers.Require();
        CancellationToken ct = TestContext.Current.CancellationToken;
        var cli = new CliRunner(Path.Combine(Infra.NewTempDirectory("ftg-dev"), "ftgate.json"));
        CliRun add = await cli.RunAsync("provider", "add", "Device", "--type", "oauth2", "--authority", servers.OAuth.Issuer.AbsoluteUri,
            "--client-id", OAuthServer.NativeClientId, "--user", User, "--scope", "openid", "--scope", "offline_access", "--scope", "mail");
        Assert.True(add.ExitCode == 0, add.ToString());

        var output = new LineWriter();
        Task<CliRun> authorize = cli.RunAsync(["authorize", "Device", "--device-code", "--timeout", "120"], "", output);
        string line = await output.WaitForLineAsync(l => l.StartsWith("To sign in, open ", StringComparison.Ordinal)).WaitAsync(TimeSpan.FromSeconds(60), ct);
        string[] words = line.Split(' ');
        using var browser = new HeadlessBrowser();
        await browser.ApproveDeviceCodeAsync(new Uri(words[4]), words[^1], User, Password, ct);
        CliRun done = await authorize.WaitAsync(TimeSpan.FromSeconds(90), ct);
        Assert.True(done.ExitCode == 0, done.ToString());
        Assert.Contains($"Authorization granted for {User} (scopes: ", done.Out, StringComparison.Ordinal);
    }

    /// <summary>Reads the token the CLI stored, through the SDK's public API on the same config file and token store.</summary>
    private static async Task<string> ReadStoredAccessTokenAsync(string dir, CancellationToken ct)
    {
        IConfiguration configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(dir, "ftgate.json"))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["FTGate:TokenStore:Directory"] = Path.Combine(dir, "ftgate.tokens") })
            .Build();
        var services = new ServiceCollection();
        services.AddFTGate(configuration.GetSection("FTGate"));
        await using ServiceProvider provider = services.BuildServiceProvider();
        AccessToken token = await provider.GetRequiredService<IAuthProviderRegistry>().Get("Local").GetAccessTokenAsync(User, ct);
        return token.Value;
    }
}
