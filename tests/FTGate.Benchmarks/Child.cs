using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FTGate.SmartPop;
using MailKit.Net.Pop3;
using MailKit.Security;
using Microsoft.Extensions.Options;

namespace FTGate.Benchmarks;

/// <summary>What a child process is asked to do (written to a JSON file by the parent).</summary>
internal sealed class ChildJob
{
    /// <summary>smartpop | raw | raw-fsync | raw-discard (a sequential RETR loop that reads each message and keeps nothing).</summary>
    public string Mode { get; set; } = "smartpop";

    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; }

    public string CaPath { get; set; } = "";

    public string User { get; set; } = "";

    /// <summary>oauth (token in FTG_BENCH_TOKEN) | password (in FTG_BENCH_PASSWORD).</summary>
    public string Auth { get; set; } = "oauth";

    public string OutputDir { get; set; } = "";

    /// <summary>How many SmartPop accounts fetch the mailbox at once (each into its own Maildir).</summary>
    public int Accounts { get; set; } = 1;

    public long BudgetBytes { get; set; } = 64L * 1024 * 1024;

    public long MaxMessageSize { get; set; } = 60L * 1024 * 1024;

    /// <summary>SmartPop's sink: maildir (MaildirMessageSink, fsync per message) | files (plain files, no fsync, like the raw loop).</summary>
    public string Sink { get; set; } = "maildir";

    /// <summary>The fetch is expected to end with this one per-message failure code (the endless line: message_too_large).</summary>
    public string? ExpectFailure { get; set; }

    /// <summary>A small mailbox fetched first (same mode) so that code is loaded and JIT-compiled before "idle" is read.</summary>
    public string? WarmupUser { get; set; }
}

/// <summary>What a child reports (one line "RESULT {json}" on stdout).</summary>
internal sealed class ChildResult
{
    public int Messages { get; set; }

    public long Bytes { get; set; }

    public double Seconds { get; set; }

    public double CpuSeconds { get; set; }

    public long IdleRss { get; set; }

    public long PeakHwm { get; set; }

    public long BudgetPeak { get; set; }

    public string? Error { get; set; }
}

/// <summary>The child side: runs one fetch and reports figures of its own process only.</summary>
internal static class Child
{
    public static async Task<int> RunAsync(string jobFile)
    {
        ChildJob job = JsonSerializer.Deserialize<ChildJob>(await File.ReadAllTextAsync(jobFile), Json.Options)!;
        string secret = job.Auth == "oauth" ? Environment.GetEnvironmentVariable("FTG_BENCH_TOKEN") ?? "" : Environment.GetEnvironmentVariable("FTG_BENCH_PASSWORD") ?? "";
        var result = new ChildResult();
        try
        {
            if (job.WarmupUser is not null)
            {
                string warmSecret = job.Auth == "oauth" ? Environment.GetEnvironmentVariable("FTG_BENCH_WARMUP_TOKEN") ?? "" : Environment.GetEnvironmentVariable("FTG_BENCH_WARMUP_PASSWORD") ?? "";
                string warmDir = Path.Combine(job.OutputDir, "warmup");
                await FetchAsync(job, job.WarmupUser, warmSecret, warmDir, null);

                // The warm-up output stays until the parent removes the whole run directory after the last round: deleting
                // files here would make the measured fetch pay for ext4's "recently deleted inode" skip (see FetchBench).
                // Steady state, as in a long-running server: the warm-up mailbox is large enough for the hot paths to be
                // called hundreds of times, and this pause lets the runtime finish recompiling them (tiered JIT) in the
                // background before the clock starts. Process CPU from GNU time still includes all of it.
                await Task.Delay(TimeSpan.FromSeconds(1));
            }

            Proc.Settle();
            result.IdleRss = Proc.Status("VmRSS");
            TimeSpan cpu0 = Proc.Cpu();
            var clock = Stopwatch.StartNew();
            await FetchAsync(job, job.User, secret, Path.Combine(job.OutputDir, "out"), result);
            result.Seconds = clock.Elapsed.TotalSeconds;
            result.CpuSeconds = (Proc.Cpu() - cpu0).TotalSeconds;
            result.PeakHwm = Proc.Status("VmHWM");
        }
        catch (Exception ex)
        {
            result.Error = ex.GetType().Name + ": " + ex.Message;
        }

        Console.WriteLine("RESULT " + JsonSerializer.Serialize(result, Json.Options));
        return result.Error is null ? 0 : 1;
    }

