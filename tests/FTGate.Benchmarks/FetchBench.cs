using System.Globalization;
using System.Text;
using System.Text.Json;
using FTGate.Tests.Infrastructure;

namespace FTGate.Benchmarks;

/// <summary>One measured run of one contender.</summary>
internal sealed record RunFigures(double MsgsPerSecond, double MbPerSecond, double ProcessCpu, double PhaseCpu, long MaxRss, long Growth, double Seconds);

/// <summary>Macro fetch (2,000-message corpus, child processes), large message and 8 x 20 MB under the byte budget.</summary>
internal sealed class FetchBench(BenchServers servers, TextWriter report)
{
    private readonly Dictionary<string, string> _tokens = [];

    private DovecotServer Dovecot => servers.Dovecot;

    public async Task<Dictionary<string, RunFigures>> CorpusAsync(int count, int runs, int seed, IReadOnlySet<string>? only = null, string corpus = "default")
    {
        // Corpus into alice's mailbox, one small message into bob's for the children's warm-up.
        Dovecot.ClearMailbox(BenchServers.Alice);
        Dovecot.ClearMailbox(BenchServers.Bob);
        List<int> sizes = corpus == "default" ? Corpus.Sizes(count, seed) : Corpus.AttachmentHeavySizes(count, seed, smallOnly: corpus == "small");
        long stored = 0;
        for (int i = 0; i < count; i++)
        {
            byte[] message = Corpus.Message(sizes[i], seed, i);
            stored += message.Length;
            Dovecot.AddMessage(BenchServers.Alice, message, $"bench-{seed}-{i:00000}");
        }

        AddWarmupMailbox(seed);
        Snapshot(BenchServers.Alice);
        var sinceSetup = System.Diagnostics.Stopwatch.StartNew(); // setting up deleted the previous mailboxes' files
        int[] sorted = sizes.Order().ToArray();
        Line($"corpus: {count} messages, seed {seed}, {Proc.Mb(stored)} MB stored (LF); sizes min {sorted[0]} B, median {sorted[count / 2]} B, "
            + $"p90 {sorted[(int)(count * 0.9)]} B, max {sorted[^1]} B; {sizes.Count(s => s <= 50 * 1024)} of 2-50 KB, {sizes.Count(s => s >= 1024 * 1024)} of 1 MB");

        var contenders = new (string Name, Func<Task<RunFigures>> Run)[]
        {
            ("smartpop-xoauth2", () => DotnetAsync("smartpop", "oauth", BenchServers.Alice, count, stored)),
            ("smartpop-plainfiles-xoauth2", () => DotnetAsync("smartpop", "oauth", BenchServers.Alice, count, stored, sink: "files")),
            ("smartpop-discard-xoauth2", () => DotnetAsync("smartpop", "oauth", BenchServers.Alice, count, stored, sink: "null")),
            ("raw-mailkit-discard-xoauth2", () => DotnetAsync("raw-discard", "oauth", BenchServers.Alice, count, stored)),
            ("raw-mailkit-xoauth2", () => DotnetAsync("raw", "oauth", BenchServers.Alice, count, stored)),
            ("raw-mailkit-fsync-xoauth2", () => DotnetAsync("raw-fsync", "oauth", BenchServers.Alice, count, stored)),
            ("smartpop-password", () => DotnetAsync("smartpop", "password", BenchServers.Alice, count, stored)),
            ("smartpop-plainfiles-password", () => DotnetAsync("smartpop", "password", BenchServers.Alice, count, stored, sink: "files")),
            ("fetchmail-password", () => FetchmailAsync(BenchServers.Alice, count, stored)),
            ("fetchmail-maildrop-password", () => FetchmailAsync(BenchServers.Alice, count, stored, maildrop: true)),
        };

        if (only is { Count: > 0 })
        {
            contenders = contenders.Where(c => only.Contains(c.Name)).ToArray();
        }

        Line("warm-up (not counted): one raw MailKit run to warm the page cache");
        await DotnetAsync("raw", "oauth", BenchServers.Alice, count, stored);
        // ext4 without a journal skips inodes deleted in the last ~30 s when it allocates new ones (see Cleanup): let the
        // deletions of the set-up age out before the first measured run, so that run is not slower than the others.
        TimeSpan quiet = TimeSpan.FromSeconds(35) - sinceSetup.Elapsed;
        if (quiet > TimeSpan.Zero)
        {
            Line($"waiting {quiet.TotalSeconds:0} s for the set-up's deleted inodes to age out");
            await Task.Delay(quiet);
        }

        var all = contenders.ToDictionary(c => c.Name, _ => new List<RunFigures>());
        for (int r = 1; r <= runs; r++)
        {
            foreach ((string name, Func<Task<RunFigures>> run) in contenders)
            {
                Restore(BenchServers.Alice, count);
                RunFigures f = await run();
                all[name].Add(f);
                Line($"  run {r} {name,-26} {Stats.F(f.MsgsPerSecond, "0.0"),8} msg/s {Stats.F(f.MbPerSecond, "0.0"),7} MB/s  cpu {Stats.F(f.ProcessCpu)} s (fetch phase {Stats.F(f.PhaseCpu)} s)  maxRSS {Proc.Mb(f.MaxRss)} MB  wall {Stats.F(f.Seconds)} s");
            }
        }

        Cleanup();
        var medians = all.ToDictionary(kv => kv.Key, kv => Median(kv.Value));
        Line("");
        Line($"| contender ({runs} runs, median) | msgs/s | MB/s | user+sys CPU s (process) | CPU s (fetch phase) | peak RSS MB (process) | RSS growth over idle MB |");
        Line("|---|---:|---:|---:|---:|---:|---:|");
        foreach ((string name, RunFigures m) in medians)
        {
            Line($"| {name} | {Stats.F(m.MsgsPerSecond, "0")} | {Stats.F(m.MbPerSecond, "0.0")} | {Stats.F(m.ProcessCpu)} | {(m.PhaseCpu > 0 ? Stats.F(m.PhaseCpu) : "n/a")} | {Proc.Mb(m.MaxRss)} | {(m.Growth > 0 ? Proc.Mb(m.Growth) : "n/a")} |");
        }

        if (only is { Count: > 0 })
        {
            return medians; // a partial run (--only) prints no ratios
        }

        double sp = medians["smartpop-xoauth2"].MsgsPerSecond;
        double spPass = medians["smartpop-password"].MsgsPerSecond;
        double raw = medians["raw-mailkit-xoauth2"].MsgsPerSecond;
        double spPlain = medians["smartpop-plainfiles-xoauth2"].MsgsPerSecond;
        double rawFsync = medians["raw-mailkit-fsync-xoauth2"].MsgsPerSecond;
        double fm = medians["fetchmail-password"].MsgsPerSecond;
        Line("");
        Line($"ratio SmartPop/raw MailKit (msgs/s, XOAUTH2): {Stats.F(sp / raw)}  (target >= 0.90: {(sp / raw >= 0.9 ? "MET" : "MISSED")})");
        Line($"ratio SmartPop with a plain-file sink (no fsync, like the raw loop)/raw MailKit: {Stats.F(spPlain / raw)}  (SmartPop's own overhead, sink durability excluded)");
        Line($"ratio SmartPop/raw MailKit+fsync (same durability as the Maildir sink): {Stats.F(sp / rawFsync)}");
        Line($"ratio SmartPop/fetchmail (msgs/s, both password auth): {Stats.F(spPass / fm)}  (target >= 1.0: {(spPass / fm >= 1.0 ? "MET" : "MISSED")})");
        double spPassPlain = medians["smartpop-plainfiles-password"].MsgsPerSecond;
        Line($"ratio SmartPop with a plain-file sink/fetchmail (both password auth, neither fsyncs): {Stats.F(spPassPlain / fm)}");
        Line($"ratio SmartPop XOAUTH2/fetchmail password: {Stats.F(sp / fm)}");
        double fmMaildrop = medians["fetchmail-maildrop-password"].MsgsPerSecond;
        Line($"ratio SmartPop/fetchmail delivering through maildrop into a Maildir (both password auth, both fsync each message): {Stats.F(spPass / fmMaildrop)}");
        Line($"CPU ratio SmartPop/raw (process): {Stats.F(medians["smartpop-xoauth2"].ProcessCpu / medians["raw-mailkit-xoauth2"].ProcessCpu)}; SmartPop/fetchmail (process): {Stats.F(medians["smartpop-password"].ProcessCpu / medians["fetchmail-password"].ProcessCpu)}");
        return medians;
    }

