using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FTGate.OAuth;
using Microsoft.Extensions.DependencyInjection;

namespace FTGate.Benchmarks;

/// <summary>
/// A tiny local OAuth2 token endpoint (HttpListener): answers authorization_code and refresh_token grants and counts them.
/// authorization_code issues a token that expires in <see cref="InitialExpiresIn"/> seconds, so with the SDK's default
/// 5-minute refresh margin a freshly authorized user already needs a refresh ("expired").
/// </summary>
internal sealed class TokenEndpoint : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _next;

    public TokenEndpoint(int initialExpiresIn = 60)
    {
        InitialExpiresIn = initialExpiresIn;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = LoopAsync();
    }

    public int Port { get; }

    public int InitialExpiresIn { get; }

    public string TokenUrl => $"http://127.0.0.1:{Port}/token";

    public string AuthorizeUrl => $"http://127.0.0.1:{Port}/authorize";

    public ConcurrentDictionary<string, int> Requests { get; } = new(StringComparer.Ordinal);

    public int Count(string grantType) => Requests.GetValueOrDefault(grantType);

    public void Reset() => Requests.Clear();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or OperationCanceledException)
        {
        }

        _listener.Close();
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        string body;
        using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync();
        }

        var form = body.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => Uri.UnescapeDataString(p[0]), p => p.Length > 1 ? Uri.UnescapeDataString(p[1].Replace('+', ' ')) : "", StringComparer.Ordinal);
        string grant = form.GetValueOrDefault("grant_type") ?? "?";
        Requests.AddOrUpdate(grant, 1, (_, n) => n + 1);
        int id = Interlocked.Increment(ref _next);
        string json = grant switch
        {
            "authorization_code" => $$"""{"access_token":"at-{{id}}-{{Guid.NewGuid():N}}","token_type":"Bearer","expires_in":{{InitialExpiresIn}},"refresh_token":"rt-{{id}}-{{Guid.NewGuid():N}}","scope":"openid email offline_access"}""",
            "refresh_token" => $$"""{"access_token":"at-{{id}}-{{Guid.NewGuid():N}}","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-{{id}}-{{Guid.NewGuid():N}}","scope":"openid email offline_access"}""",
            _ => """{"error":"unsupported_grant_type"}""",
        };
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        context.Response.StatusCode = json.Contains("\"error\"", StringComparison.Ordinal) ? 400 : 200;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength64 = bytes.Length;
        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
    }

    /// <summary>
    /// A generic OAuth2 provider (public API, DI) against this endpoint, with <paramref name="users"/> authorized through
    /// Authorize Now (BeginAuthorizationAsync + CompleteAuthorizationAsync: one authorization_code request each).
    /// </summary>
    public async Task<(ServiceProvider Services, IAuthProvider Provider)> AuthorizedProviderAsync(IReadOnlyList<string> users)
    {
        var services = new ServiceCollection();
        services.AddFTGate()
            .UseInMemoryTokenStore()
            .AddOAuth2("bench", o =>
            {
                o.ClientId = "bench-client";
                o.TokenEndpoint = TokenUrl;
                o.AuthorizationEndpoint = AuthorizeUrl;
                o.UserName = users[0];
            });
        ServiceProvider provider = services.BuildServiceProvider();
        IAuthProvider auth = provider.GetRequiredService<IAuthProviderRegistry>().Get("bench");
        var redirect = new Uri("http://127.0.0.1/callback");
        foreach (string user in users)
        {
            AuthorizationChallenge challenge = await auth.BeginAuthorizationAsync(new AuthorizationRequest(redirect) { UserName = user });
            await auth.CompleteAuthorizationAsync(new AuthorizationCallback { Code = "code-" + user, State = challenge.State });
        }

        return (provider, auth);
    }
}

/// <summary>Token storm: many users with expired tokens, many concurrent callers per user.</summary>
internal static class TokenStorm
{
    public static async Task RunAsync(int users, int callersPerUser, int runs, TextWriter report)
    {
        void Line(string text)
        {
            Console.WriteLine(text);
            report.WriteLine(text);
            report.Flush();
        }

        Line($"token storm: {users} users authorized (access tokens inside the 5-minute refresh margin = due), {callersPerUser} concurrent GetAccessTokenAsync callers each, all {users * callersPerUser} started at once; generic OAuth2 provider (public API) against a local HttpListener token endpoint; {runs} runs");
        var p50s = new List<double>();
        var p99s = new List<double>();
        var walls = new List<double>();
        for (int r = 0; r < runs; r++)
        {
            await using var endpoint = new TokenEndpoint();
            var names = Enumerable.Range(0, users).Select(i => $"user{i:0000}@example.test").ToList();
            (ServiceProvider services, IAuthProvider provider) = await endpoint.AuthorizedProviderAsync(names);
            await using (services)
            {
                int authorized = endpoint.Count("authorization_code");
                endpoint.Reset();
                var latencies = new double[users * callersPerUser];
                using var start = new ManualResetEventSlim(false);
                var clock = Stopwatch.StartNew();
                var tasks = new Task[latencies.Length];
                for (int i = 0; i < latencies.Length; i++)
                {
                    int n = i;
                    string user = names[i / callersPerUser];
                    tasks[i] = Task.Run(async () =>
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        AccessToken token = await provider.GetAccessTokenAsync(user);
                        latencies[n] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                        if (token.ExpiresOn < DateTimeOffset.UtcNow.AddMinutes(30))
                        {
                            throw new InvalidOperationException("a caller got the expired token");
                        }
                    });
                }

                await Task.WhenAll(tasks);
                double wall = clock.Elapsed.TotalSeconds;
                int refreshes = endpoint.Count("refresh_token");
                Array.Sort(latencies);
                p50s.Add(Stats.Percentile(latencies, 50));
                p99s.Add(Stats.Percentile(latencies, 99));
                walls.Add(wall);
                Line($"  run {r + 1}: authorization_code requests {authorized}; storm token requests {refreshes} (refresh_token; other grants {endpoint.Requests.Where(kv => kv.Key != "refresh_token").Sum(kv => kv.Value)}) — must equal {users}: {(refreshes == users ? "OK" : "WRONG")}; "
                    + $"latency p50 {Stats.F(p50s[^1], "0.0")} ms, p99 {Stats.F(p99s[^1], "0.0")} ms, max {Stats.F(latencies[^1], "0.0")} ms; all done in {Stats.F(wall)} s");
                if (refreshes != users)
                {
                    throw new InvalidOperationException($"token storm: {refreshes} token requests for {users} users");
                }

                // Afterwards every call is a cache hit: count the allocation of one hit here too (BenchmarkDotNet measures it properly).
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 1000; i++)
                {
                    _ = provider.GetAccessTokenAsync(names[i % users]).GetAwaiter().GetResult();
                }

                Line($"  cached hit after the storm: {(GC.GetAllocatedBytesForCurrentThread() - before) / 1000} bytes allocated per call");
            }
        }

        Line($"token storm: exactly one token request per user in every run; latency p50 {Stats.F(Stats.Median(p50s), "0.0")} ms, p99 {Stats.F(Stats.Median(p99s), "0.0")} ms (median of {runs} runs), wall {Stats.F(Stats.Median(walls))} s for {users * callersPerUser} calls");
    }
}
