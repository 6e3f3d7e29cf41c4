using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Running;
using FTGate.Benchmarks;

// dotnet run -c Release --project tests/FTGate.Benchmarks -- <command> [options]   (see docs/performance.md)
string command = args.Length > 0 ? args[0] : "help";
string[] rest = args.Skip(1).ToArray();

int Opt(string name, int fallback)
{
    int i = Array.IndexOf(rest, "--" + name);
    return i >= 0 && i + 1 < rest.Length ? int.Parse(rest[i + 1], CultureInfo.InvariantCulture) : fallback;
}

switch (command)
{
    case "child":
        return await Child.RunAsync(rest[0]);
    case "farm": return await FarmBench.RunAsync(rest); // Redis farm: store get, cached token, 3-node refresh storm, lease hand-over (docs/farm.md)
    case "micro":
        BenchmarkSwitcher.FromAssembly(typeof(Child).Assembly).Run(rest, MicroConfig.Create());
        return 0;
    case "throughput" or "fetch" or "large" or "memory" or "concurrent" or "distance" or "scheduler" or "tokens" or "macro":
        break;
    default:
        Console.WriteLine("""
            FTGate benchmarks (issue 8). Commands:
              micro [BenchmarkDotNet args, e.g. --filter '*']   token hit, XOAUTH2 initial response, 100k UIDL diff, FileTokenStore
              fetch [--messages 2000] [--runs 3] [--seed 42]     SmartPop vs raw MailKit vs fetchmail on a seeded corpus (child processes)
                    [--only name,name]                           only these contenders (names as printed; no ratios)
                    [--corpus default|attachments|small]         the corpus: 2 % 1 MiB (default), or throughput's (5 % 1-1.5 MB; small)
              throughput [--messages 2000] [--runs 3] [--seed 42]  whole `ftgate fetch` process (published JIT and ReadyToRun) vs a raw
                    [--small] [--cli DIR]                       RETR loop vs fetchmail; 5 % 1-1.5 MB attachments (--small: 2-14 KB only)
              large [--runs 3]                                   one 50 MB message: peak RSS over idle (child process)
              memory [--runs 1]                                  1, 10, 50 MB messages and a 1 GiB endless line over TLS: peak RSS growth
              concurrent [--runs 3]                              8 accounts x 20 MB at once under a 64 MB budget (child process)
              distance [--messages 500] [--delay 10] [--runs 3]  SmartPop vs one-RETR-at-a-time through a delaying proxy
              scheduler [--accounts 500] [--runs 3] [--delay 0]  hosted service at concurrency 8 and 32 vs sequential (--delay: via the proxy)
              tokens [--users 1000] [--callers 10] [--runs 3]    token storm against a local token endpoint
              macro                                              all of the above except micro
            Figures are also appended to artifacts/benchmarks/<command>-<time>.txt.
            """);
        return command == "help" ? 0 : 2;
}

string reportDir = Path.Combine(FTGate.Tests.Infrastructure.Infra.RepositoryRoot, "artifacts", "benchmarks");
Directory.CreateDirectory(reportDir);
string reportPath = Path.Combine(reportDir, $"{command}-{DateTime.UtcNow:yyyyMMdd-HHmmss}.txt");
await using var report = new StreamWriter(reportPath);
void Header()
{
    string cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
    string mem = File.ReadLines("/proc/meminfo").First().Split(':', 2)[1].Trim();
    string load = File.ReadAllText("/proc/loadavg").Trim();
    string text = $"# {command} {string.Join(' ', rest)} at {DateTime.UtcNow:u}; nproc {Environment.ProcessorCount}; CPU {cpu}; MemTotal {mem}; loadavg {load}; .NET {Environment.Version}";
    Console.WriteLine(text);
    report.WriteLine(text);
}

Header();
var clock = Stopwatch.StartNew();
if (command == "tokens")
{
    await TokenStorm.RunAsync(Opt("users", 1000), Opt("callers", 10), Opt("runs", 3), report);
}
else
{
    await using BenchServers servers = await BenchServers.StartAsync();
    var fetch = new FetchBench(servers, report);
    var scale = new ScaleBench(servers, report);
    bool all = command == "macro";
    if (all || command == "fetch")
    {
        int onlyAt = Array.IndexOf(rest, "--only");
        HashSet<string>? only = onlyAt >= 0 && onlyAt + 1 < rest.Length ? [.. rest[onlyAt + 1].Split(',')] : null;
        int corpusAt = Array.IndexOf(rest, "--corpus");
        await fetch.CorpusAsync(Opt("messages", 2000), Opt("runs", 3), Opt("seed", 42), only, corpusAt >= 0 ? rest[corpusAt + 1] : "default");
    }

    if (command == "throughput")
    {
        int cliAt = Array.IndexOf(rest, "--cli");
        await new ThroughputBench(servers, fetch, report).RunAsync(Opt("messages", 2000), Opt("runs", 3), Opt("seed", 42), rest.Contains("--small"), cliAt >= 0 ? rest[cliAt + 1] : null);
    }

    if (all || command == "large")
    {
        await fetch.LargeAsync(Opt("runs", 3));
    }

    if (all || command == "memory")
    {
        await fetch.MemoryAsync(Opt("runs", 1), rest.Contains("--endless-only"));
    }

    if (all || command == "concurrent")
    {
        await fetch.ConcurrentAsync(Opt("runs", 3));
    }

    if (all || command == "distance")
    {
        await scale.DistanceAsync(Opt("messages", 500), Opt("delay", 10), Opt("runs", 3), Opt("seed", 42));
    }

    if (all || command == "scheduler")
    {
        await scale.SchedulerAsync(Opt("accounts", 500), 3, [8, 32], Opt("runs", 3), Opt("delay", 0));
    }

    if (all)
    {
        await TokenStorm.RunAsync(1000, 10, 3, report);
    }
}

string done = $"# done in {clock.Elapsed.TotalSeconds:0} s; loadavg {File.ReadAllText("/proc/loadavg").Trim()}; report {reportPath}";
Console.WriteLine(done);
report.WriteLine(done);
return 0;