    /// <summary>
    /// The children's warm-up mailbox (bob): 200 messages from the same size distribution (another seed, 4 of them 1 MiB),
    /// so every hot path is JIT-compiled at full optimisation before the measured fetch.
    /// </summary>
    private void AddWarmupMailbox(int seed)
    {
        List<int> sizes = Corpus.Sizes(200, seed + 1);
        for (int i = 0; i < sizes.Count; i++)
        {
            Dovecot.AddMessage(BenchServers.Bob, Corpus.Message(sizes[i], seed + 1, i), $"warmup-{i:000}");
        }
    }

    /// <summary>
    /// Removes the output of every run. Outputs are kept until a section ends because the root filesystem here is ext4
    /// without a journal: for about 30 s after thousands of files are deleted, allocating a new inode skips each recently
    /// deleted one (the kernel's recently_deleted check), which made the next file-per-message contender pay for the previous
    /// contender's cleanup (profiled with perf: find_inode_bit/recently_deleted, up to 15 % of the child's samples), while
    /// fetchmail's single bsmtp file did not.
    /// </summary>
    internal void Cleanup()
    {
        foreach (string dir in _trash)
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        _trash.Clear();
    }

    private readonly List<string> _trash = [];

    /// <summary>Removes <paramref name="dir"/> when the section ends (not at once: see <see cref="Cleanup"/>).</summary>
    internal void Keep(string dir) => _trash.Add(dir);

