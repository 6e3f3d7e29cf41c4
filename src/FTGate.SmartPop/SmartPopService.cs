using System.Collections.Concurrent;
using FTGate.OAuth;
using FTGate.SmartPop.Internal;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FTGate.SmartPop;

/// <summary>
/// The hosted poller (registered, opt-in, by <c>builder.AddSmartPopPoller()</c>): collects every enabled account on its
/// interval, with at most <see cref="SmartPopOptions.MaxConcurrentFetches"/> fetches at once and
/// <see cref="SmartPopOptions.MaxConnectionsPerHost"/> per server host. An account whose provider needs
/// re-authorization is paused (and resumes once authorized again); transient failures back off exponentially up to
/// <see cref="SmartPopOptions.MaxBackoff"/>. When an <see cref="IAccountLeases"/> is registered, an account is polled only
/// while this node holds its lease, and a lost lease stops the fetch. Stopping lets running fetches end their current
/// message cleanly and QUIT.
/// </summary>
/// <remarks>
/// The service holds nothing that needs disposing (the stop signal is released by <see cref="StopAsync"/>), so a container
/// that resolves it under several service types never disposes it twice.
/// </remarks>
public sealed class SmartPopService : IHostedService, ISmartPopPollerStatus
{
    private readonly ISmartPopClient _client;
    private readonly ISmartPopAccounts _accounts;
    private readonly IMessageSink _sink;
    private readonly IAuthProviderRegistry _providers;
    private readonly IAccountLeases? _leases;
    private readonly SmartPopOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _global;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _hosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, SmartPopAccountStatus> _status = new(StringComparer.Ordinal);
    private readonly object _lifecycle = new();
    private Task[] _loops = [];
    private CancellationTokenSource? _stopping;
    private int _running;

    /// <summary>Creates the service.</summary>
    /// <param name="client">The collector.</param>
    /// <param name="accounts">The configured accounts.</param>
    /// <param name="sink">Where messages go.</param>
    /// <param name="providers">The OAuth2 providers (to see when a paused account is authorized again).</param>
    /// <param name="options">Concurrency and back-off settings.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="leases">
    /// The farm's account leases; <see langword="null"/> (the default) when this process alone collects its accounts.
    /// </param>
    public SmartPopService(ISmartPopClient client, ISmartPopAccounts accounts, IMessageSink sink, IAuthProviderRegistry providers, IOptions<SmartPopOptions> options, TimeProvider? timeProvider = null, ILogger<SmartPopService>? logger = null, IAccountLeases? leases = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(accounts);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(providers);
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _accounts = accounts;
        _sink = sink;
        _providers = providers;
        _leases = leases;
        _options = options.Value;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _global = new SemaphoreSlim(_options.MaxConcurrentFetches, _options.MaxConcurrentFetches);
    }

    /// <inheritdoc/>
    public IReadOnlyList<SmartPopAccountStatus> GetStatus() =>
        _accounts.Names.Select(n => _status.TryGetValue(n, out SmartPopAccountStatus? s) ? s : new SmartPopAccountStatus { AccountName = n }).ToList();