    private static async Task FetchAsync(ChildJob job, string user, string secret, string outputDir, ChildResult? result)
    {
        Directory.CreateDirectory(outputDir);
        if (job.Mode == "smartpop")
        {
            await SmartPopAsync(job, user, secret, outputDir, result);
        }
        else
        {
            await RawAsync(job, user, secret, outputDir, fsync: job.Mode == "raw-fsync", discard: job.Mode == "raw-discard", result);
        }
    }

    private static async Task SmartPopAsync(ChildJob job, string user, string secret, string outputDir, ChildResult? result)
    {
        var provider = new StaticTokenProvider("bench", user, secret);
        var options = new SmartPopOptions { MemoryBudgetBytes = job.BudgetBytes };
        if (Environment.GetEnvironmentVariable("FTG_BENCH_PIPELINE_MESSAGE_MAX") is { Length: > 0 } messageMax)
        {
            options.PipelineMessageMaxBytes = long.Parse(messageMax, CultureInfo.InvariantCulture); // experiments by hand
        }

        if (Environment.GetEnvironmentVariable("FTG_BENCH_PIPELINE_BATCH_MAX") is { Length: > 0 } batchMax)
        {
            options.PipelineBatchMaxBytes = long.Parse(batchMax, CultureInfo.InvariantCulture);
        }

        var client = new SmartPopClient(provider, new InMemoryUidlStore(), Options.Create(options));
        IMessageSink sink = job.Sink == "null"
            ? new NullSink()
            : job.Sink == "files"
            ? new PlainFileSink(outputDir)
            : new MaildirMessageSink(new MaildirMessageSinkOptions { Directory = outputDir, FolderPerAccount = job.Accounts > 1 });
        FetchResult[] results = await Task.WhenAll(Enumerable.Range(0, job.Accounts).Select(i => client.FetchAsync(
            new SmartPopAccount
            {
                Name = job.Accounts > 1 ? "bench-" + i.ToString(CultureInfo.InvariantCulture) : "bench",
                Host = job.Host,
                Port = job.Port,
                Security = Pop3Security.SslOnConnect,
                UserName = user,
                AuthProvider = job.Auth == "oauth" ? "bench" : null,
                Password = job.Auth == "oauth" ? null : secret,
                TrustedRootCertificates = [System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(job.CaPath))],
                CheckCertificateRevocation = false,
                MaxMessageSize = job.MaxMessageSize,
                MaxMessagesPerPoll = 0,
                LeaveOnServer = true,
            },
            sink)));
        foreach (FetchResult r in results)
        {
            if (job.ExpectFailure is { } expected && outputDir.EndsWith("out", StringComparison.Ordinal))
            {
                if (r.Failures.Count != 1 || r.Failures[0].ErrorCode != expected)
                {
                    throw new InvalidOperationException($"expected one {expected} failure, got: {string.Join("; ", r.Failures.Select(f => f.ErrorCode))} {r.Error?.Message}");
                }
            }
            else if (!r.Completed || r.Failures.Count > 0)
            {
                throw new InvalidOperationException($"SmartPop fetch incomplete: {r.Error?.Message} ({r.Failures.Count} failures)");
            }
        }

        if (result is not null)
        {
            result.Messages = results.Sum(r => r.Delivered);
            result.Bytes = results.Sum(r => r.Bytes);
            result.BudgetPeak = client.Budget.PeakInUse;
        }
    }

    /// <summary>The simplest raw MailKit loop: connect, authenticate, RETR each message into a file; no UIDL bookkeeping.</summary>
    private static async Task RawAsync(ChildJob job, string user, string secret, string outputDir, bool fsync, bool discard, ChildResult? result)
    {
        using var client = new Pop3Client { ServerCertificateValidationCallback = TestCa.Trust(job.CaPath), CheckCertificateRevocation = false };
        await client.ConnectAsync(job.Host, job.Port, SecureSocketOptions.SslOnConnect);
        if (job.Auth == "oauth")
        {
            await client.AuthenticateAsync(new SaslMechanismOAuth2(user, secret));
        }
        else
        {
            await client.AuthenticateAsync(user, secret);
        }

        int count = client.Count;
        long bytes = 0;
        for (int i = 0; i < count; i++)
        {
            using Stream message = await client.GetStreamAsync(i);
            if (discard)
            {
                bytes += message.Length; // MailKit has read the whole message into memory: nothing more to do
                continue;
            }

            using var file = new FileStream(Path.Combine(outputDir, i.ToString(CultureInfo.InvariantCulture) + ".eml"), FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
            await message.CopyToAsync(file, 128 * 1024);
            if (fsync)
            {
                file.Flush(flushToDisk: true);
            }

            bytes += file.Length;
        }

        await client.DisconnectAsync(quit: true);
        if (result is not null)
        {
            result.Messages = count;
            result.Bytes = bytes;
        }
    }
}