    public async Task LargeAsync(int runs)
    {
        const int fifty = 50 * 1024 * 1024;
        Dovecot.ClearMailbox(BenchServers.Alice);
        Dovecot.ClearMailbox(BenchServers.Bob);
        Dovecot.AddMessage(BenchServers.Alice, Corpus.Big(fifty, 50), "big-50mb");
        Dovecot.AddMessage(BenchServers.Bob, Corpus.Message(4096, 1, -1), "warmup");
        foreach (string mode in new[] { "smartpop", "raw" })
        {
            var growth = new List<double>();
            var rss = new List<double>();
            for (int r = 0; r < runs; r++)
            {
                TimedRun run = await ChildAsync(mode, "oauth", BenchServers.Alice, 1, 64L * 1024 * 1024);
                ChildResult c = Check(run, 1);
                growth.Add(c.PeakHwm - c.IdleRss);
                rss.Add(c.IdleRss);
                Line($"  run {r + 1} {mode}: idle RSS {Proc.Mb(c.IdleRss)} MB, peak {Proc.Mb(c.PeakHwm)} MB, growth {Proc.Mb(c.PeakHwm - c.IdleRss)} MB, {Stats.F(c.Seconds)} s");
            }

            double g = Stats.Median(growth);
            Line($"50 MB message, {mode}: peak RSS growth over idle {Proc.Mb((long)g)} MB = {Stats.F(g / fifty)}x the message (median of {runs}; idle {Proc.Mb((long)Stats.Median(rss))} MB)"
                + (mode == "smartpop" ? $"; target <= 2x: {(g <= 2.0 * fifty ? "MET" : "MISSED")}" : " (reference: MailKit alone)"));
        }

        Cleanup();
    }

