using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FTGate.OAuth;
using FTGate.SmartPop;
using FTGate.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace FTGate.Redis.Tests;

/// <summary>
/// Three real <c>ftgate run</c> processes on one Redis and one Maildir, collecting from the real Dovecot with the real OAuth
/// server's 5-second access tokens and rotating refresh tokens. The lease holder is SIGKILLed mid-fetch and Redis is
/// SIGKILLed and restarted once.
/// </summary>
public sealed class FarmTests(RedisFixture redis, IntegrationServers servers)
{
    private const string User = "carol@example.test";
    private const string Account = "carol";
    private const int LargeMessages = 40;
    private const int LateMessages = 5;

    /// <summary>
    /// The bound of every wait: only a real failure reaches it. On an idle machine each step takes seconds; on a loaded
    /// 2-core machine (load 30-50) three dotnet processes, Dovecot and Redis can take well over a minute for one.
    /// </summary>
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task ThreeNodes_OneKilledMidFetch_RedisRestarted_EveryMessageOnceByteExact_OneRefreshPerExpiry_GrantStillValid()
    {
        redis.Require();
        servers.Require();
        CancellationToken ct = TestContext.Current.CancellationToken;
        var clock = Stopwatch.StartNew();
        await using RedisServer farmRedis = await RedisServer.StartNewAsync(ct);
        string prefix = RedisFixture.NewPrefix();
        string dir = Infra.NewTempDirectory("ftg-farm");
        string maildir = Path.Combine(dir, "Maildir");

        // The grant: authorized once, through the SDK on the farm's Redis (the browser step is the test's).
        await using (ServiceProvider admin = AuthorizeAcrossNodesTests.FarmNode(redis, servers.OAuth, farmRedis, prefix, User))
        {
            IAuthProvider provider = admin.GetRequiredService<IAuthProviderRegistry>().Get("Local");
            AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(new Uri("http://127.0.0.1/callback")), ct);
            using var browser = new HeadlessBrowser();
            Uri callback = await browser.AuthorizeAsync(challenge.AuthorizationUri, User, "carol-password", cancellationToken: ct);
            await provider.CompleteAuthorizationAsync(AuthorizationCallback.FromUri(callback), ct);
        }

        servers.Dovecot.ClearMailbox(User);
        var corpus = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (int i = 0; i < LargeMessages; i++)
        {
            byte[] message = Message(i, 1024 * 1024);
            corpus[servers.Dovecot.AddMessage(User, message)] = message;
        }

        string configPath = Path.Combine(dir, "ftgate.json");
        await File.WriteAllTextAsync(configPath, Config(farmRedis, prefix), ct);
        await servers.OAuth.ResetStatsAsync(ct);

