using System.Globalization;
using System.Text.Json.Nodes;
using FTGate.Testing;
using FTGate.Tests.Infrastructure;

namespace FTGate.Cli.Tests;

/// <summary>
/// <c>ftgate fetch</c> against a stalled server: the per-read CommandTimeout and the per-account FetchTimeout, both bound from
/// the configuration file (<c>FTGate:SmartPop:Accounts:&lt;name&gt;</c>), end the fetch as a server/transient failure: exit 4
/// with a <c>fix:</c> line. Real seconds are unavoidable here (a whole process run), so the limits are 1 and 10 seconds (a stall ends at the first).
/// </summary>
public sealed class FetchTimeoutTests
{
    [Fact]
    public async Task Fetch_AStalledRetr_OthersDelivered_Exit4WithFix_AndTheDeliveredAreNotFetchedAgain()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestPop3Server pop3 = await TestPop3Server.StartAsync(cancellationToken: ct);
        TestMailbox mailbox = pop3.AddUser("carol@example.test", "carol-password");
        mailbox.Add("Subject: one\r\n\r\n1\r\n");
        TestMessage stalled = mailbox.Add("Subject: two\r\n\r\n2\r\n");
        mailbox.Add("Subject: three\r\n\r\n3\r\n");
        pop3.Faults.StallRetr(stalled.Uid, afterBytes: 5);
        string dir = Infra.NewTempDirectory("ftg-cli-timeout");
        var cli = new CliRunner(Path.Combine(dir, "ftgate.json"));
        string variable = "FTGATE_CLI_TIMEOUT_" + Guid.NewGuid().ToString("N")[..8];
        Environment.SetEnvironmentVariable(variable, "carol-password");
        CliRun add = await cli.RunAsync("account", "add", "carol", "--host", pop3.Host, "--port", pop3.Port.ToString(CultureInfo.InvariantCulture),
            "--security", "none", "--allow-insecure-auth", "--user", "carol@example.test", "--password-env", variable);
        Assert.True(add.ExitCode == 0, add.ToString());
        SetTimeouts(cli.ConfigPath, "carol", commandTimeout: "00:00:01", fetchTimeout: "00:00:10");
        string maildir = Path.Combine(dir, "Maildir");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        CliRun fetch = await cli.RunAsync("fetch", "carol", "--maildir", maildir);

        Assert.True(fetch.ExitCode == 4, fetch.ToString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10 + 15), $"took {clock.Elapsed}");
        Assert.Contains("pop3_timeout", fetch.Error, StringComparison.Ordinal);
        Assert.Contains("fix: ", fetch.Error, StringComparison.Ordinal);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(maildir, "new")).Length);

        pop3.Faults.Reset();
        CliRun again = await cli.RunAsync("fetch", "carol", "--maildir", maildir, "--json");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal(1, (int)JsonNode.Parse(again.Out)!["delivered"]!);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(maildir, "new")).Length);
    }

    private static void SetTimeouts(string configPath, string account, string commandTimeout, string fetchTimeout)
    {
        JsonNode root = JsonNode.Parse(File.ReadAllText(configPath))!;
        JsonNode entry = root["FTGate"]!["SmartPop"]!["Accounts"]![account]!;
        entry["CommandTimeout"] = commandTimeout;
        entry["FetchTimeout"] = fetchTimeout;
        File.WriteAllText(configPath, root.ToJsonString());
    }
}
