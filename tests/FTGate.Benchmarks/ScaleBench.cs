using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using FTGate.OAuth;
using FTGate.SmartPop;
using FTGate.Tests.Infrastructure;
using MailKit.Net.Pop3;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FTGate.Benchmarks;

/// <summary>Distance (delaying proxy) and scheduler (500 accounts through the hosted service).</summary>
internal sealed class ScaleBench(BenchServers servers, TextWriter report)
{
    private DovecotServer Dovecot => servers.Dovecot;

    public async Task DistanceAsync(int count, int delayMs, int runs, int seed)
    {
        Dovecot.ClearMailbox(BenchServers.Bob);
        List<int> sizes = Corpus.Sizes(count, seed);
        long stored = 0;
        for (int i = 0; i < count; i++)
        {
            byte[] message = Corpus.Message(sizes[i], seed, i);
            stored += message.Length;
            Dovecot.AddMessage(BenchServers.Bob, message, $"dist-{seed}-{i:00000}");
        }

        string token = (await servers.OAuth.GetUserTokensAsync(BenchServers.Bob, "bob-password")).AccessToken;
        Line($"distance: {count} messages ({Proc.Mb(stored)} MB) in {BenchServers.Bob}, delaying proxy +{delayMs} ms each way (RTT +{2 * delayMs} ms), POP3S + XOAUTH2, in-process, {runs} runs");
        await using var proxy = new DelayProxy(new IPEndPoint(IPAddress.Loopback, Dovecot.Pop3sPort), TimeSpan.FromMilliseconds(delayMs));
        var results = new Dictionary<string, List<double>> { ["smartpop"] = [], ["raw one-RETR-at-a-time"] = [], ["smartpop (no proxy)"] = [], ["raw (no proxy)"] = [] };
        await SmartPopOnceAsync(proxy.Port, token, count); // warm-up: JIT, TLS, page cache
        for (int r = 0; r < runs; r++)
        {
            results["smartpop"].Add(count / await SmartPopOnceAsync(proxy.Port, token, count));
            results["raw one-RETR-at-a-time"].Add(count / await RawOnceAsync(proxy.Port, token, count));
            results["smartpop (no proxy)"].Add(count / await SmartPopOnceAsync(Dovecot.Pop3sPort, token, count));
            results["raw (no proxy)"].Add(count / await RawOnceAsync(Dovecot.Pop3sPort, token, count));
            Line("  run " + (r + 1) + ": " + string.Join(", ", results.Select(kv => $"{kv.Key} {Stats.F(kv.Value[^1], "0.0")} msg/s")));
        }

        double sp = Stats.Median(results["smartpop"]);
        double raw = Stats.Median(results["raw one-RETR-at-a-time"]);
        Line($"distance +{delayMs} ms each way: SmartPop {Stats.F(sp, "0.0")} msg/s, raw one-at-a-time {Stats.F(raw, "0.0")} msg/s, ratio {Stats.F(sp / raw, "0.0")}x (target >= 5x: {(sp / raw >= 5 ? "MET" : "MISSED")}); "
            + $"without the proxy: SmartPop {Stats.F(Stats.Median(results["smartpop (no proxy)"]), "0")} msg/s, raw {Stats.F(Stats.Median(results["raw (no proxy)"]), "0")} msg/s");
        Dovecot.ClearMailbox(BenchServers.Bob);
    }