/// <summary>Reads each message and keeps nothing (the endless-line benchmark: nothing may be stored, and no disk is involved).</summary>
internal sealed class NullSink : IMessageSink
{
    public Task DeliverAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default) =>
        message.CopyToAsync(Stream.Null, 128 * 1024, cancellationToken);
}

/// <summary>
/// Writes each message to a plain file exactly like the raw loop (no fsync, no line-end conversion, no duplicate check):
/// isolates SmartPop's own overhead from the Maildir sink's durability work.
/// </summary>
internal sealed class PlainFileSink(string directory) : IMessageSink
{
    private int _next;

    public async Task DeliverAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default)
    {
        string path = Path.Combine(directory, Interlocked.Increment(ref _next).ToString(CultureInfo.InvariantCulture) + ".eml");
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
        await message.CopyToAsync(file, 128 * 1024, cancellationToken);
    }
}

/// <summary>A process run under GNU time (user, sys, max RSS of the process itself).</summary>
internal sealed record TimedRun(int ExitCode, string StdOut, string StdErr, double WallSeconds, double UserSeconds, double SysSeconds, long MaxRssBytes)
{
    public double CpuSeconds => UserSeconds + SysSeconds;

    public ChildResult? Result
    {
        get
        {
            string? line = StdOut.Split('\n').LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
            return line is null ? null : JsonSerializer.Deserialize<ChildResult>(line[7..], Json.Options);
        }
    }

    public static async Task<TimedRun> RunAsync(string file, IEnumerable<string> args, IDictionary<string, string>? env = null, TimeSpan? timeout = null)
    {
        string timeFile = Path.GetTempFileName();
        var psi = new ProcessStartInfo("/usr/bin/time") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "-f", "%e %U %S %M", "-o", timeFile, file }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        if (env is not null)
        {
            foreach ((string k, string v) in env)
            {
                psi.Environment[k] = v;
            }
        }

        using var process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(15));
        await process.WaitForExitAsync(cts.Token);
        string[] t = (await File.ReadAllTextAsync(timeFile)).Trim().Split('\n').Last().Split(' ');
        File.Delete(timeFile);
        double P(int i) => double.Parse(t[i], CultureInfo.InvariantCulture);
        return new TimedRun(process.ExitCode, await stdout, await stderr, P(0), P(1), P(2), (long)P(3) * 1024);
    }

    /// <summary>Runs this benchmark executable with a sub-command.</summary>
    /// <remarks>
    /// With FTG_BENCH_TRACE_DIR set, each child runs under <c>dotnet-trace collect --profile dotnet-sampled-thread-time</c>
    /// and leaves a .nettrace there (for profiling only: the figures of such runs include the tracer). With FTG_BENCH_PERF_DIR
    /// set, each child runs under Linux <c>perf record -g</c> with the runtime's perf map switched on.
    /// </remarks>
    public static Task<TimedRun> RunSelfAsync(IEnumerable<string> args, IDictionary<string, string>? env = null, string? traceName = null)
    {
        string exe = Environment.ProcessPath!;
        string[] prefix = Path.GetFileNameWithoutExtension(exe) == "dotnet" ? [typeof(Child).Assembly.Location] : [];
        if (Environment.GetEnvironmentVariable("FTG_BENCH_TRACE_DIR") is { Length: > 0 } traceDir)
        {
            Directory.CreateDirectory(traceDir);
            string tool = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "dotnet-trace");
            string output = Path.Combine(traceDir, $"{traceName ?? "child"}-{DateTime.UtcNow:HHmmssfff}.nettrace");
            return RunAsync(tool, new[] { "collect", "--show-child-io", "--profile", "dotnet-common,dotnet-sampled-thread-time", "-o", output, "--", exe }.Concat(prefix).Concat(args), env);
        }

        if (Environment.GetEnvironmentVariable("FTG_BENCH_PERF_DIR") is { Length: > 0 } perfDir)
        {
            // Linux perf with the runtime's perf map, so JIT-compiled frames have names (profiling only, as above).
            Directory.CreateDirectory(perfDir);
            string output = Path.Combine(perfDir, $"{traceName ?? "child"}-{DateTime.UtcNow:HHmmssfff}.perf.data");
            var perfEnv = new Dictionary<string, string>(env ?? new Dictionary<string, string>()) { ["DOTNET_PerfMapEnabled"] = "1" };
            return RunAsync("perf", new[] { "record", "-F", "2999", "-g", "-o", output, "--", exe }.Concat(prefix).Concat(args), perfEnv);
        }

        return RunAsync(exe, prefix.Concat(args), env);
    }
}
