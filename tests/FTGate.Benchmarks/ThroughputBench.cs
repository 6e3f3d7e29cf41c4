using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FTGate.Tests.Infrastructure;

namespace FTGate.Benchmarks;

/// <summary>
/// Throughput as a user sees it (issue 14): the whole <c>ftgate fetch</c> process, start-up included, into a durable Maildir,
/// on a POP3S corpus where 5 % of the messages are 1-1.5 MB attachments carrying most of the bytes (or, with small-only,
/// 2-14 KB messages only); against a sequential MailKit RETR loop that discards the bytes and against fetchmail with password
/// authentication on the same mailbox, interleaved round by round.
/// </summary>
/// <remarks>
/// The CLI is published twice from this checkout: as built by default (JIT) and with ReadyToRun (precompiled code, which
/// removes most JIT work at start-up). It is configured as a new user would: <c>provider add</c>, <c>authorize</c> (this
/// benchmark plays the browser), <c>account add</c>; every run then starts a fresh process with a fresh Maildir and an empty
/// UIDL store, so each run collects the whole mailbox, and uses the cached access token as a scheduled fetch would.
/// </remarks>
internal sealed class ThroughputBench(BenchServers servers, FetchBench fetch, TextWriter report)
{
    private const string User = BenchServers.Alice;
    private const string Password = "alice-password";

    private DovecotServer Dovecot => servers.Dovecot;