    /// <summary>
    /// Constant memory (issue 14): peak RSS growth over idle while SmartPop streams one 1, 10 and 50 MB message from Dovecot
    /// over POP3S (the real TLS path), MailKit's GetStream as the reference; then a 1 GB endless line from TestPop3Server over
    /// TLS with MaxMessageSize 1 GiB, which is received, abandoned at the limit and never stored.
    /// </summary>
    public async Task MemoryAsync(int runs, bool endlessOnly = false)
    {
        if (endlessOnly)
        {
            await EndlessLineAsync(runs);
            return;
        }

        Dovecot.ClearMailbox(BenchServers.Bob);
        Dovecot.AddMessage(BenchServers.Bob, Corpus.Message(4096, 1, -1), "warmup");
        foreach (int mb in new[] { 1, 10, 50 })
        {
            Dovecot.ClearMailbox(BenchServers.Alice);
            Dovecot.AddMessage(BenchServers.Alice, Corpus.Big(mb * 1024 * 1024, mb), $"big-{mb}mb");
            foreach (string mode in new[] { "smartpop", "raw" })
            {
                var growth = new List<double>();
                for (int r = 0; r < runs; r++)
                {
                    ChildResult c = Check(await ChildAsync(mode, "oauth", BenchServers.Alice, 1, 64L * 1024 * 1024), 1);
                    growth.Add(c.PeakHwm - c.IdleRss);
                }

                double g = Stats.Median(growth);
                Line($"{mb} MB message, {mode}: peak RSS growth {Proc.Mb((long)g)} MB = {Stats.F(g / (mb * 1048576.0))}x the message (median of {runs})"
                    + (mode == "smartpop" ? $"; target < 8 MiB: {(g < 8 * 1048576.0 ? "MET" : "MISSED")}" : " (reference: MailKit GetStream)"));
            }
        }

        await EndlessLineAsync(runs);
        Cleanup();
    }

    private async Task EndlessLineAsync(int runs)
    {
        const long limit = 1L << 30;
        await using FTGate.Testing.TestPop3Server server = await FTGate.Testing.TestPop3Server.StartAsync();
        FTGate.Testing.TestMailbox mailbox = server.AddUser("endless@example.test", "endless-password");
        FTGate.Testing.TestMessage endless = mailbox.Add("Subject: endless\r\n\r\nx\r\n", "endless-line");
        server.Faults.EndlessRetr(endless.Uid);
        FTGate.Testing.TestMailbox warm = server.AddUser("warm@example.test", "warm-password");
        warm.Add("Subject: warm\r\n\r\nwarm\r\n");
        string dir = Infra.NewTempDirectory("ftg-endless");
        string ca = Path.Combine(dir, "ca.pem");
        await File.WriteAllTextAsync(ca, server.Certificate.ExportCertificatePem());
        var growth = new List<double>();
        for (int r = 0; r < runs; r++)
        {
            string jobFile = Path.Combine(dir, $"job{r}.json");
            var job = new ChildJob
            {
                Mode = "smartpop", Host = server.Host, Port = server.TlsPort, CaPath = ca, User = "endless@example.test", Auth = "password",
                OutputDir = Path.Combine(dir, $"run{r}"), MaxMessageSize = limit, Sink = "null", WarmupUser = "warm@example.test", ExpectFailure = "message_too_large",
            };
            await File.WriteAllTextAsync(jobFile, JsonSerializer.Serialize(job, Json.Options));
            TimedRun run = await TimedRun.RunSelfAsync(["child", jobFile], new Dictionary<string, string> { ["FTG_BENCH_PASSWORD"] = "endless-password", ["FTG_BENCH_WARMUP_PASSWORD"] = "warm-password" }, "endless");
            ChildResult c = Check(run, 0);
            growth.Add(c.PeakHwm - c.IdleRss);
            Line($"  run {r + 1} endless line: 1 GiB received and abandoned in {Stats.F(c.Seconds)} s, peak RSS growth {Proc.Mb(c.PeakHwm - c.IdleRss)} MB");
        }

        double g = Stats.Median(growth);
        Line($"1 GiB endless line over TLS (MaxMessageSize 1 GiB, abandoned, not stored): peak RSS growth {Proc.Mb((long)g)} MB = {Stats.F(g / limit, "0.0000")}x the line; target < 64 MiB: {(g < 64 * 1048576.0 ? "MET" : "MISSED")}");
        _trash.Add(dir);
    }