    /// <summary>Starts one poll loop per configured account and returns at once.</summary>
    /// <param name="cancellationToken">Not used: starting does not wait for anything.</param>
    /// <returns>A completed task.</returns>
    /// <exception cref="InvalidOperationException">The service is already running.</exception>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_lifecycle)
        {
            if (_stopping is not null)
            {
                throw new InvalidOperationException("The SmartPop poller is already running; stop it before starting it again.");
            }

            var stopping = new CancellationTokenSource();
            CancellationToken stop = stopping.Token;
            _loops = _accounts.Names.Select(name => Task.Run(() => PollLoopAsync(name, stop), CancellationToken.None)).ToArray();
            _stopping = stopping;
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Asks every poll loop to stop and waits (at most <see cref="SmartPopOptions.ShutdownGracePeriod"/>) for running fetches
    /// to finish their current message and QUIT.
    /// </summary>
    /// <param name="cancellationToken">The host's shutdown deadline: stops the waiting, not the fetches' QUIT.</param>
    /// <returns>A task that completes when the loops have ended or the wait is over.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        CancellationTokenSource? stopping;
        Task[] loops;
        lock (_lifecycle)
        {
            stopping = _stopping;
            loops = _loops;
            _stopping = null;
            _loops = [];
        }

        if (stopping is null)
        {
            return;
        }

        Log.ServiceStopping(_logger, Volatile.Read(ref _running));
        await stopping.CancelAsync().ConfigureAwait(false);
        Task all = Task.WhenAll(loops);
        try
        {
            await all.WaitAsync(_options.ShutdownGracePeriod, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Grace period over: the loops have been asked to stop; the host ends the process.
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host stopped waiting.
        }

        if (all.IsCompleted)
        {
            // Nothing observes the token any more. A loop still running keeps its (cancelled) source until it ends.
            stopping.Dispose();
        }
    }

    internal async Task PollLoopAsync(string name, CancellationToken stop)
    {
        var state = new LoopState();
        while (!stop.IsCancellationRequested)
        {
            SmartPopAccount account = _accounts.Get(name);
            if (!account.Enabled)
            {
                Set(name, state, SmartPopAccountState.Disabled, null, null, null);
                return;
            }

            TimeSpan delay;
            try
            {
                delay = await PollOnceAsync(account, state, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await Task.Delay(delay, _time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Exponential back-off from the poll interval, capped by MaxBackoff, with ±10 % jitter.</summary>
    internal TimeSpan Backoff(SmartPopAccount account, int failures)
    {
        double factor = Math.Pow(2, Math.Min(failures, 16));
        double seconds = Math.Min(account.PollInterval.TotalSeconds * factor, _options.MaxBackoff.TotalSeconds);
        double jitter = 0.9 + (Random.Shared.NextDouble() * 0.2);
        return TimeSpan.FromSeconds(Math.Max(1, seconds * jitter));
    }

    /// <summary>One turn of an account's loop: resume check, slots, lease, fetch, status. Returns the wait before the next.</summary>
    private async Task<TimeSpan> PollOnceAsync(SmartPopAccount account, LoopState state, CancellationToken stop)
    {
        string name = account.Name;
        TimeSpan delay = account.PollInterval;
        if (state.PausedAt is not null)
        {
            if (!await IsAuthorizedAgainAsync(account, state.PausedAt.Value, stop).ConfigureAwait(false))
            {
                Set(name, state, SmartPopAccountState.Paused, FTGateErrorCodes.ReauthorizationRequired, "Paused until the provider is authorized again.", _time.GetUtcNow() + delay);
                return delay;
            }

            Log.AccountResumed(_logger, name);
            state.PausedAt = null;
        }

        SemaphoreSlim host = _hosts.GetOrAdd(account.Host, _ => new SemaphoreSlim(_options.MaxConnectionsPerHost, _options.MaxConnectionsPerHost));
        await _global.WaitAsync(stop).ConfigureAwait(false);
        try
        {
            await host.WaitAsync(stop).ConfigureAwait(false);
            try
            {
                return await PollWithLeaseAsync(account, state, stop).ConfigureAwait(false);
            }
            finally
            {
                host.Release();
            }
        }
        finally
        {
            _global.Release();
        }
    }

    private async Task<TimeSpan> PollWithLeaseAsync(SmartPopAccount account, LoopState state, CancellationToken stop)
    {
        string name = account.Name;
        if (_leases is null)
        {
            return await FetchAsync(account, state, stop, lost: CancellationToken.None).ConfigureAwait(false);
        }

        IAccountLease? lease;
        try
        {
            lease = await _leases.TryAcquireAsync(name, stop).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stop.IsCancellationRequested)
        {
            return Failed(account, state, ex);
        }

        if (lease is null)
        {
            DateTimeOffset next = _time.GetUtcNow() + account.PollInterval;
            Log.LeaseHeldElsewhere(_logger, name, next);
            Set(name, state, SmartPopAccountState.LeaseHeldElsewhere, null, null, next);
            return account.PollInterval;
        }

        try
        {
            return await FetchAsync(account, state, stop, lease.Lost).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                await lease.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A lease that cannot be released expires by itself; the next poll tries again.
                Log.PollFailed(_logger, ex, name, "lease_release_failed", account.PollInterval);
            }
        }
    }

    private async Task<TimeSpan> FetchAsync(SmartPopAccount account, LoopState state, CancellationToken stop, CancellationToken lost)
    {
        string name = account.Name;
        TimeSpan delay = account.PollInterval;
        using CancellationTokenSource? linked = lost.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(stop, lost) : null;
        CancellationToken fetchToken = linked?.Token ?? stop;
        Interlocked.Increment(ref _running);
        try
        {
            state.LastPollAt = _time.GetUtcNow();
            Set(name, state, SmartPopAccountState.Polling, null, null, null);
            FetchResult result = await _client.FetchAsync(account, _sink, null, fetchToken).ConfigureAwait(false);
            state.Last = result;
            if (lost.IsCancellationRequested && !stop.IsCancellationRequested)
            {
                return LeaseLost(account, state);
            }

            if (result.Error is null)
            {
                state.Failures = 0;
                Set(name, state, SmartPopAccountState.Idle, null, null, _time.GetUtcNow() + delay);
                return delay;
            }

            delay = Backoff(account, ++state.Failures);
            Set(name, state, SmartPopAccountState.BackingOff, result.Error.ErrorCode, result.Error.Message, _time.GetUtcNow() + delay);
            return delay;
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested && !stop.IsCancellationRequested)
        {
            return LeaseLost(account, state);
        }
        catch (ReauthorizationRequiredException ex)
        {
            state.PausedAt = _time.GetUtcNow();
            Log.AccountPaused(_logger, name, ex.ProviderName, ex.Remedy);
            SmartPopMetrics.Failures.Add(1, SmartPopMetrics.Account(name), SmartPopMetrics.Kind("reauthorization"));
            Set(name, state, SmartPopAccountState.Paused, ex.ErrorCode, $"{ex.Message} {ex.Remedy}", _time.GetUtcNow() + delay);
            return delay;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stop.IsCancellationRequested)
        {
            return Failed(account, state, ex);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    private TimeSpan LeaseLost(SmartPopAccount account, LoopState state)
    {
        Log.LeaseLost(_logger, account.Name);
        Set(account.Name, state, SmartPopAccountState.LeaseHeldElsewhere, null, null, _time.GetUtcNow() + account.PollInterval);
        return account.PollInterval;
    }

    private TimeSpan Failed(SmartPopAccount account, LoopState state, Exception ex)
    {
        string code = ex is FTGateException f ? f.ErrorCode : "unexpected";
        TimeSpan backoff = Backoff(account, ++state.Failures);
        TimeSpan delay = ex is TransientAuthorizationException { RetryAfter: { } retryAfter } && retryAfter > backoff ? retryAfter : backoff;
        Log.PollFailed(_logger, ex, account.Name, code, delay);
        Set(account.Name, state, SmartPopAccountState.BackingOff, code, ex is FTGateException { Remedy: { } r } ? $"{ex.Message} {r}" : ex.Message, _time.GetUtcNow() + delay);
        return delay;
    }

    private async Task<bool> IsAuthorizedAgainAsync(SmartPopAccount account, DateTimeOffset pausedAt, CancellationToken stop)
    {
        // UsesOAuth means AuthProvider is set.
        if (!account.UsesOAuth || !_providers.TryGet(account.AuthProvider!, out IAuthProvider? provider))
        {
            return true;
        }

        try
        {
            AuthorizationStatus status = await provider.GetStatusAsync(MailboxTokenRule.TokenUser(provider, account), stop).ConfigureAwait(false);
            return status.State == AuthorizationState.Authorized && (status.AuthorizedOn is null || status.AuthorizedOn > pausedAt);
        }
        catch (FTGateException)
        {
            return false;
        }
    }

    private void Set(string name, LoopState state, SmartPopAccountState accountState, string? code, string? error, DateTimeOffset? next) =>
        _status[name] = new SmartPopAccountStatus
        {
            AccountName = name,
            State = accountState,
            LastPollAt = state.LastPollAt,
            LastResult = state.Last,
            LastErrorCode = code,
            LastError = error,
            ConsecutiveFailures = state.Failures,
            NextPollAt = next,
        };

    /// <summary>What one account's loop carries from one poll to the next.</summary>
    private sealed class LoopState
    {
        public int Failures { get; set; }

        public DateTimeOffset? PausedAt { get; set; }

        public DateTimeOffset? LastPollAt { get; set; }

        public FetchResult? Last { get; set; }
    }
}
