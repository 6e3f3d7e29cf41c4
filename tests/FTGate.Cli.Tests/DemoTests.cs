using FTGate.Tests.Infrastructure;

namespace FTGate.Cli.Tests;

/// <summary><c>ftgate demo</c>: the newcomer's command, with in-process servers only (no Dovecot, no Node).</summary>
public sealed class DemoTests
{
    [Fact]
    public async Task Demo_RunsTheWholeWorkflow_AndPrintsTheFetchedCount()
    {
        string dir = Infra.NewTempDirectory("ftg-demo");
        string maildir = Path.Combine(dir, "demo-maildir");
        var cli = new CliRunner(Path.Combine(dir, "unused.json"));

        CliRun run = await cli.RunAsync("demo", "--maildir", maildir);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Open this URL to authorize: ", run.Out, StringComparison.Ordinal);
        Assert.Contains("Authorization granted for demo@example.test", run.Out, StringComparison.Ordinal);
        Assert.Contains("All steps passed", run.Out, StringComparison.Ordinal);
        Assert.Contains("Demo finished: fetched 3 message(s)", run.Out, StringComparison.Ordinal);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(maildir, "new")).Length);
        Assert.False(File.Exists(cli.ConfigPath));
        Assert.Empty(run.Error);
    }
}