    public async Task RunAsync(int count, int runs, int seed, bool smallOnly, string? cliDirectory)
    {
        Dovecot.ClearMailbox(User);
        List<int> sizes = Corpus.AttachmentHeavySizes(count, seed, smallOnly);
        long stored = 0;
        for (int i = 0; i < count; i++)
        {
            byte[] message = Corpus.Message(sizes[i], seed, i);
            stored += message.Length;
            Dovecot.AddMessage(User, message, $"tp-{seed}-{i:00000}");
        }

        fetch.Snapshot(User);
        var sinceSetup = Stopwatch.StartNew();
        int[] sorted = sizes.Order().ToArray();
        long large = sizes.Where(s => s >= 1024 * 1024).Sum(s => (long)s);
        Line($"corpus ({(smallOnly ? "small messages only" : "5 % attachments")}): {count} messages, seed {seed}, {Proc.Mb(stored)} MB stored; sizes min {sorted[0]} B, "
            + $"median {sorted[count / 2]} B, max {sorted[^1]} B; {sizes.Count(s => s >= 1024 * 1024)} of 1-1.5 MB carrying {Proc.Mb(large)} MB ({Stats.F(100.0 * large / stored, "0")} %)");

        Dictionary<string, string> clis = cliDirectory is null ? await PublishAsync() : new() { ["ftgate"] = Path.Combine(cliDirectory, "ftgate") };
        string home = Infra.NewTempDirectory("ftg-tp");
        string config = Path.Combine(home, "ftgate.json");
        await ConfigureAsync(clis.Values.First(), config);

        if (Environment.GetEnvironmentVariable("FTG_BENCH_HOLD") == "1")
        {
            // For experiments by hand: the servers, the corpus and the configured CLI stay up until stdin ends.
            Line($"holding: ftgate fetch alice --config {config} --maildir DIR (remove {Path.Combine(home, "ftgate.uidls")} between runs); FTG_BENCH_PW={Password} for alicepw; end stdin to stop");
            await Console.In.ReadToEndAsync();
            return;
        }

        var contenders = new List<(string Name, Func<Task<Figures>> Run)>();
        foreach ((string variant, string exe) in clis)
        {
            contenders.Add(($"{variant} fetch, XOAUTH2", () => FtgateAsync(exe, config, "alice", count)));
        }

        contenders.Add(($"{clis.Keys.First()} fetch, password", () => FtgateAsync(clis.Values.First(), config, "alicepw", count)));
        contenders.Add(("raw MailKit RETR loop, discards, XOAUTH2", () => RawAsync(count)));
        contenders.Add(("fetchmail, password, bsmtp file", async () =>
        {
            RunFigures f = await fetch.FetchmailAsync(User, count, stored);
            return new Figures(f.Seconds, f.Seconds, f.ProcessCpu, f.MaxRss);
        }));

        Line("warm-up (not counted): one raw run to warm the page cache");
        fetch.Restore(User, count);
        await RawAsync(count);
        TimeSpan quiet = TimeSpan.FromSeconds(35) - sinceSetup.Elapsed;
        if (quiet > TimeSpan.Zero)
        {
            Line($"waiting {quiet.TotalSeconds:0} s for the set-up's deleted inodes to age out (see FetchBench.Cleanup)");
            await Task.Delay(quiet);
        }

        var all = contenders.ToDictionary(c => c.Name, _ => new List<Figures>());
        for (int r = 1; r <= runs; r++)
        {
            foreach ((string name, Func<Task<Figures>> run) in contenders)
            {
                fetch.Restore(User, count);
                Figures f = await run();
                all[name].Add(f);
                Line($"  run {r} {name,-44} process {Stats.F(f.Process),6} s  fetch phase {Stats.F(f.Phase),6} s  {Stats.F(count / f.Process, "0"),5} msg/s  {Stats.F(stored / 1048576.0 / f.Process, "0.0"),6} MB/s  cpu {Stats.F(f.Cpu)} s  maxRSS {Proc.Mb(f.MaxRss)} MB");
            }
        }

        fetch.Cleanup();
        var median = all.ToDictionary(kv => kv.Key, kv => new Figures(
            Stats.Median(kv.Value.Select(f => f.Process)), Stats.Median(kv.Value.Select(f => f.Phase)), Stats.Median(kv.Value.Select(f => f.Cpu)), (long)Stats.Median(kv.Value.Select(f => (double)f.MaxRss))));
        Line("");
        Line($"| contender ({runs} runs interleaved, median) | whole process s | msgs/s | MB/s | fetch phase s | user+sys CPU s | peak RSS MB |");
        Line("|---|---:|---:|---:|---:|---:|---:|");
        foreach ((string name, Figures m) in median)
        {
            Line($"| {name} | {Stats.F(m.Process)} | {Stats.F(count / m.Process, "0")} | {Stats.F(stored / 1048576.0 / m.Process, "0.0")} | {Stats.F(m.Phase)} | {Stats.F(m.Cpu)} | {Proc.Mb(m.MaxRss)} |");
        }

        Figures raw = median["raw MailKit RETR loop, discards, XOAUTH2"];
        Figures fm = median["fetchmail, password, bsmtp file"];
        Figures password = median[$"{clis.Keys.First()} fetch, password"];
        double target = smallOnly ? 0.95 : 0.9;
        Line("");
        foreach (string variant in clis.Keys)
        {
            Figures f = median[$"{variant} fetch, XOAUTH2"];
            Line($"{variant}: whole process vs the raw loop's fetch phase (start-up excluded for the loop): {Stats.F(raw.Phase / f.Process)}x (target >= {Stats.F(target)}: {(raw.Phase / f.Process >= target ? "MET" : "MISSED")}); "
                + $"vs the raw loop's whole process: {Stats.F(raw.Process / f.Process)}x; vs fetchmail password: {Stats.F(fm.Process / f.Process)}x");
        }

        Line($"{clis.Keys.First()} password vs fetchmail password (both whole processes): {Stats.F(fm.Process / password.Process)}x (target >= 1.5: {(fm.Process / password.Process >= 1.5 ? "MET" : "MISSED")})");
    }

    /// <summary>One run: wall time of the whole process, the fetch phase where the process reports one, CPU and peak RSS.</summary>
    private sealed record Figures(double Process, double Phase, double Cpu, long MaxRss);