        var nodes = new List<FtgateProcess>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                nodes.Add(FtgateProcess.Start(configPath, maildir));
            }

            // Kill the lease holder once it has delivered a few messages of this poll and is still collecting.
            await using ConnectionMultiplexer raw = await ConnectionMultiplexer.ConnectAsync(farmRedis.Configuration + ",abortConnect=false");
            int holderPid = 0;
            await WaitUntilAsync(
                async () =>
                {
                    int delivered = Delivered(maildir);
                    holderPid = HolderPid(await raw.GetDatabase().StringGetAsync(prefix + "lease:{" + Account + "}"));
                    return delivered >= 1 && delivered < LargeMessages && holderPid != 0;
                },
                Generous,
                ct);
            FtgateProcess victim = nodes.Single(n => n.Pid == holderPid);
            victim.Kill();
            var sinceKill = Stopwatch.StartNew();
            int deliveredAtKill = Delivered(maildir);

            // Hand-over: another node takes the lease once the dead node's has expired, and delivers the rest.
            int nextPid = 0;
            await WaitUntilAsync(
                async () =>
                {
                    nextPid = HolderPid(await raw.GetDatabase().StringGetAsync(prefix + "lease:{" + Account + "}"));
                    return nextPid != 0 && nextPid != holderPid;
                },
                Generous,
                ct);
            TimeSpan handover = sinceKill.Elapsed;

            // Redis crashes (SIGKILL) while the new holder collects, and comes back on the same append-only file.
            await farmRedis.KillAsync();
            await WaitUntilAsync(() => Task.FromResult(nodes.Any(x => x.Output.Contains("[redis_unavailable]", StringComparison.Ordinal))), Generous, ct);
            await farmRedis.StartAsync(ct);

            await WaitUntilAsync(() => Task.FromResult(Delivered(maildir) == LargeMessages), Generous, ct);
            for (int i = 0; i < LateMessages; i++)
            {
                byte[] message = Message(1000 + i, 2000);
                corpus[servers.Dovecot.AddMessage(User, message)] = message;
            }

            await WaitUntilAsync(() => Task.FromResult(Delivered(maildir) == LargeMessages + LateMessages && servers.Dovecot.ListMessages(User).Count == 0), Generous, ct);

            // The nodes keep polling every second: let the grant go through at least three expiries in all before stopping.
            await WaitUntilAsync(() => Task.FromResult(nodes.Sum(x => x.RefreshedAt.Count) >= 3), Generous, ct);

            // Graceful stop of the survivors (SIGTERM).
            foreach (FtgateProcess node in nodes.Where(n => n != victim))
            {
                node.Terminate();
            }

            foreach (FtgateProcess node in nodes.Where(n => n != victim))
            {
                int exit = await node.WaitAsync(Generous, ct);
                Assert.True(exit == 0, $"node {node.Pid} exited {exit}:\n{node.Output}");
                Assert.Contains("ftgate run: stopped.", node.Output, StringComparison.Ordinal);
            }

            // Every message exactly once, byte for byte; nothing left on the server (deletions committed by QUIT).
            string[] files = Directory.GetFiles(Path.Combine(maildir, "new"));
            Assert.Equal(corpus.Count, files.Length);
            foreach ((string uidl, byte[] expected) in corpus)
            {
                byte[] actual = await File.ReadAllBytesAsync(Path.Combine(maildir, "new", MaildirMessageSink.GetFileName(Account, uidl)), ct);
                Assert.True(SHA256.HashData(expected).AsSpan().SequenceEqual(SHA256.HashData(actual)), $"message {uidl} differs: {expected.Length} bytes expected, {actual.Length} delivered");
            }

            Assert.Empty(servers.Dovecot.ListMessages(User));

            // One refresh per expiry across the nodes: every refresh the server saw was logged by exactly one node, none failed
            // (a second redemption of a rotated refresh token would be invalid_grant and revoke the grant), and no two
            // refreshes fell inside one token lifetime (5 s tokens, refreshed 1 s before expiry). The spacing is read from the
            // server's clock (when it answered each refresh), not from when this busy process happened to read the nodes' output.
            JsonElement stats = await servers.OAuth.GetStatsAsync(ct);
            int serverRefreshes = stats.GetProperty("token").TryGetProperty("refresh_token", out JsonElement n) ? n.GetInt32() : 0;
            Assert.False(stats.GetProperty("tokenErrors").TryGetProperty("refresh_token", out JsonElement errors), $"failed refreshes: {errors}");
            int refreshes = nodes.Sum(x => x.RefreshedAt.Count);
            Assert.Equal(serverRefreshes, refreshes);
            Assert.True(refreshes >= 3, $"the test should span several token lifetimes; {refreshes} refreshes");
            List<long> answeredAt = [.. stats.GetProperty("tokenTimes").GetProperty("refresh_token").EnumerateArray().Select(t => t.GetInt64()).Order()];
            for (int i = 1; i < answeredAt.Count; i++)
            {
                Assert.True(answeredAt[i] - answeredAt[i - 1] > 2000, $"two refreshes {answeredAt[i] - answeredAt[i - 1]} ms apart: {string.Join(", ", answeredAt)}");
            }

            // The grant is still valid: a forced refresh with the stored (last rotated) refresh token succeeds.
            await using (ServiceProvider check = AuthorizeAcrossNodesTests.FarmNode(redis, servers.OAuth, farmRedis, prefix, User))
            {
                AccessToken token = await check.GetRequiredService<IAuthProviderRegistry>().Get("Local").RefreshAccessTokenAsync(User, ct);
                Assert.True(token.ExpiresOn > DateTimeOffset.UtcNow);
            }

            string allOutput = string.Join("\n", nodes.Select(x => x.Output));
            Assert.Contains("is unavailable", allOutput, StringComparison.Ordinal);
            Assert.Contains("Redis is reachable again", allOutput, StringComparison.Ordinal);
            TestContext.Current.SendDiagnosticMessage(string.Create(
                CultureInfo.InvariantCulture,
                $"farm: {corpus.Count} messages delivered once ({deliveredAtKill} before the kill), {refreshes} refreshes ({serverRefreshes} at the server), lease hand-over {handover.TotalSeconds:0.0} s after SIGKILL, wall time {clock.Elapsed.TotalSeconds:0} s"));
            File.AppendAllText(Path.Combine(Path.GetTempPath(), "ftgate-farm-figures.txt"), string.Create(
                CultureInfo.InvariantCulture,
                $"{DateTimeOffset.UtcNow:u} messages={corpus.Count} beforeKill={deliveredAtKill} refreshes={refreshes} serverRefreshes={serverRefreshes} handover={handover.TotalSeconds:0.0}s wall={clock.Elapsed.TotalSeconds:0}s\n"));
        }
        catch (Exception ex) when (ex is TimeoutException or Xunit.Sdk.XunitException)
        {
            // What the nodes said is the evidence: put it into the failure.
            throw new Xunit.Sdk.XunitException(
                $"{ex.Message}\nMaildir: {Delivered(maildir)} delivered; server: {servers.Dovecot.ListMessages(User).Count} left\n"
                + string.Join("\n", nodes.Select(x => $"--- ftgate run (pid {x.Pid}) ---\n{Tail(x.Output)}")),
                ex);
        }
        finally
        {
            foreach (FtgateProcess node in nodes)
            {
                node.Dispose();
            }
        }
    }

    /// <summary>The node's status lines and warnings, without the debug logs.</summary>
    private static string Tail(string output) =>
        string.Join("\n", output.Split('\n').Where(l => !l.StartsWith("dbug", StringComparison.Ordinal) && !l.StartsWith("debu", StringComparison.Ordinal)).TakeLast(60));

    private static int Delivered(string maildir) =>
        Directory.Exists(Path.Combine(maildir, "new")) ? Directory.GetFiles(Path.Combine(maildir, "new")).Length : 0;

    /// <summary>The pid in a lease value "host:pid/random" (the default node name is machine:pid).</summary>
    private static int HolderPid(RedisValue lease)
    {
        if (lease.IsNull)
        {
            return 0;
        }

        string value = lease!;
        string node = value[..value.IndexOf('/', StringComparison.Ordinal)];
        return int.Parse(node[(node.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"condition not met within {timeout}");
            }

            // Fixed delay kept on purpose (1 of the suite's 2): the farm runs as separate ftgate processes, observed through the
            // Maildir, Redis and Dovecot, which give this process no signal; 25 ms between looks, bounded by the timeout.
            await Task.Delay(25, ct);
        }
    }

    private static byte[] Message(int i, int size)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"From: dave@example.test\nTo: {User}\nSubject: farm message {i}\nMessage-ID: <farm-{i}@example.test>\n\n");
        var random = new Random(i);
        while (text.Length < size)
        {
            text.Append(CultureInfo.InvariantCulture, $"{random.NextInt64():x16} line of message {i}\n");
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }

    private string Config(RedisServer farmRedis, string prefix)
    {
        var root = new JsonObject
        {
            ["FTGate"] = new JsonObject
            {
                ["Providers"] = new JsonObject
                {
                    ["Local"] = new JsonObject
                    {
                        ["Type"] = "OAuth2",
                        ["Authority"] = servers.OAuth.Issuer.AbsoluteUri.TrimEnd('/'),
                        ["ClientId"] = OAuthServer.ShortLivedClientId,
                        ["UserName"] = User,
                        ["Scopes"] = new JsonArray("openid", "email", "offline_access", "mail"),
                        ["RefreshMargin"] = "00:00:01",
                    },
                },
                ["SmartPop"] = new JsonObject
                {
                    ["Accounts"] = new JsonObject
                    {
                        [Account] = new JsonObject
                        {
                            ["Host"] = servers.Dovecot.Host,
                            ["Port"] = servers.Dovecot.Pop3sPort,
                            ["Security"] = "SslOnConnect",
                            ["UserName"] = User,
                            ["AuthProvider"] = "Local",
                            ["TrustedRootCertificateFile"] = servers.Dovecot.CaCertificatePath,
                            ["CheckCertificateRevocation"] = false,
                            ["LeaveOnServer"] = false,
                            ["PollInterval"] = "00:00:01",
                        },
                    },
                },
                ["Redis"] = new JsonObject
                {
                    ["Configuration"] = farmRedis.Configuration + ",connectTimeout=1000,asyncTimeout=1000,syncTimeout=1000",
                    ["KeyPrefix"] = prefix,
                    ["EncryptionKeyFile"] = redis.KeyFile,
                    ["LeaseTime"] = "00:00:03",
                },
            },
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>One <c>ftgate run</c> process (the built CLI, started with dotnet), with its output captured line by line.</summary>
    private sealed class FtgateProcess : IDisposable
    {
        private static readonly Stopwatch s_clock = Stopwatch.StartNew();
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly List<TimeSpan> _refreshedAt = [];

        private FtgateProcess(Process process)
        {
            _process = process;
            Pid = process.Id;
        }

        public int Pid { get; }

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public IReadOnlyList<TimeSpan> RefreshedAt
        {
            get
            {
                lock (_output)
                {
                    return [.. _refreshedAt];
                }
            }
        }

        public static FtgateProcess Start(string configPath, string maildir)
        {
            // The CLI is built beside this test project: artifacts/bin/FTGate.Cli/<configuration>/ftgate.dll.
            string configuration = new DirectoryInfo(AppContext.BaseDirectory).Name;
            string cli = Path.Combine(Infra.RepositoryRoot, "artifacts", "bin", "FTGate.Cli", configuration, "ftgate.dll");
            var info = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            foreach (string arg in new[] { cli, "run", "--config", configPath, "--maildir", maildir, "--verbose" })
            {
                info.ArgumentList.Add(arg);
            }

            Process process = Process.Start(info) ?? throw new InvalidOperationException("could not start ftgate");
            process.StandardInput.Close();
            var node = new FtgateProcess(process);
            process.OutputDataReceived += (_, e) => node.Add(e.Data);
            process.ErrorDataReceived += (_, e) => node.Add(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return node;
        }

        public void Kill() => _process.Kill();

        public void Terminate() => Process.Start("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();

        public async Task<int> WaitAsync(TimeSpan timeout, CancellationToken ct)
        {
            await _process.WaitForExitAsync(ct).WaitAsync(timeout, ct);
            _process.WaitForExit(); // drain the output
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit();
            }

            TestContext.Current.SendDiagnosticMessage($"--- ftgate run (pid {Pid}) ---\n{Output}");
            _process.Dispose();
        }

        private void Add(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.AppendLine(line);
                if (line.Contains("[1400]", StringComparison.Ordinal)) // GrantRefreshed: the grant flow's one refresh log
                {
                    _refreshedAt.Add(s_clock.Elapsed);
                }
            }
        }
    }
}
