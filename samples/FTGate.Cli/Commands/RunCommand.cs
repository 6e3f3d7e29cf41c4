using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using FTGate.OAuth;
using FTGate.Redis;
using FTGate.SmartPop;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace FTGate.Cli.Commands;

/// <summary>
/// <c>ftgate run [--maildir DIR]</c>: the daemon mode. Polls every enabled account on its <c>PollInterval</c> until SIGINT or
/// SIGTERM, one status line per poll. With <c>FTGate:Redis</c> in the config file the process is a farm node: grants, seen
/// UIDLs and pending authorizations live in Redis, and an account is collected only while this node holds its lease.
/// </summary>
/// <remarks>
/// The rules are the hosted poller's (SmartPopService): one loop per account, exponential back-off on failures capped by
/// <c>SmartPop:MaxBackoff</c> (30 s for Redis outages), accounts whose provider needs re-authorization wait for it, and a stop
/// lets the message in flight finish and sends QUIT so deletions commit. In a farm the lease's <c>Lost</c> is linked into the
/// fetch's cancellation, so a node that lost its lease stops before delivering more.
/// </remarks>
internal static class RunCommand
{
    private static readonly TimeSpan s_maxRedisBackoff = TimeSpan.FromSeconds(30);

    public static Command Create(GlobalOptions globals, CliConsole console)
    {
        Option<string?> maildir = new("--maildir") { Description = "The Maildir to deliver into (default: Maildir beside the config file; created if missing).", HelpName = "DIR" };
        Command command = new("run", "Collect every enabled account on its poll interval until stopped (Ctrl+C or SIGTERM). With FTGate:Redis configured this process is a farm node.") { maildir };
        command.SetAction((parse, ct) =>
        {
            CliContext context = globals.Context(parse, console);
            return context.RunAsync(() => RunAsync(context, parse.GetValue(maildir), ct));
        });
        return command;
    }

    /// <summary>Called by <see cref="CliHost"/>: makes every command of this config a farm node when it has an <c>FTGate:Redis</c> section.</summary>
    internal static void UseRedisWhenConfigured(IServiceCollection services, IConfiguration configuration, CliConfig config)
    {
        IConfigurationSection redis = configuration.GetSection("FTGate:Redis");
        if (!redis.Exists())
        {
            return;
        }

        // After the file stores are registered: UseRedis replaces them. AddFTGate() without configuration only returns a builder.
        IFTGateBuilder builder = services.AddFTGate().UseRedis(redis);
        // Relative key files are relative to the config file, like the token store folder; without one the farm uses the
        // file token store's key file (ftgate.tokens.key), which every node must then share.
        builder.Services.PostConfigure<RedisOptions>(o =>
        {
            if (o.EncryptionKey is null)
            {
                o.EncryptionKeyFile = config.ResolvePath(string.IsNullOrWhiteSpace(o.EncryptionKeyFile) ? config.TokenDirectory + ".key" : o.EncryptionKeyFile);
            }
        });
    }

