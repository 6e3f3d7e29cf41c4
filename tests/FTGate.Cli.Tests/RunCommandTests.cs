using System.Text;
using System.Text.Json.Nodes;
using FTGate.Testing;
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

    [Fact]
    public async Task Run_SigtermMidRetr_FinishesThatMessage_Quits_Exits0_AndItIsNotFetchedAgain()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using DrippingMailbox box = await DrippingMailbox.StartAsync(grace: "00:02:00", ct);

        await using CliProcess run = box.StartRun();
        await box.Pop3.Faults.WaitForStallAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct); // RETR answered +OK, no byte of the body yet
        run.Terminate();
        await run.WaitForLineAsync(l => l.Contains("SIGTERM: stopping after the message in flight", StringComparison.Ordinal)).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.False(run.HasExited);
        for (int i = 0; i < box.InFlight.Content.Length; i++)
        {
            await box.Pop3.Faults.TickAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        }

        CliRun stopped = await run.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(stopped.ExitCode == 0, stopped.ToString());
        Assert.EndsWith("ftgate run: stopped.\n", stopped.Out, StringComparison.Ordinal);
        string[] delivered = box.Delivered();
        Assert.Single(delivered);
        Assert.Contains("finished after SIGTERM", await File.ReadAllTextAsync(delivered[0], ct), StringComparison.Ordinal);
        Assert.Equal(1, box.Pop3.Counters.QuitCount); // QUIT committed the deletion of the finished message
        Assert.Equal(1, box.Pop3.Counters.RetrCount); // the next message was not started after the stop
        Assert.Equal([box.Next.Uid], box.Mailbox.Messages.Select(m => m.Uid));

        await box.FetchRestAndCheckEachOnceAsync();
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task Run_SignalMidRetr_GracePeriodOver_AbandonsTheTransfer_Exits0_AndTheMessageIsCollectedNextTime(string signal)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        // A 3 s grace outlasts System.CommandLine's own 2 s termination timeout: the exit code and the grace line show that the
        // command, not the parser, decides when the process ends.
        await using DrippingMailbox box = await DrippingMailbox.StartAsync(grace: "00:00:03", ct);

        await using CliProcess run = box.StartRun();
        await box.Pop3.Faults.WaitForStallAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
        run.Terminate(signal);
        CliRun stopped = await run.WaitAsync(TimeSpan.FromSeconds(60)); // the drip never ticks: only the grace ends it

        Assert.True(stopped.ExitCode == 0, stopped.ToString());
        Assert.Contains($"SIG{signal}: stopping after the message in flight", stopped.Out, StringComparison.Ordinal);
        Assert.Contains("ftgate run: the grace period ended before the message in flight did; it stays on the server and is collected next time.", stopped.Out, StringComparison.Ordinal);
        Assert.Empty(box.Delivered());
        Assert.Equal(2, box.Mailbox.Count);

        await box.FetchRestAndCheckEachOnceAsync();
    }

    /// <summary>A TestPop3Server mailbox of two messages whose first RETR drips one byte per tick, and an ftgate config for it.</summary>
    private sealed class DrippingMailbox : IAsyncDisposable
    {
        private readonly string _variable = "FTGATE_RUN_STOP_" + Guid.NewGuid().ToString("N")[..8];

        private DrippingMailbox(TestPop3Server pop3, string dir)
        {
            Pop3 = pop3;
            Mailbox = pop3.AddUser("dora@example.test", "dora-password");
            InFlight = Mailbox.Add("Subject: in flight\r\n\r\nfinished after SIGTERM\r\n");
            Next = Mailbox.Add("Subject: next\r\n\r\nnot started once the stop came\r\n");
            pop3.Faults.DripRetr(InFlight.Uid);
            Cli = new CliRunner(Path.Combine(dir, "ftgate.json"));
            Maildir = Path.Combine(dir, "Maildir");
        }

        public TestPop3Server Pop3 { get; }

        public TestMailbox Mailbox { get; }

        public TestMessage InFlight { get; }

        public TestMessage Next { get; }

        public CliRunner Cli { get; }

        public string Maildir { get; }

        public static async Task<DrippingMailbox> StartAsync(string grace, CancellationToken ct)
        {
            var box = new DrippingMailbox(await TestPop3Server.StartAsync(cancellationToken: ct), Infra.NewTempDirectory("ftg-run-stop"));
            Environment.SetEnvironmentVariable(box._variable, "dora-password");
            CliRun add = await box.Cli.RunAsync("account", "add", "dora", "--host", box.Pop3.Host, "--port", box.Pop3.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--security", "none", "--allow-insecure-auth", "--user", "dora@example.test", "--password-env", box._variable);
            Assert.True(add.ExitCode == 0, add.ToString());
            JsonNode root = JsonNode.Parse(await File.ReadAllTextAsync(box.Cli.ConfigPath, ct))!;
            JsonNode smartPop = root["FTGate"]!["SmartPop"]!; // written by 'account add' above
            smartPop["PipelineMessageMaxBytes"] = 0; // one message per RETR batch: "in flight" is exactly one message
            smartPop["ShutdownGracePeriod"] = grace;
            smartPop["Accounts"]!["dora"]!["LeaveOnServer"] = false;
            smartPop["Accounts"]!["dora"]!["PollInterval"] = "01:00:00";
            await File.WriteAllTextAsync(box.Cli.ConfigPath, root.ToJsonString(), ct);
            return box;
        }

        public CliProcess StartRun() => CliProcess.Start(Cli.ConfigPath, ["run", "--maildir", Maildir], new() { [_variable] = "dora-password" });

        public string[] Delivered() => Directory.Exists(Path.Combine(Maildir, "new")) ? Directory.GetFiles(Path.Combine(Maildir, "new")) : [];

        /// <summary>A plain fetch afterwards collects what is left: in the end each message is in the Maildir exactly once.</summary>
        public async Task FetchRestAndCheckEachOnceAsync()
        {
            Pop3.Faults.Reset();
            int before = Delivered().Length;
            CliRun again = await Cli.RunAsync("fetch", "dora", "--maildir", Maildir, "--json");
            Assert.True(again.ExitCode == 0, again.ToString());
            Assert.Equal(2 - before, (int)JsonNode.Parse(again.Out)!["delivered"]!);
            string[] all = Delivered();
            Assert.Equal(2, all.Length);
            Assert.Single(all, f => File.ReadAllText(f).Contains("finished after SIGTERM", StringComparison.Ordinal));
            Assert.Single(all, f => File.ReadAllText(f).Contains("not started once the stop came", StringComparison.Ordinal));
            Assert.Equal(0, Mailbox.Count);
        }

        public async ValueTask DisposeAsync()
        {
            Environment.SetEnvironmentVariable(_variable, null);
            await Pop3.DisposeAsync();
        }
    }
}
