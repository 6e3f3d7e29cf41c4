using FTGate.Tests.Infrastructure;

namespace FTGate.Cli.Tests;

/// <summary>Bad input: the right exit code, and a short message that says what to fix (no stack trace).</summary>
public sealed class BadInputTests
{
    private readonly CliRunner _cli = new(Path.Combine(Infra.NewTempDirectory("ftg-bad"), "ftgate.json"));

    [Fact]
    public async Task Authorize_UnknownProvider_Exit2NamingTheKnownOnes()
    {
        await AddProviderAsync("Known", "http://127.0.0.1:9/");
        CliRun run = await _cli.RunAsync("authorize", "Unknown");
        AssertShortError(run, 2, "No provider named 'Unknown' (known providers: 'Known')");
    }

    [Fact]
    public async Task AccountAdd_UnknownProvider_Exit2()
    {
        await AddProviderAsync("Known", "http://127.0.0.1:9/");
        CliRun run = await _cli.RunAsync("account", "add", "a", "--host", "pop.example.test", "--user", "u@example.test", "--provider", "Nope");
        AssertShortError(run, 2, "No provider named 'Nope'");
    }

    [Fact]
    public async Task ProviderAdd_MissingRequiredFlag_Exit2NamingTheFlag()
    {
        CliRun run = await _cli.RunAsync("provider", "add", "x", "--type", "oauth2", "--user", "u@example.test");
        AssertShortError(run, 2, "--client-id");
        Assert.False(File.Exists(_cli.ConfigPath));
    }

    [Fact]
    public async Task AccountAdd_NeitherProviderNorPassword_Exit2()
    {
        CliRun run = await _cli.RunAsync("account", "add", "a", "--host", "pop.example.test", "--user", "u@example.test");
        AssertShortError(run, 2, "--provider");
    }

    [Fact]
    public async Task ProviderAdd_MalformedAuthority_Exit2NamingTheFieldAndNothingSaved()
    {
        CliRun run = await _cli.RunAsync("provider", "add", "x", "--type", "oauth2", "--client-id", "c", "--user", "u@example.test", "--authority", "not a url");
        AssertShortError(run, 2, "Authority 'not a url' is not an absolute http(s) URL");
        Assert.False(File.Exists(_cli.ConfigPath));
    }

    [Fact]
    public async Task ProviderAdd_MalformedDiscoveryUrl_Exit2()
    {
        CliRun run = await _cli.RunAsync("provider", "add", "x", "--type", "oauth2", "--client-id", "c", "--user", "u@example.test", "--discovery", "https://login.example.test/");
        AssertShortError(run, 2, "--discovery");
    }

    [Fact]
    public async Task ProviderAdd_MicrosoftClientIdNotAGuid_Exit2NamingClientId()
    {
        CliRun run = await _cli.RunAsync("provider", "add", "m", "--type", "microsoft", "--client-id", "user@contoso.com", "--tenant", "common", "--user", "user@contoso.com");
        AssertShortError(run, 2, "ClientId 'user@contoso.com' is an e-mail address");
    }

    [Fact]
    public async Task ProviderAdd_TypeNotInList_Exit2()
    {
        CliRun run = await _cli.RunAsync("provider", "add", "x", "--type", "yahoo", "--client-id", "c", "--user", "u");
        AssertShortError(run, 2, "yahoo");
    }

    [Fact]
    public async Task Authorize_UnreachableAuthorizationServer_Exit4()
    {
        await AddProviderAsync("Down", "http://127.0.0.1:9/");
        CliRun run = await _cli.RunAsync("authorize", "Down", "--no-browser", "--timeout", "30");
        AssertShortError(run, 4, "Down");
    }

    [Fact]
    public async Task Test_UnreachablePop3Host_Exit4()
    {
        Environment.SetEnvironmentVariable("FTGATE_CLI_BAD_PASSWORD", "x");
        CliRun add = await _cli.RunAsync("account", "add", "down", "--host", "127.0.0.1", "--port", "9", "--user", "u", "--password-env", "FTGATE_CLI_BAD_PASSWORD");
        Assert.True(add.ExitCode == 0, add.ToString());
        CliRun run = await _cli.RunAsync("test", "down");
        Assert.True(run.ExitCode == 4, run.ToString());
        Assert.Contains("✘", run.Out, StringComparison.Ordinal);
        Assert.Contains("fix:", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_UnknownAccount_Exit2()
    {
        await AddProviderAsync("Known", "http://127.0.0.1:9/");
        CliRun run = await _cli.RunAsync("test", "nobody");
        AssertShortError(run, 2, "No account named 'nobody'");
    }

    [Fact]
    public async Task Status_NoConfigFile_Exit2SayingHowToStart()
    {
        CliRun run = await _cli.RunAsync("status");
        AssertShortError(run, 2, "does not exist");
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("provider", "add", "--help")]
    [InlineData("provider", "list", "--help")]
    [InlineData("provider", "show", "--help")]
    [InlineData("provider", "remove", "--help")]
    [InlineData("authorize", "--help")]
    [InlineData("account", "add", "--help")]
    [InlineData("account", "list", "--help")]
    [InlineData("account", "show", "--help")]
    [InlineData("account", "remove", "--help")]
    [InlineData("test", "--help")]
    [InlineData("fetch", "--help")]
    [InlineData("status", "--help")]
    [InlineData("demo", "--help")]
    public async Task EveryCommand_HasHelp(params string[] args)
    {
        CliRun run = await _cli.RunAsync(args);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Usage:", run.Out, StringComparison.Ordinal);
        Assert.Contains("--config", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigOption_AcceptedBeforeTheCommand()
    {
        string path = Path.Combine(Infra.NewTempDirectory("ftg-cfg"), "other.json");
        var console = new CliConsole(new LineWriter(), new LineWriter(), new StringReader(""), isInteractive: false);
        int exit = await FTGateCli.RunAsync(["--config", path, "provider", "add", "p", "--type", "oauth2", "--client-id", "c", "--user", "u", "--authority", "http://127.0.0.1:9/"], console, TestContext.Current.CancellationToken);
        Assert.Equal(0, exit);
        Assert.True(File.Exists(path));
    }

    private async Task AddProviderAsync(string name, string authority)
    {
        CliRun run = await _cli.RunAsync("provider", "add", name, "--type", "oauth2", "--client-id", "c", "--user", "u@example.test", "--authority", authority);
        Assert.True(run.ExitCode == 0, run.ToString());
    }

    private static void AssertShortError(CliRun run, int exitCode, string expected)
    {
        Assert.True(run.ExitCode == exitCode, run.ToString());
        string[] lines = run.Error.TrimEnd().Split('\n');
        Assert.True(lines.Length <= 2, "Expected at most two lines:\n" + run.Error);
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
    }
}