    internal static async Task<int> RunAsync(CliContext context, string? maildir, CancellationToken cancellationToken)
    {
        CliConfig config = CliConfig.LoadExisting(context.ConfigPath);
        using IHost host = await CliHost.BuildAsync(config, context, cancellationToken);
        host.Services.ValidateFTGateConfiguration();

        ISmartPopAccounts accounts = host.Services.GetRequiredService<ISmartPopAccounts>();
        var node = new Node(
            context,
            host.Services.GetRequiredService<ISmartPopClient>(),
            accounts,
            new StopAfterBatchSink(new MaildirMessageSink(Path.GetFullPath(maildir ?? config.ResolvePath("Maildir")))),
            host.Services.GetService<IAccountLeases>(),
            host.Services.GetRequiredService<IOptions<SmartPopOptions>>().Value,
            host.Services.GetRequiredService<TimeProvider>());

        // Accounts the CLI left out (password variable not set, settings changed since their secrets were bound) are named,
        // and the others run: one bad account does not stop the daemon.
        BlockedItems? blocked = host.Services.GetService<BlockedItems>();
        List<string> enabled = accounts.Names.Where(n => blocked?.Accounts.ContainsKey(n) != true && accounts.Get(n).Enabled).ToList();
        foreach ((string account, string reason) in blocked?.Accounts ?? [])
        {
            context.Console.Error.WriteLine($"warning: account '{account}' is not collected: {reason}");
        }

        if (enabled.Count == 0)
        {
            context.Console.Error.WriteLine("error: no enabled account to collect.");
            context.Console.Error.WriteLine(blocked is { Accounts.Count: > 0 }
                ? "fix: fix the accounts named above, then start again."
                : "fix: add one with 'ftgate account add NAME ...', or set Enabled to true.");
            return ExitCodes.UsageOrConfiguration;
        }

        string mode = host.Services.GetService<IOptions<RedisOptions>>() is { } redis && host.Services.GetService<IAccountLeases>() is not null
            ? $"farm node '{redis.Value.NodeName}' on Redis {string.Join(",", redis.Value.Configuration?.Split(',').Where(p => !p.Contains('=', StringComparison.Ordinal)) ?? [])} (prefix '{redis.Value.KeyPrefix}')"
            : "single node";
        // SIGINT (Ctrl+C) and SIGTERM (systemd, kill) stop gracefully: no new poll and no new message; the message in flight
        // (with pipelining, the batch already requested: at most PipelineBatchMaxBytes) finishes and QUIT commits its deletion.
        // SmartPop:ShutdownGracePeriod bounds the wait; after it, or at a second signal, the transfer is abandoned (that message
        // stays on the server, unseen, and is collected next time). FTGateCli leaves these signals to this command.
        TimeSpan grace = host.Services.GetRequiredService<IOptions<SmartPopOptions>>().Value.ShutdownGracePeriod;
        grace = grace < TimeSpan.Zero ? TimeSpan.Zero : grace; // a negative grace means: stop at once
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var abort = new CancellationTokenSource();
        node.Abort = abort.Token;
        using CancellationTokenRegistration graceTimer = stop.Token.Register(() => abort.CancelAfter(grace));
        void OnSignal(PosixSignalContext signal)
        {
            signal.Cancel = true;
            if (stop.IsCancellationRequested)
            {
                node.Status($"ftgate run: {signal.Signal} again: stopping now; a message still in transfer is collected next time.");
                abort.Cancel();
                return;
            }

            node.Status(string.Create(CultureInfo.InvariantCulture, $"ftgate run: {signal.Signal}: stopping after the message in flight (at most {grace.TotalSeconds:0} s, SmartPop:ShutdownGracePeriod); send it again to stop at once."));
            stop.Cancel();
        }

        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        node.Status($"ftgate run: collecting {enabled.Count} account(s) as {mode}; Ctrl+C or SIGTERM stops after the message in flight.");

        await Task.WhenAll(enabled.Select(name => Task.Run(() => node.PollLoopAsync(name, stop.Token), CancellationToken.None)));
        if (abort.IsCancellationRequested)
        {
            node.Status("ftgate run: the grace period ended before the message in flight did; it stays on the server and is collected next time.");
        }

        node.Status("ftgate run: stopped.");
        return ExitCodes.Success;
    }

    private sealed class Node(CliContext context, ISmartPopClient client, ISmartPopAccounts accounts, StopAfterBatchSink sink, IAccountLeases? leases, SmartPopOptions options, TimeProvider time)
    {
        private int _redisDown;

        /// <summary>Cancelled when the grace period after a stop is over (or at a second signal): abandons the transfer in flight.</summary>
        public CancellationToken Abort { get; set; }

        public void Status(string line)
        {
            lock (context.Out)
            {
                context.Out.WriteLine(line);
                context.Out.Flush();
            }
        }