    private async Task<Figures> FtgateAsync(string exe, string config, string account, int count)
    {
        string maildir = Infra.NewTempDirectory("ftg-tpm");
        fetch.Keep(maildir);
        string uidls = Path.Combine(Path.GetDirectoryName(config)!, "ftgate.uidls");
        if (Directory.Exists(uidls))
        {
            Directory.Delete(uidls, recursive: true); // every run collects the whole mailbox
        }

        var env = new Dictionary<string, string> { ["FTG_BENCH_PW"] = Password };
        string[] args = ["fetch", account, "--maildir", maildir, "--config", config];
        TimedRun run;
        if (Environment.GetEnvironmentVariable("FTG_BENCH_PERF_DIR") is { Length: > 0 } perfDir)
        {
            // Profiling only (the figures of such runs include the profiler): Linux perf with the runtime's perf map.
            Directory.CreateDirectory(perfDir);
            env["DOTNET_PerfMapEnabled"] = "1";
            run = await TimedRun.RunAsync("perf", ["record", "-F", "999", "-g", "-o", Path.Combine(perfDir, $"ftgate-{account}-{DateTime.UtcNow:HHmmssfff}.perf.data"), "--", exe, .. args], env);
        }
        else
        {
            run = await TimedRun.RunAsync(exe, args, env);
        }

        int delivered = Directory.GetFiles(Path.Combine(maildir, "new")).Length;
        if (run.ExitCode != 0 || delivered != count)
        {
            throw new InvalidOperationException($"ftgate fetch exit {run.ExitCode}, {delivered}/{count} messages:\n{run.StdOut}\n{run.StdErr}");
        }

        // The last line says "... bytes in 2.9 s": the fetch phase as the CLI measured it.
        string last = run.StdOut.TrimEnd().Split('\n')[^1];
        string[] words = last.Split(' ');
        double phase = words.Length > 2 && words[^1] == "s" ? double.Parse(words[^2], CultureInfo.InvariantCulture) : double.NaN;
        return new Figures(run.WallSeconds, phase, run.CpuSeconds, run.MaxRssBytes);
    }

    private async Task<Figures> RawAsync(int count)
    {
        string dir = Infra.NewTempDirectory("ftg-tpr");
        fetch.Keep(dir);
        string jobFile = Path.Combine(dir, "job.json");
        var job = new ChildJob
        {
            Mode = "raw-discard", Host = Dovecot.Host, Port = Dovecot.Pop3sPort, CaPath = Dovecot.CaCertificatePath, User = User, Auth = "oauth", OutputDir = dir,
        };
        await File.WriteAllTextAsync(jobFile, JsonSerializer.Serialize(job, Json.Options));
        _token ??= (await servers.OAuth.GetUserTokensAsync(User, Password)).AccessToken;
        TimedRun run = await TimedRun.RunSelfAsync(["child", jobFile], new Dictionary<string, string> { ["FTG_BENCH_TOKEN"] = _token }, "raw-discard");
        ChildResult c = run.Result ?? throw new InvalidOperationException($"raw child printed no result (exit {run.ExitCode}): {run.StdErr}{run.StdOut}");
        if (c.Error is not null || c.Messages != count)
        {
            throw new InvalidOperationException($"raw child failed: {c.Error} ({c.Messages}/{count} messages)");
        }

        return new Figures(run.WallSeconds, c.Seconds, run.CpuSeconds, run.MaxRssBytes);
    }

    private string? _token;

