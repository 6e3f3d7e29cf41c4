using System.Text;
using System.Text.Json.Nodes;
using FTGate.Tests.Infrastructure;

namespace FTGate.Cli.Tests;

/// <summary><c>ftgate run</c> as a single-machine daemon (the farm mode is tested with real processes in FTGate.Redis.Tests).</summary>
public sealed class RunCommandTests(IntegrationServers servers)
{
    private const string User = "bob@example.test";

    [Fact]
    public async Task Run_SingleNode_CollectsOnEveryPoll_OneLineEach_AndStopsGracefully()
    {
        servers.Require();
        CancellationToken ct = TestContext.Current.CancellationToken;
        string dir = Infra.NewTempDirectory("ftg-run");
        string variable = "FTGATE_RUN_TEST_PASSWORD_" + Guid.NewGuid().ToString("N")[..8];
        Environment.SetEnvironmentVariable(variable, "bob-password");
        string config = Path.Combine(dir, "ftgate.json");
        await File.WriteAllTextAsync(config, new JsonObject
        {
            ["FTGate"] = new JsonObject
            {
                ["SmartPop"] = new JsonObject
                {
                    ["Accounts"] = new JsonObject
                    {
                        ["bob"] = new JsonObject
                        {
                            ["Host"] = servers.Dovecot.Host,
                            ["Port"] = servers.Dovecot.Pop3sPort,
                            ["Security"] = "SslOnConnect",
                            ["UserName"] = User,
                            ["PasswordEnvironmentVariable"] = variable,
                            ["TrustedRootCertificateFile"] = servers.Dovecot.CaCertificatePath,
                            ["CheckCertificateRevocation"] = false,
                            ["LeaveOnServer"] = false,
                            ["PollInterval"] = "00:00:01",
                        },
                    },
                },
            },
        }.ToJsonString(), ct);
        servers.Dovecot.ClearMailbox(User);
        servers.Dovecot.AddMessage(User, Encoding.ASCII.GetBytes("Subject: run 1\r\n\r\none\r\n"));
        servers.Dovecot.AddMessage(User, Encoding.ASCII.GetBytes("Subject: run 2\r\n\r\ntwo\r\n"));
        string maildir = Path.Combine(dir, "Maildir");
        var output = new LineWriter();
        var error = new LineWriter();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);

        Task<int> run = FTGateCli.RunAsync(["run", "--maildir", maildir, "--config", config], new CliConsole(output, error, new StringReader(""), isInteractive: false), stop.Token);
        await output.WaitForLineAsync(l => l.Contains(" bob: 2 new, 2 deleted, 0 too large,", StringComparison.Ordinal)).WaitAsync(TimeSpan.FromSeconds(60), ct);
        servers.Dovecot.AddMessage(User, Encoding.ASCII.GetBytes("Subject: run 3\r\n\r\nthree\r\n"));
        await output.WaitForLineAsync(l => l.Contains(" bob: 1 new, 1 deleted,", StringComparison.Ordinal)).WaitAsync(TimeSpan.FromSeconds(60), ct);
        await stop.CancelAsync();
        int exit = await run.WaitAsync(TimeSpan.FromSeconds(30), ct);

        Assert.True(exit == 0, $"exit {exit}\n{output}\n{error}");
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("ftgate run: collecting 1 account(s) as single node;", lines[0], StringComparison.Ordinal);
        Assert.Equal("ftgate run: stopped.", lines[^1].TrimEnd('\r'));
        Assert.All(lines[1..^1], l => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ bob: ", l));
        Assert.Equal(3, Directory.GetFiles(Path.Combine(maildir, "new")).Length);
        Assert.Empty(servers.Dovecot.ListMessages(User));
        Assert.DoesNotContain("bob-password", output + error.ToString(), StringComparison.Ordinal);
        Environment.SetEnvironmentVariable(variable, null);
    }

    [Fact]
    public async Task Run_PasswordVariableNotSet_ExitsNamingTheVariable()
    {
        string dir = Infra.NewTempDirectory("ftg-run2");
        string config = Path.Combine(dir, "ftgate.json");
        await File.WriteAllTextAsync(config, """
            {"FTGate":{"SmartPop":{"Accounts":{"a":{"Host":"127.0.0.1","Port":995,"UserName":"a@example.test","PasswordEnvironmentVariable":"FTGATE_RUN_TEST_UNSET_VARIABLE"}}}}}
            """, TestContext.Current.CancellationToken);

        CliRun run = await new CliRunner(config).RunAsync("run");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("FTGATE_RUN_TEST_UNSET_VARIABLE", run.Error, StringComparison.Ordinal);
        Assert.Contains("error: no enabled account to collect.", run.Error, StringComparison.Ordinal);
    }
}
