using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using FTGate.Testing;

namespace FTGate.Hosting.Tests;

/// <summary>
/// Real hosts, as embedders run them: a child process builds a generic host (Microsoft.Extensions.Hosting 10.0.x, and the
/// lowest supported, 8.0.x) or a WebApplication with <c>AddSmartPopPoller()</c>, polls a TestPop3Server, and is stopped
/// with SIGTERM. It must deliver the mail, exit with code 0 and print no exception.
/// </summary>
public sealed class HostShutdownTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData("FTGate.Hosting.Tests.Host", "generic", 10)]
    [InlineData("FTGate.Hosting.Tests.Host8", "generic", 8)]
    [InlineData("FTGate.Hosting.Tests.Host", "web", 10)]
    public async Task Host_PollsThenSigterm_ExitsZeroWithoutException(string hostProject, string mode, int hostingMajor)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestPop3Server pop3 = await TestPop3Server.StartAsync(cancellationToken: ct);
        TestMailbox mailbox = pop3.AddUser("alice@example.test", "s3cret-pass");
        mailbox.Add("Subject: one\r\n\r\nFirst\r\n", uid: "m1");
        mailbox.Add("Subject: two\r\n\r\nSecond\r\n", uid: "m2");
        string work = Directory.CreateTempSubdirectory("ftg-host-").FullName;
        string output = Directory.CreateDirectory(Path.Combine(work, "mail")).FullName;
        string ca = Path.Combine(work, "ca.pem");
        await File.WriteAllTextAsync(ca, pop3.Certificate.ExportCertificatePem(), ct);

        await using var child = ChildHost.Start(hostProject, mode, output,
            "--FTGate:SmartPop:Accounts:alice:Host=" + pop3.Host,
            "--FTGate:SmartPop:Accounts:alice:Port=" + pop3.TlsPort,
            "--FTGate:SmartPop:Accounts:alice:UserName=alice@example.test",
            "--FTGate:SmartPop:Accounts:alice:Password=s3cret-pass",
            "--FTGate:SmartPop:Accounts:alice:TrustedRootCertificateFile=" + ca,
            "--FTGate:SmartPop:Accounts:alice:CheckCertificateRevocation=false",
            "--FTGate:SmartPop:Accounts:alice:PollInterval=01:00:00",
            "--Logging:LogLevel:Default=Information");

        string hosting = await child.WaitForLineAsync("hosting ", Patience, ct);
        Assert.StartsWith($"hosting {hostingMajor}.", hosting, StringComparison.Ordinal);
        if (mode == "web")
        {
            string url = (await child.WaitForLineAsync("listening ", Patience, ct))["listening ".Length..];
            using var http = new HttpClient();
            await child.WaitForLineAsync("fetched alice", Patience, ct);
            string json = await http.GetStringAsync(new Uri(new Uri(url), "/status"), ct);
            using JsonDocument web = JsonDocument.Parse(json);
            Assert.Equal("alice", web.RootElement[0].GetProperty("accountName").GetString());
        }

        Assert.Equal("fetched alice delivered=2", await child.WaitForLineAsync("fetched alice", Patience, ct));
        child.Terminate();
        int exitCode = await child.WaitForExitAsync(Patience, ct);

        string transcript = child.Transcript;
        Assert.True(exitCode == 0, $"exit code {exitCode}\n{transcript}");
        Assert.DoesNotContain("Exception", transcript, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pass", transcript, StringComparison.Ordinal);
        Assert.Contains("exited", transcript, StringComparison.Ordinal);
        Assert.Equal(["m1.eml", "m2.eml"], Directory.GetFiles(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(1, pop3.Counters.QuitCount);

        // The poller's status after the stop: polled once, nothing failed, next poll an hour later.
        using JsonDocument status = JsonDocument.Parse((await child.WaitForLineAsync("status ", Patience, ct))["status ".Length..]);
        JsonElement alice = status.RootElement.EnumerateArray().Single();
        Assert.Equal("Idle", alice.GetProperty("State").GetString());
        DateTimeOffset lastPoll = alice.GetProperty("LastPollAt").GetDateTimeOffset();
        Assert.InRange(alice.GetProperty("NextPollAt").GetDateTimeOffset() - lastPoll, TimeSpan.FromHours(1), TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1));
        Assert.Equal(2, alice.GetProperty("LastResult").GetProperty("Delivered").GetInt32());
        Assert.Equal(0, alice.GetProperty("ConsecutiveFailures").GetInt32());
        Assert.Empty(alice.GetProperty("Failures").EnumerateArray());
        TestContext.Current.TestOutputHelper?.WriteLine(transcript);
        Directory.Delete(work, recursive: true);
    }

    /// <summary>One child host process and what it printed.</summary>
    private sealed class ChildHost : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = [];
        private readonly object _gate = new();
        private readonly List<(string Prefix, TaskCompletionSource<string> Seen)> _waiters = [];

        private ChildHost(Process process) => _process = process;

        public string Transcript
        {
            get
            {
                lock (_gate)
                {
                    return string.Join('\n', _lines);
                }
            }
        }

        public static ChildHost Start(string project, string mode, string output, params string[] configuration)
        {
            Assembly tests = typeof(HostShutdownTests).Assembly;
            string bin = Metadata(tests, "HostsDirectory");
            string dll = Path.Combine(bin, project, Metadata(tests, "Configuration"), project + ".dll");
            Assert.True(File.Exists(dll), $"{dll} is missing: build tests/FTGate.Hosting.Tests (it builds the child hosts).");
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(dll);
            start.ArgumentList.Add(mode);
            start.ArgumentList.Add(output);
            foreach (string setting in configuration)
            {
                start.ArgumentList.Add(setting);
            }

            start.Environment["DOTNET_ENVIRONMENT"] = "Production";
            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            var process = new Process { StartInfo = start };
            var child = new ChildHost(process);
            process.OutputDataReceived += (_, e) => child.Add(e.Data);
            process.ErrorDataReceived += (_, e) => child.Add(e.Data is null ? null : "stderr: " + e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return child;
        }

        public async Task<string> WaitForLineAsync(string prefix, TimeSpan timeout, CancellationToken cancellationToken)
        {
            var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                string? line = _lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
                if (line is not null)
                {
                    return line;
                }

                _waiters.Add((prefix, seen));
            }

            Task exited = _process.WaitForExitAsync(cancellationToken);
            Task first = await Task.WhenAny(seen.Task, exited).WaitAsync(timeout, cancellationToken);
            if (first != seen.Task)
            {
                // The process ended: its output may still be draining.
                await _process.WaitForExitAsync(cancellationToken);
                lock (_gate)
                {
                    return _lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))
                        ?? throw new InvalidOperationException($"The host exited ({_process.ExitCode}) without printing '{prefix}':\n{string.Join('\n', _lines)}");
                }
            }

            return await seen.Task;
        }

        /// <summary>Sends SIGTERM, as systemd, Docker and Kubernetes do to stop a service.</summary>
        public void Terminate()
        {
            using Process kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
            Assert.Equal(0, kill.ExitCode);
        }

        public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            await _process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken);
            _process.WaitForExit(); // Drains the redirected output.
            return _process.ExitCode;
        }

        public ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
            return ValueTask.CompletedTask;
        }

        private static string Metadata(Assembly assembly, string key) =>
            assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

        private void Add(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_gate)
            {
                _lines.Add(line);
                foreach ((string prefix, TaskCompletionSource<string> seen) in _waiters.Where(w => line.StartsWith(w.Prefix, StringComparison.Ordinal)).ToList())
                {
                    seen.TrySetResult(line);
                    _waiters.Remove((prefix, seen));
                }
            }
        }
    }
}