    public async Task ConcurrentAsync(int runs)
    {
        const long budget = 64L * 1024 * 1024;
        Dovecot.ClearMailbox(BenchServers.Alice);
        Dovecot.ClearMailbox(BenchServers.Bob);
        Dovecot.AddMessage(BenchServers.Alice, Corpus.Big(20 * 1024 * 1024, 20), "big-20mb");
        Dovecot.AddMessage(BenchServers.Bob, Corpus.Message(4096, 1, -1), "warmup");
        var growth = new List<double>();
        for (int r = 0; r < runs; r++)
        {
            TimedRun run = await ChildAsync("smartpop", "oauth", BenchServers.Alice, 8, budget);
            ChildResult c = Check(run, 8);
            growth.Add(c.PeakHwm - c.IdleRss);
            Line($"  run {r + 1}: idle RSS {Proc.Mb(c.IdleRss)} MB, peak {Proc.Mb(c.PeakHwm)} MB, growth {Proc.Mb(c.PeakHwm - c.IdleRss)} MB, budget peak in use {Proc.Mb(c.BudgetPeak)} MB, {c.Messages} delivered in {Stats.F(c.Seconds)} s");
        }

        double g = Stats.Median(growth);
        Line($"8 accounts x 20 MB at once, 64 MB budget: peak RSS growth over idle {Proc.Mb((long)g)} MB (median of {runs}); limit budget + 64 MB = 128 MB: {(g <= budget + (64L << 20) ? "MET" : "MISSED")}");
        Cleanup();
    }

    private async Task<RunFigures> DotnetAsync(string mode, string auth, string user, int count, long stored, string sink = "maildir")
    {
        TimedRun run = await ChildAsync(mode, auth, user, 1, 64L * 1024 * 1024, sink);
        ChildResult c = Check(run, count);
        return new RunFigures(c.Messages / c.Seconds, stored / 1048576.0 / c.Seconds, run.CpuSeconds, c.CpuSeconds, run.MaxRssBytes, c.PeakHwm - c.IdleRss, c.Seconds);
    }

    private async Task<TimedRun> ChildAsync(string mode, string auth, string user, int accounts, long budget, string sink = "maildir")
    {
        string dir = Infra.NewTempDirectory("ftg-bout");
        string jobFile = Path.Combine(dir, "job.json");
        var job = new ChildJob
        {
            Mode = mode,
            Host = Dovecot.Host,
            Port = Dovecot.Pop3sPort,
            CaPath = Dovecot.CaCertificatePath,
            User = user,
            Auth = auth,
            OutputDir = dir,
            Accounts = accounts,
            BudgetBytes = budget,
            Sink = sink,
            WarmupUser = BenchServers.Bob,
        };
        await File.WriteAllTextAsync(jobFile, JsonSerializer.Serialize(job, Json.Options));
        var env = new Dictionary<string, string>
        {
            ["FTG_BENCH_TOKEN"] = await TokenAsync(user),
            ["FTG_BENCH_WARMUP_TOKEN"] = await TokenAsync(BenchServers.Bob),
            ["FTG_BENCH_PASSWORD"] = user.Split('@')[0] + "-password",
            ["FTG_BENCH_WARMUP_PASSWORD"] = "bob-password",
        };
        try
        {
            return await TimedRun.RunSelfAsync(["child", jobFile], env, $"{mode}-{auth}-{sink}");
        }
        finally
        {
            _trash.Add(dir);
        }
    }

