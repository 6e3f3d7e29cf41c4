using FTGate.Tests.Infrastructure;

namespace FTGate.Cli.Tests;

/// <summary>What the CLI says: one error per line with the flag to use, commands instead of buttons, what a run did.</summary>
public sealed class WordsTests
{
    private readonly CliRunner _cli = new(Path.Combine(Infra.NewTempDirectory("ftg-words"), "ftgate.json"));

    [Fact]
    public async Task ProviderAdd_SeveralInvalidFields_OneErrorLinePerFieldWithItsFlag()
    {
        CliRun run = await _cli.RunAsync("provider", "add", "Gmail", "--type", "google", "--client-id", "x", "--user", "notanemail");

        Assert.True(run.ExitCode == 2, run.ToString());
        string[] errors = run.Error.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).ToArray();
        Assert.Contains(errors, e => e.Contains("ClientId 'x'", StringComparison.Ordinal) && e.EndsWith("(flag: --client-id)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("ClientSecret is required", StringComparison.Ordinal) && e.EndsWith("(flag: --client-secret-env VARIABLE or --client-secret-prompt)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("UserName 'notanemail'", StringComparison.Ordinal) && e.EndsWith("(flag: --user)", StringComparison.Ordinal));
        Assert.Contains("fix: Run the command again with the flag named above; nothing was saved.", run.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(_cli.ConfigPath));
    }

    [Fact]
    public async Task Fetch_ProviderNotAuthorized_NamesTheCommandToRun()
    {
        Assert.Equal(0, (await _cli.RunAsync("provider", "add", "My Corp", "--type", "oauth2", "--client-id", "c", "--user", "u@example.test",
            "--authorization-endpoint", "http://127.0.0.1:9/auth", "--token-endpoint", "http://127.0.0.1:9/token")).ExitCode);
        Assert.Equal(0, (await _cli.RunAsync("account", "add", "a", "--host", "127.0.0.1", "--port", "9", "--user", "u@example.test", "--provider", "My Corp")).ExitCode);

        CliRun fetch = await _cli.RunAsync("fetch", "a", "--maildir", Path.Combine(Path.GetDirectoryName(_cli.ConfigPath)!, "md"));
        CliRun status = await _cli.RunAsync("status");

        Assert.True(fetch.ExitCode == 3, fetch.ToString());
        Assert.Contains("fix: Run ftgate authorize \"My Corp\"", fetch.Error, StringComparison.Ordinal);
        Assert.Contains("fix: Run ftgate authorize \"My Corp\"", status.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("Authorize Now", fetch.Error + status.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_RunTwiceIntoOneMaildir_SaysWhatThisRunDid()
    {
        string maildir = Path.Combine(Infra.NewTempDirectory("ftg-demo2"), "md");

        CliRun first = await _cli.RunAsync("demo", "--maildir", maildir);
        CliRun second = await _cli.RunAsync("demo", "--maildir", maildir);

        Assert.True(first.ExitCode == 0 && second.ExitCode == 0, first + "\n" + second);
        Assert.Contains("in this run; it holds 3 message(s).", first.Out, StringComparison.Ordinal);

        // The demo's account trusts the test server through --ca-cert: "ftgate test" says so, not "the system's roots".
        Assert.Contains("demo-pop3-certificate.pem (TrustedRootCertificateFile, the CLI's --ca-cert), not the system's roots.", first.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("Trusted by the system's roots", first.Out, StringComparison.Ordinal);
        Assert.Contains("in this run; 0 of them are new to this Maildir (an earlier demo run delivered the same 3 messages", second.Out, StringComparison.Ordinal);
        Assert.Contains("it holds 3 message(s).", second.Out, StringComparison.Ordinal);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(maildir, "new")).Length);
    }
}
