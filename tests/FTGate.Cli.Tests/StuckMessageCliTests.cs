using System.Globalization;
using FTGate.Testing;
using FTGate.Tests.Infrastructure;

namespace FTGate.Cli.Tests;

/// <summary>
/// <c>ftgate test</c> names a message that <c>ftgate fetch</c> could not collect in three runs in a row (the server refuses its
/// RETR): the STAT line is a warning with the message's number, UIDL, the server's words and a <c>fix:</c> line, and the exit
/// code stays 0 (the connection works). <c>ftgate status</c> names it too.
/// </summary>
public sealed class StuckMessageCliTests
{
    private const string Refusal = "-ERR [SYS/PERM] Message 2 is corrupted on disk";

    [Fact]
    public async Task Test_AfterThreeFetchesRefusedTheSameRetr_PrintsTheStuckMessageWithTheServersWordsAndAFix_Exit0()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestPop3Server pop3 = await TestPop3Server.StartAsync(cancellationToken: ct);
        TestMailbox mailbox = pop3.AddUser("carol@example.test", "carol-password");
        mailbox.Add("Subject: one\r\n\r\n1\r\n");
        TestMessage bad = mailbox.Add("Subject: two\r\n\r\n2\r\n");
        pop3.Faults.RefuseRetr(bad.Uid, Refusal);
        string dir = Infra.NewTempDirectory("ftg-cli-stuck");
        var cli = new CliRunner(Path.Combine(dir, "ftgate.json"));
        string variable = "FTGATE_CLI_STUCK_" + Guid.NewGuid().ToString("N")[..8];
        Environment.SetEnvironmentVariable(variable, "carol-password");
        CliRun add = await cli.RunAsync("account", "add", "carol", "--host", pop3.Host, "--port", pop3.Port.ToString(CultureInfo.InvariantCulture),
            "--security", "none", "--allow-insecure-auth", "--user", "carol@example.test", "--password-env", variable);
        Assert.True(add.ExitCode == 0, add.ToString());
        string maildir = Path.Combine(dir, "Maildir");

        CliRun clean = await cli.RunAsync("test", "carol");
        Assert.True(clean.ExitCode == 0, clean.ToString());
        Assert.DoesNotContain("stuck", clean.Out, StringComparison.Ordinal);

        for (int i = 0; i < 3; i++)
        {
            CliRun fetch = await cli.RunAsync("fetch", "carol", "--maildir", maildir);
            Assert.True(fetch.Error.Contains(Refusal, StringComparison.Ordinal), fetch.ToString());
        }

        CliRun test = await cli.RunAsync("test", "carol");

        Assert.True(test.ExitCode == 0, test.ToString());
        string stat = test.Out.Split('\n').Single(l => l.StartsWith("! Stat", StringComparison.Ordinal));
        Assert.Contains($"message 2 (UIDL '{bad.Uid}') failed in 3 fetches in a row [pop3_command_failed], the server said: {Refusal}", stat, StringComparison.Ordinal);
        Assert.Contains("  why: SmartPop retries a stuck message at every poll but cannot collect it; it stays on the server", test.Out, StringComparison.Ordinal);
        Assert.Contains("fix: message 2", test.Out, StringComparison.Ordinal);
        Assert.Contains("delete it on the server", test.Out, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(Path.Combine(maildir, "new"))); // the other message was collected

        // ftgate status names it the same way: number, UIDL, count, code and the server's words.
        CliRun status = await cli.RunAsync("status");
        Assert.True(status.ExitCode == 0, status.ToString());
        string stuck = status.Out.Split('\n').Single(l => l.TrimStart().StartsWith("stuck:", StringComparison.Ordinal));
        Assert.Contains($"message {bad.Uid} (number 2 at the last fetch) failed in 3 fetches in a row [pop3_command_failed]", stuck, StringComparison.Ordinal);
        Assert.Contains("the server said: " + Refusal, stuck, StringComparison.Ordinal);
    }
}