    internal async Task<RunFigures> FetchmailAsync(string user, int count, long stored, bool maildrop = false)
    {
        string dir = Infra.NewTempDirectory("ftg-fm");
        string rc = Path.Combine(dir, "fetchmailrc");
        string output = Path.Combine(dir, "out.bsmtp");
        string maildir = Path.Combine(dir, "Maildir");
        string maildropRc = Path.Combine(dir, "maildroprc");
        if (maildrop)
        {
            // The usual way fetchmail fills a Maildir: one maildrop process per message (it writes tmp/, fsyncs, renames).
            foreach (string sub in new[] { "tmp", "new", "cur" })
            {
                Directory.CreateDirectory(Path.Combine(maildir, sub));
            }

            await File.WriteAllTextAsync(maildropRc, $"to \"{maildir}/\"\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(maildropRc, UnixFileMode.UserRead | UnixFileMode.UserWrite); // maildrop refuses a readable filter file
            }
        }

        string delivery = maildrop ? $"mda \"/usr/bin/maildrop {maildropRc}\"" : $"bsmtp \"{output}\"";
        await File.WriteAllTextAsync(rc, $"""
            set no syslog
            set no bouncemail
            poll 127.0.0.1 service {Dovecot.Pop3sPort} protocol pop3 auth password timeout 120
              user "{user}" there with password "{user.Split('@')[0]}-password" is root here
              ssl sslcertck sslcertfile "{Dovecot.CaCertificatePath}" sslcommonname localhost
              keep fetchall no rewrite
              {delivery}

            """);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(rc, UnixFileMode.UserRead | UnixFileMode.UserWrite); // fetchmail refuses a readable rc file
        }
        try
        {
            TimedRun run = await TimedRun.RunAsync("fetchmail", ["-f", rc, "-N", "-s", "-i", Path.Combine(dir, "fetchids"), "--pidfile", Path.Combine(dir, "pid")], new Dictionary<string, string> { ["HOME"] = dir });
            int delivered = maildrop
                ? Directory.GetFiles(Path.Combine(maildir, "new")).Length
                : File.Exists(output) ? File.ReadLines(output).Count(l => l.StartsWith("MAIL FROM:", StringComparison.Ordinal)) : 0;
            if (run.ExitCode != 0 || delivered != count)
            {
                throw new InvalidOperationException($"fetchmail exit {run.ExitCode}, {delivered}/{count} messages: {run.StdErr}{run.StdOut}");
            }

            return new RunFigures(count / run.WallSeconds, stored / 1048576.0 / run.WallSeconds, run.CpuSeconds, 0, run.MaxRssBytes, 0, run.WallSeconds);
        }
        finally
        {
            _trash.Add(dir);
        }
    }

    private static ChildResult Check(TimedRun run, int expected)
    {
        ChildResult c = run.Result ?? throw new InvalidOperationException($"child printed no result (exit {run.ExitCode}): {run.StdErr}{run.StdOut}");
        if (c.Error is not null || c.Messages != expected)
        {
            throw new InvalidOperationException($"child failed: {c.Error} ({c.Messages}/{expected} messages) {run.StdErr}");
        }

        return c;
    }

    private async Task<string> TokenAsync(string user)
    {
        if (!_tokens.TryGetValue(user, out string? token))
        {
            token = (await servers.OAuth.GetUserTokensAsync(user, user.Split('@')[0] + "-password")).AccessToken;
            _tokens[user] = token;
        }

        return token;
    }

    // The mailbox is restored between runs: every run must fetch the same messages.
    private readonly Dictionary<string, string> _snapshots = [];

    internal void Snapshot(string user)
    {
        string snap = Infra.NewTempDirectory("ftg-snap");
        foreach (string file in Directory.GetFiles(Path.Combine(Dovecot.MaildirOf(user), "new")))
        {
            File.Copy(file, Path.Combine(snap, Path.GetFileName(file)));
        }

        _snapshots[user] = snap;
    }

    internal void Restore(string user, int count)
    {
        IReadOnlyList<string> present = Dovecot.ListMessages(user);
        if (present.Count == count && present.All(p => File.Exists(Path.Combine(_snapshots[user], p))))
        {
            return;
        }

        Line($"  (mailbox of {user} changed: {present.Count} messages; restoring {count})");
        Dovecot.ClearMailbox(user);
        foreach (string file in Directory.GetFiles(_snapshots[user]))
        {
            Dovecot.AddMessage(user, File.ReadAllBytes(file), Path.GetFileName(file));
        }
    }

    private static RunFigures Median(List<RunFigures> runs) => new(
        Stats.Median(runs.Select(r => r.MsgsPerSecond)),
        Stats.Median(runs.Select(r => r.MbPerSecond)),
        Stats.Median(runs.Select(r => r.ProcessCpu)),
        Stats.Median(runs.Select(r => r.PhaseCpu)),
        (long)Stats.Median(runs.Select(r => (double)r.MaxRss)),
        (long)Stats.Median(runs.Select(r => (double)r.Growth)),
        Stats.Median(runs.Select(r => r.Seconds)));

    private void Line(string text)
    {
        Console.WriteLine(text);
        report.WriteLine(text);
        report.Flush();
    }
}