        public async Task PollLoopAsync(string name, CancellationToken stop)
        {
            int failures = 0;
            while (!stop.IsCancellationRequested)
            {
                SmartPopAccount account = accounts.Get(name);
                TimeSpan delay = account.PollInterval;
                if (await PollOnceAsync(account, stop).ConfigureAwait(false) is { } failure)
                {
                    delay = Wait(account, ++failures, failure);
                    Line(name, $"error [{failure.Code}] {failure.Message.ReplaceLineEndings(" ")}{(failure.Remedy is null ? "" : " Fix: " + failure.Remedy)} Next try in {delay.TotalSeconds:0} s.");
                }
                else
                {
                    failures = 0;
                }

                try
                {
                    await Task.Delay(delay, time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        /// <summary>One poll; returns null when it succeeded or was skipped, else the failure.</summary>
        private async Task<Failure?> PollOnceAsync(SmartPopAccount account, CancellationToken stop)
        {
            string name = account.Name;
            IAccountLease? lease = null;
            try
            {
                if (leases is not null)
                {
                    lease = await leases.TryAcquireAsync(name, stop).ConfigureAwait(false);
                    RedisBack();
                    if (lease is null)
                    {
                        Line(name, "another node holds the lease; skipped.");
                        return null;
                    }
                }

                // The fetch is cancelled at once by a lost lease (fencing) or the end of the grace period; a stop cancels it only
                // between batches (StopAfterBatchSink), so the message in flight finishes and QUIT commits.
                using CancellationTokenSource fetch = lease is null
                    ? CancellationTokenSource.CreateLinkedTokenSource(Abort)
                    : CancellationTokenSource.CreateLinkedTokenSource(Abort, lease.Lost);
                FetchResult result;
                using (sink.Track(name, fetch))
                using (stop.Register(() => sink.StopRequested(name)))
                {
                    result = await client.FetchAsync(account, sink, null, fetch.Token).ConfigureAwait(false);
                }

                string summary = string.Create(
                    CultureInfo.InvariantCulture,
                    $"{result.Delivered} new, {result.Deleted} deleted, {result.SkippedTooLarge} too large, {result.Bytes} bytes in {result.Duration.TotalSeconds:0.0} s");
                if (result.Error is { } error)
                {
                    return Failed(error.ErrorCode, $"{summary}; then {error.Message}", error.Remedy);
                }

                RedisBack();
                Line(name, summary + (lease is null ? "." : $" (lease {lease.FencingToken})."));
                return null;
            }
            catch (OperationCanceledException) when (lease is { Lost.IsCancellationRequested: true } && !stop.IsCancellationRequested)
            {
                Line(name, "lease lost (not renewed in time or taken over); stopped before delivering more, another node continues.");
                return null;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                Line(name, "stopped.");
                return null;
            }
            catch (FTGateException ex)
            {
                return Failed(ex.ErrorCode, ex.Message, ex.Remedy);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A daemon keeps going: one account's unexpected failure is reported and retried, the others go on.
                return Failed("unexpected", $"{ex.GetType().Name}: {ex.Message}", "Run with --verbose for details; if it repeats, report it.");
            }
            finally
            {
                if (lease is not null)
                {
                    await lease.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        private Failure Failed(string code, string message, string? remedy)
        {
            bool redis = code == RedisErrorCodes.Unavailable;
            if (redis)
            {
                Interlocked.Exchange(ref _redisDown, 1);
            }

            return new Failure(code, message, remedy, code == FTGateErrorCodes.ReauthorizationRequired || code == FTGateErrorCodes.NotAuthorized, redis);
        }

        /// <summary>The poller's back-off: the poll interval doubled per failure, capped, ±10 % jitter; re-authorization waits one interval.</summary>
        private TimeSpan Wait(SmartPopAccount account, int failures, Failure failure)
        {
            if (failure.NeedsPerson)
            {
                return account.PollInterval;
            }

            TimeSpan cap = failure.Redis && options.MaxBackoff > s_maxRedisBackoff ? s_maxRedisBackoff : options.MaxBackoff;
            double seconds = Math.Min(account.PollInterval.TotalSeconds * Math.Pow(2, Math.Min(failures, 16)), cap.TotalSeconds);
            return TimeSpan.FromSeconds(Math.Max(1, seconds * (0.9 + (Random.Shared.NextDouble() * 0.2))));
        }

        private void RedisBack()
        {
            if (Interlocked.Exchange(ref _redisDown, 0) == 1)
            {
                Status($"{Now()} Redis is reachable again; collection resumes.");
            }
        }

        private void Line(string account, string text) => Status($"{Now()} {account}: {text}");

        private string Now() => time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

        private sealed record Failure(string Code, string Message, string? Remedy, bool NeedsPerson, bool Redis);
    }
}