    /// <summary>Publishes the CLI from this checkout as built by default (JIT) and with ReadyToRun.</summary>
    private async Task<Dictionary<string, string>> PublishAsync()
    {
        var result = new Dictionary<string, string>();
        string project = Path.Combine(Infra.RepositoryRoot, "samples", "FTGate.Cli");
        foreach ((string name, string[] extra) in new (string, string[])[]
        {
            ("ftgate", []),
            ("ftgate ReadyToRun", ["-r", "linux-x64", "--self-contained", "false", "-p:PublishReadyToRun=true"]),
        })
        {
            string output = Path.Combine(Infra.RepositoryRoot, "artifacts", "bench-cli", name.Contains("Ready", StringComparison.Ordinal) ? "r2r" : "jit");
            var clock = Stopwatch.StartNew();
            TimedRun publish = await TimedRun.RunAsync("dotnet", ["publish", project, "-c", "Release", "-o", output, "-nologo", "-v", "q", .. extra]);
            if (publish.ExitCode != 0)
            {
                throw new InvalidOperationException($"dotnet publish ({name}) failed: {publish.StdOut}{publish.StdErr}");
            }

            Line($"published {name} in {clock.Elapsed.TotalSeconds:0} s: {output}");
            result[name] = Path.Combine(output, "ftgate");
        }

        return result;
    }

    /// <summary>provider add, authorize (playing the browser), account add: as a new user would.</summary>
    private async Task ConfigureAsync(string exe, string config)
    {
        await CliAsync(exe, "provider", "add", "Local", "--type", "oauth2", "--discovery", new Uri(servers.OAuth.Issuer, "/.well-known/openid-configuration").AbsoluteUri,
            "--client-id", OAuthServer.NativeClientId, "--user", User, "--scope", "openid", "--scope", "email", "--scope", "offline_access", "--scope", "mail", "--config", config);

        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (string a in new[] { "authorize", "Local", "--no-browser", "--timeout", "120", "--config", config })
        {
            psi.ArgumentList.Add(a);
        }

        using var authorize = Process.Start(psi)!;
        Task<string> errors = authorize.StandardError.ReadToEndAsync();
        string? url = null;
        while (await authorize.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("Open this URL to authorize: ", StringComparison.Ordinal))
            {
                url = line["Open this URL to authorize: ".Length..];
                break;
            }
        }

        if (url is null)
        {
            throw new InvalidOperationException("ftgate authorize printed no URL: " + await errors);
        }

        using (var browser = new HeadlessBrowser())
        {
            await browser.AuthorizeAsync(new Uri(url), User, Password, deliverRedirect: true);
        }

        string rest = await authorize.StandardOutput.ReadToEndAsync();
        await authorize.WaitForExitAsync();
        if (authorize.ExitCode != 0)
        {
            throw new InvalidOperationException($"ftgate authorize exit {authorize.ExitCode}: {rest}{await errors}");
        }

        string port = Dovecot.Pop3sPort.ToString(CultureInfo.InvariantCulture);
        await CliAsync(exe, "account", "add", "alice", "--host", Dovecot.Host, "--port", port, "--security", "ssl", "--user", User, "--provider", "Local",
            "--ca-cert", Dovecot.CaCertificatePath, "--no-revocation-check", "--config", config);
        await CliAsync(exe, "account", "add", "alicepw", "--host", Dovecot.Host, "--port", port, "--security", "ssl", "--user", User, "--password-env", "FTG_BENCH_PW",
            "--ca-cert", Dovecot.CaCertificatePath, "--no-revocation-check", "--config", config);
        // A first collection of a large mailbox: take it all in one fetch (the default MaxMessagesPerPoll is 1,000).
        var root = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(config))!;
        foreach (string account in new[] { "alice", "alicepw" })
        {
            root["FTGate"]!["SmartPop"]!["Accounts"]![account]!["MaxMessagesPerPoll"] = 0;
        }

        await File.WriteAllTextAsync(config, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Line("configured: provider add, authorize (browser played by the benchmark), account add (XOAUTH2 and password), MaxMessagesPerPoll 0 (no limit)");
    }

    private static async Task CliAsync(string exe, params string[] args)
    {
        TimedRun run = await TimedRun.RunAsync(exe, args);
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"ftgate {string.Join(' ', args)} exit {run.ExitCode}: {run.StdOut}{run.StdErr}");
        }
    }

    private void Line(string text)
    {
        Console.WriteLine(text);
        report.WriteLine(text);
        report.Flush();
    }
}