    private async Task<double> SmartPopOnceAsync(int port, string token, int expected)
    {
        var provider = new StaticTokenProvider("bench", BenchServers.Bob, token);
        var client = new SmartPopClient(provider, new InMemoryUidlStore(), Options.Create(new SmartPopOptions()));
        string dir = Infra.NewTempDirectory("ftg-dist");
        try
        {
            var clock = Stopwatch.StartNew();
            FetchResult result = await client.FetchAsync(Account("dist", BenchServers.Bob, port, provider: "bench"), new MaildirMessageSink(dir));
            double seconds = clock.Elapsed.TotalSeconds;
            if (!result.Completed || result.Delivered != expected)
            {
                throw new InvalidOperationException($"SmartPop delivered {result.Delivered}/{expected}: {result.Error?.Message}");
            }

            return seconds;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A client that waits for each RETR before sending the next (MailKit GetStreamAsync in a loop).</summary>
    private async Task<double> RawOnceAsync(int port, string token, int expected)
    {
        string dir = Infra.NewTempDirectory("ftg-dist");
        try
        {
            var clock = Stopwatch.StartNew();
            using var client = new Pop3Client { ServerCertificateValidationCallback = Dovecot.TrustTestCa(), CheckCertificateRevocation = false };
            await client.ConnectAsync(Dovecot.Host, port, SecureSocketOptions.SslOnConnect);
            await client.AuthenticateAsync(new SaslMechanismOAuth2(BenchServers.Bob, token));
            for (int i = 0; i < client.Count; i++)
            {
                using Stream message = await client.GetStreamAsync(i);
                using FileStream file = File.Create(Path.Combine(dir, i.ToString(CultureInfo.InvariantCulture)));
                await message.CopyToAsync(file);
            }

            int count = client.Count;
            await client.DisconnectAsync(true);
            double seconds = clock.Elapsed.TotalSeconds;
            return count == expected ? seconds : throw new InvalidOperationException($"raw fetched {count}/{expected}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    public async Task SchedulerAsync(int accounts, int messagesEach, int[] concurrencies, int runs, int delayMs = 0)
    {
        // With a delay, every connection goes through the delaying proxy: the distance real servers are at.
        await using DelayProxy? proxy = delayMs > 0 ? new DelayProxy(new IPEndPoint(IPAddress.Loopback, Dovecot.Pop3sPort), TimeSpan.FromMilliseconds(delayMs)) : null;
        int port = proxy?.Port ?? Dovecot.Pop3sPort;
        for (int i = 0; i < accounts; i++)
        {
            string user = BenchServers.SchedulerUser(i);
            Dovecot.ClearMailbox(user);
            for (int m = 0; m < messagesEach; m++)
            {
                Dovecot.AddMessage(user, Corpus.Message(3000 + (m * 1500), 7, (i * 10) + m), $"s-{i}-{m}");
            }
        }

        Line($"scheduler: {accounts} password accounts (separate mailboxes, {messagesEach} messages of 3-6 KB each), POP3S, one poll each; {runs} runs"
            + (delayMs > 0 ? $"; through the delaying proxy, +{delayMs} ms each way" : "; loopback, no added latency"));
        var sequential = new List<double>();
        var concurrent = concurrencies.ToDictionary(c => c, _ => new List<double>());
        await SequentialAsync(Math.Min(accounts, 20), port); // warm-up
        for (int r = 0; r < runs; r++)
        {
            sequential.Add(await SequentialAsync(accounts, port));
            foreach (int c in concurrencies)
            {
                concurrent[c].Add(await HostedAsync(accounts, c, port));
            }

            Line($"  run {r + 1}: sequential {Stats.F(sequential[^1])} s; " + string.Join("; ", concurrencies.Select(c => $"hosted service at {c}: {Stats.F(concurrent[c][^1])} s")));
        }

        double seq = Stats.Median(sequential);
        Line($"scheduler, {accounts} accounts{(delayMs > 0 ? $" at +{delayMs} ms each way" : "")}: {accounts} sequential fetches {Stats.F(seq)} s ({Stats.F(accounts / seq, "0")} accounts/s); "
            + string.Join("; ", concurrencies.Select(c => $"hosted service MaxConcurrentFetches = MaxConnectionsPerHost = {c}: {Stats.F(Stats.Median(concurrent[c]))} s, speed-up {Stats.F(seq / Stats.Median(concurrent[c]), "0.0")}x")));
    }

    private async Task<double> SequentialAsync(int accounts, int port)
    {
        var client = new SmartPopClient(new StaticTokenProvider("none", "", "x"), new InMemoryUidlStore(), Options.Create(new SmartPopOptions()));
        string dir = Infra.NewTempDirectory("ftg-sch");
        var sink = new MaildirMessageSink(new MaildirMessageSinkOptions { Directory = dir, FolderPerAccount = true });
        try
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < accounts; i++)
            {
                FetchResult result = await client.FetchAsync(Account("acct" + i, BenchServers.SchedulerUser(i), port, password: BenchServers.SchedulerPassword(i)), sink);
                if (!result.Completed)
                {
                    throw new InvalidOperationException(result.Error?.Message);
                }
            }

            return clock.Elapsed.TotalSeconds;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The hosted poller (SmartPopService from DI) polls every account once; the time until all have a result.</summary>
    private async Task<double> HostedAsync(int accounts, int concurrency, int port)
    {
        string dir = Infra.NewTempDirectory("ftg-sch");
        var services = new ServiceCollection();
        IFTGateBuilder builder = services.AddFTGate()
            .AddSmartPop(o =>
            {
                o.MaxConcurrentFetches = concurrency;
                o.MaxConnectionsPerHost = concurrency; // all 500 mailboxes are on one host; the default (2) would cap it
            })
            .UseMaildirSink(dir, o => o.FolderPerAccount = true)
            .AddSmartPopPoller();
        X509Certificate2 ca = Dovecot.CaCertificate;
        for (int i = 0; i < accounts; i++)
        {
            int n = i;
            builder.AddSmartPop("acct" + n, a =>
            {
                a.Host = Dovecot.Host;
                a.Port = port;
                a.UserName = BenchServers.SchedulerUser(n);
                a.Password = BenchServers.SchedulerPassword(n);
                a.TrustedRootCertificates = [ca];
                a.CheckCertificateRevocation = false;
                a.PollInterval = TimeSpan.FromHours(1);
            });
        }

        await using ServiceProvider provider = services.BuildServiceProvider();
        SmartPopService service = provider.GetRequiredService<SmartPopService>();
        try
        {
            var clock = Stopwatch.StartNew();
            await service.StartAsync(CancellationToken.None);
            while (true)
            {
                IReadOnlyList<SmartPopAccountStatus> status = service.GetStatus();
                SmartPopAccountStatus? failed = status.FirstOrDefault(s => s.State == SmartPopAccountState.BackingOff);
                if (failed is not null)
                {
                    throw new InvalidOperationException($"{failed.AccountName}: {failed.LastError}");
                }

                if (status.All(s => s.LastResult is not null && s.State == SmartPopAccountState.Idle))
                {
                    break;
                }

                await Task.Delay(5);
            }

            double seconds = clock.Elapsed.TotalSeconds;
            await service.StopAsync(CancellationToken.None);
            return seconds;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private SmartPopAccount Account(string name, string user, int port, string? provider = null, string? password = null) => new()
    {
        Name = name,
        Host = Dovecot.Host,
        Port = port,
        Security = Pop3Security.SslOnConnect,
        UserName = user,
        AuthProvider = provider,
        Password = password,
        TrustedRootCertificates = [Dovecot.CaCertificate],
        CheckCertificateRevocation = false,
        MaxMessagesPerPoll = 0,
    };

    private void Line(string text)
    {
        Console.WriteLine(text);
        report.WriteLine(text);
        report.Flush();
    }
}
