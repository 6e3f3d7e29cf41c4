using System.Diagnostics;
using System.Globalization;
using System.Text;
using FTGate.OAuth;
using FTGate.Redis;
using FTGate.SmartPop;
using FTGate.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FTGate.Benchmarks;

/// <summary>
/// Farm figures on a real local redis-server (tests/infra/start-redis.sh): the Redis token store's get, the cached token
/// path (must stay local and allocation-free: Redis sees no command), a refresh storm across three nodes, and the lease
/// hand-over after a node dies. <c>dotnet run -c Release --project tests/FTGate.Benchmarks -- farm [--users 1000]
/// [--callers 10] [--runs 3] [--lease 5]</c>.
/// </summary>
internal static class FarmBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        int Opt(string name, int fallback)
        {
            int i = Array.IndexOf(args, "--" + name);
            return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
        }

        string reportDir = Path.Combine(Infra.RepositoryRoot, "artifacts", "benchmarks");
        Directory.CreateDirectory(reportDir);
        await using var report = new StreamWriter(Path.Combine(reportDir, $"farm-{DateTime.UtcNow:yyyyMMdd-HHmmss}.txt"));
        void Line(string text)
        {
            Console.WriteLine(text);
            report.WriteLine(text);
            report.Flush();
        }

        Line($"# farm {string.Join(' ', args)} at {DateTime.UtcNow:u}; nproc {Environment.ProcessorCount}; loadavg {File.ReadAllText("/proc/loadavg").Trim()}; .NET {Environment.Version}; {await RedisVersionAsync()}");
        await using RedisServer redis = await RedisServer.StartNewAsync();
        string keyFile = Path.Combine(redis.Directory, "farm.key");
        await File.WriteAllBytesAsync(keyFile, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        await StoreGetAsync(redis, keyFile, Line);
        await CachedTokenAsync(redis, keyFile, Line);
        await StormAsync(redis, keyFile, Opt("users", 1000), Opt("callers", 10), Opt("runs", 3), Line);
        await HandoverAsync(redis, keyFile, TimeSpan.FromSeconds(Opt("lease", 5)), Opt("runs", 3), Line);
        await HandoverAsync(redis, keyFile, TimeSpan.FromSeconds(30), 1, Line);
        return 0;
    }

    private static async Task<string> RedisVersionAsync()
    {
        var psi = new ProcessStartInfo("redis-server", "--version") { RedirectStandardOutput = true };
        using Process p = Process.Start(psi)!;
        return (await p.StandardOutput.ReadToEndAsync()).Trim();
    }

    private static ServiceProvider Node(RedisServer redis, string keyFile, string prefix, TokenEndpoint? endpoint = null, TimeSpan? leaseTime = null, string? firstUser = null)
    {
        var services = new ServiceCollection();
        IFTGateBuilder builder = services.AddFTGate();
        if (endpoint is not null)
        {
            builder.AddOAuth2("bench", o =>
            {
                o.ClientId = "bench-client";
                o.TokenEndpoint = endpoint.TokenUrl;
                o.AuthorizationEndpoint = endpoint.AuthorizeUrl;
                o.UserName = firstUser;
            });
        }

        builder.AddSmartPop().UseRedis(o =>
        {
            o.Configuration = redis.Configuration;
            o.KeyPrefix = prefix;
            o.EncryptionKeyFile = keyFile;
            o.LeaseTime = leaseTime ?? TimeSpan.FromSeconds(30);
        });
        ServiceProvider provider = services.BuildServiceProvider();
        provider.ValidateFTGateConfiguration();
        return provider;
    }

    private static async Task StoreGetAsync(RedisServer redis, string keyFile, Action<string> line)
    {
        await using ServiceProvider node = Node(redis, keyFile, "bench-get:");
        ITokenStore store = node.GetRequiredService<ITokenStore>();
        byte[] grant = Encoding.UTF8.GetBytes(new string('g', 1500)); // a typical serialized grant (JSON with three tokens)
        await store.SetAsync("grant/bench/USER", grant, null);
        for (int i = 0; i < 2000; i++)
        {
            await store.GetAsync("grant/bench/USER");
        }

        const int n = 20_000;
        var latencies = new double[n];
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        long allocatedProcess = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < n; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await store.GetAsync("grant/bench/USER");
            latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }

        double wall = clock.Elapsed.TotalSeconds;
        long bytes = (GC.GetAllocatedBytesForCurrentThread() - allocated) / n;
        long bytesProcess = (GC.GetTotalAllocatedBytes(precise: true) - allocatedProcess) / n;
        Array.Sort(latencies);
        line($"redis token store get (1.5 KB grant: round trip + AES-GCM decrypt, one caller): p50 {Stats.F(Stats.Percentile(latencies, 50), "0")} µs, p99 {Stats.F(Stats.Percentile(latencies, 99), "0")} µs, {Stats.F(n / wall, "0")} gets/s, ~{bytes} B allocated per get on the calling thread, ~{bytesProcess} B per get in the whole process (the client's I/O threads included)");
    }

    private static async Task CachedTokenAsync(RedisServer redis, string keyFile, Action<string> line)
    {
        await using var endpoint = new TokenEndpoint(initialExpiresIn: 3600);
        await using ServiceProvider node = Node(redis, keyFile, "bench-cache:", endpoint, firstUser: "cached@example.test");
        IAuthProvider provider = node.GetRequiredService<IAuthProviderRegistry>().Get("bench");
        AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(new Uri("http://127.0.0.1/callback")));
        await provider.CompleteAuthorizationAsync(new AuthorizationCallback { Code = "code", State = challenge.State });
        for (int i = 0; i < 10_000; i++)
        {
            await provider.GetAccessTokenAsync("cached@example.test");
        }

        long commandsBefore = await CommandsProcessedAsync(redis);
        const int n = 1_000_000;
        long allocatedProcess = GC.GetTotalAllocatedBytes(precise: true);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < n; i++)
        {
            await provider.GetAccessTokenAsync("cached@example.test");
        }

        double ns = clock.Elapsed.TotalNanoseconds / n;
        long bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        long bytesProcess = GC.GetTotalAllocatedBytes(precise: true) - allocatedProcess;
        long commands = await CommandsProcessedAsync(redis) - commandsBefore - 1; // minus the INFO of the second reading
        line($"cached token on a Redis node (GetAccessTokenAsync hit, {n:N0} calls): {Stats.F(ns, "0")} ns/call, {bytes} B allocated in total on the calling thread ({bytesProcess} B in the whole process, timers and the client's heartbeat included), {commands} Redis commands during the loop (the store is read again only when the token is due)");
    }

    private static async Task<long> CommandsProcessedAsync(RedisServer redis)
    {
        string info = await redis.CommandAsync("INFO stats");
        string field = info.Split('\n').First(l => l.StartsWith("total_commands_processed:", StringComparison.Ordinal));
        return long.Parse(field.Split(':')[1].Trim(), CultureInfo.InvariantCulture);
    }

    private static async Task StormAsync(RedisServer redis, string keyFile, int users, int callers, int runs, Action<string> line)
    {
        line($"refresh storm: 3 nodes in this process, each its own ServiceProvider with UseRedis (own ConnectionMultiplexer, RedisTokenStore and RedisGrantLock) x {users} users (access tokens due) x {callers} concurrent callers per user per node, all {3 * users * callers} started at once; {runs} runs");
        for (int r = 0; r < runs; r++)
        {
            await using var endpoint = new TokenEndpoint();
            string prefix = $"bench-storm{r}:";
            var names = Enumerable.Range(0, users).Select(i => $"user{i:0000}@example.test").ToList();
            ServiceProvider[] nodes = [Node(redis, keyFile, prefix, endpoint, firstUser: names[0]), Node(redis, keyFile, prefix, endpoint, firstUser: names[0]), Node(redis, keyFile, prefix, endpoint, firstUser: names[0])];
            try
            {
                IAuthProvider[] providers = nodes.Select(n => n.GetRequiredService<IAuthProviderRegistry>().Get("bench")).ToArray();
                foreach (string user in names)
                {
                    AuthorizationChallenge challenge = await providers[0].BeginAuthorizationAsync(new AuthorizationRequest(new Uri("http://127.0.0.1/callback")) { UserName = user });
                    await providers[0].CompleteAuthorizationAsync(new AuthorizationCallback { Code = "code-" + user, State = challenge.State });
                }

                endpoint.Reset();

                // Through the providers' public API, as a host calls them: each provider takes its IGrantLock (the Redis lock
                // under UseRedis) around the refresh, reads the grant again and refreshes only when it is still due. The count is
                // taken at the token endpoint (grant_type=refresh_token requests that reached it).
                (double wall, double p50, double p99) = await RunCallersAsync(users * callers * 3, i => providers[i % 3].GetAccessTokenAsync(names[i / 3 / callers]));
                int refreshes = endpoint.Count("refresh_token");
                int perNode = nodes.Select(n => n.GetRequiredService<IGrantLock>()).Distinct().Count();
                line($"  run {r + 1} through the providers ({perNode} IGrantLock instances, {nodes.Select(n => n.GetRequiredService<IGrantLock>().GetType().Name).First()}): {refreshes} refresh requests at the token endpoint for {users} users ({(refreshes == users ? "OK: exactly one per user" : "WRONG")}); p50 {Stats.F(p50, "0.0")} ms, p99 {Stats.F(p99, "0.0")} ms, {Stats.F(wall)} s wall");
                if (refreshes != users)
                {
                    throw new InvalidOperationException($"refresh storm: {refreshes} refreshes at the token endpoint for {users} users through the providers; expected exactly {users}");
                }

                // Every caller got the refreshed token, and the store holds it: a fresh read on another node needs no refresh.
                endpoint.Reset();
                await Task.WhenAll(names.Select(n => providers[1].GetAccessTokenAsync(n)));
                if (endpoint.Count("refresh_token") != 0)
                {
                    throw new InvalidOperationException("refresh storm: a second read after the storm refreshed again");
                }
            }
            finally
            {
                foreach (ServiceProvider node in nodes)
                {
                    await node.DisposeAsync();
                }
            }
        }
    }

    private static async Task<(double Wall, double P50, double P99)> RunCallersAsync(int count, Func<int, Task> call)
    {
        var latencies = new double[count];
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, count).Select(i => Task.Run(async () =>
        {
            long t0 = Stopwatch.GetTimestamp();
            await call(i);
            latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        })));
        double wall = clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return (wall, Stats.Percentile(latencies, 50), Stats.Percentile(latencies, 99));
    }

    private static async Task HandoverAsync(RedisServer redis, string keyFile, TimeSpan leaseTime, int runs, Action<string> line)
    {
        var times = new List<double>();
        for (int r = 0; r < runs; r++)
        {
            string prefix = $"bench-lease{leaseTime.TotalSeconds}-{r}:";
            ServiceProvider dying = Node(redis, keyFile, prefix, leaseTime: leaseTime);
            await using ServiceProvider survivor = Node(redis, keyFile, prefix, leaseTime: leaseTime);
            IAccountLease held = (await dying.GetRequiredService<IAccountLeases>().TryAcquireAsync("alice"))!;
            // Hold it for a while (renewals run), then the node dies: its connection goes, nothing is released.
            await Task.Delay(leaseTime / 2);
            await dying.DisposeAsync();
            var clock = Stopwatch.StartNew();
            IAccountLeases leases = survivor.GetRequiredService<IAccountLeases>();
            IAccountLease? taken;
            while ((taken = await leases.TryAcquireAsync("alice")) is null)
            {
                await Task.Delay(10);
            }

            times.Add(clock.Elapsed.TotalSeconds);
            if (taken.FencingToken <= held.FencingToken)
            {
                throw new InvalidOperationException("the fencing token did not grow");
            }

            await taken.DisposeAsync();
        }

        line($"lease hand-over after a node dies (LeaseTime {leaseTime.TotalSeconds:0} s, renewed every {leaseTime.TotalSeconds / 3:0.#} s, the survivor polling every 10 ms): {string.Join(", ", times.Select(t => Stats.F(t, "0.00") + " s"))} (bounded by the lease time minus the age of the last renewal)");
    }
}
