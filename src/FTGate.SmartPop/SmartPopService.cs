using System.Collections.Concurrent;
using FTGate.OAuth;
using FTGate.SmartPop.Internal;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FTGate.SmartPop;

/// <summary>Where a polled account stands.</summary>
public enum SmartPopAccountState
{
    /// <summary>Waiting for its next poll.</summary>
    Idle,

    /// <summary>A fetch is running.</summary>
    Polling,

    /// <summary>Failed transiently; retried after a back-off.</summary>
    BackingOff,

    /// <summary>Its provider needs re-authorization; polling resumes once someone has authorized again.</summary>
    Paused,

    /// <summary>Disabled in configuration.</summary>
    Disabled,
}

/// <summary>The poller's view of one account.</summary>
public sealed class SmartPopAccountStatus
{
    /// <summary>The account.</summary>
    public required string AccountName { get; init; }

    /// <summary>Where it stands.</summary>
    public SmartPopAccountState State { get; init; }

    /// <summary>The last fetch's result, if any.</summary>
    public FetchResult? LastResult { get; init; }

    /// <summary>The last failure's error code, if the last poll failed.</summary>
    public string? LastErrorCode { get; init; }

    /// <summary>The last failure's message and remedy, if the last poll failed.</summary>
    public string? LastError { get; init; }

    /// <summary>Failed polls in a row.</summary>
    public int ConsecutiveFailures { get; init; }

    /// <summary>When the next poll is due.</summary>
    public DateTimeOffset? NextPollAt { get; init; }
}

/// <summary>
/// The hosted poller (registered by <c>builder.AddSmartPop()</c>): collects every enabled account on its interval, with
/// at most <see cref="SmartPopOptions.MaxConcurrentFetches"/> fetches at once and
/// <see cref="SmartPopOptions.MaxConnectionsPerHost"/> per server host. An account whose provider needs
/// re-authorization is paused (and resumes once authorized again); transient failures back off exponentially up to
/// <see cref="SmartPopOptions.MaxBackoff"/>. Stopping lets running fetches end their current message cleanly and QUIT.
/// </summary>
public sealed class SmartPopService : IHostedService, IDisposable
{
    private readonly ISmartPopClient _client;
    private readonly ISmartPopAccounts _accounts;
    private readonly IMessageSink _sink;
    private readonly IAuthProviderRegistry _providers;
    private readonly SmartPopOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _global;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _hosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, SmartPopAccountStatus> _status = new(StringComparer.Ordinal);
    private readonly List<Task> _loops = [];
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
    public SmartPopService(ISmartPopClient client, ISmartPopAccounts accounts, IMessageSink sink, IAuthProviderRegistry providers, IOptions<SmartPopOptions> options, TimeProvider? timeProvider = null, ILogger<SmartPopService>? logger = null)
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
        _options = options.Value;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _global = new SemaphoreSlim(_options.MaxConcurrentFetches, _options.MaxConcurrentFetches);
    }

    /// <summary>The current state of every account.</summary>
    /// <returns>One status per configured account.</returns>
    public IReadOnlyList<SmartPopAccountStatus> GetStatus() =>
        _accounts.Names.Select(n => _status.TryGetValue(n, out SmartPopAccountStatus? s) ? s : new SmartPopAccountStatus { AccountName = n }).ToList();

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = new CancellationTokenSource();
        foreach (string name in _accounts.Names)
        {
            CancellationToken stop = _stopping.Token;
            _loops.Add(Task.Run(() => PollLoopAsync(name, stop), CancellationToken.None));
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping is null)
        {
            return;
        }

        Log.ServiceStopping(_logger, Volatile.Read(ref _running));
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task all = Task.WhenAll(_loops);
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
    }

    /// <summary>Releases the semaphores.</summary>
    public void Dispose()
    {
        _stopping?.Cancel();
        _stopping?.Dispose();
        _global.Dispose();
        foreach (SemaphoreSlim host in _hosts.Values)
        {
            host.Dispose();
        }
    }

    internal async Task PollLoopAsync(string name, CancellationToken stop)
    {
        int failures = 0;
        DateTimeOffset? pausedAt = null;
        FetchResult? last = null;
        while (!stop.IsCancellationRequested)
        {
            SmartPopAccount account = _accounts.Get(name);
            if (!account.Enabled)
            {
                Set(name, SmartPopAccountState.Disabled, last, null, null, 0, null);
                return;
            }

            TimeSpan delay = account.PollInterval;
            if (pausedAt is not null && !await IsAuthorizedAgainAsync(account, pausedAt.Value, stop).ConfigureAwait(false))
            {
                Set(name, SmartPopAccountState.Paused, last, FTGateErrorCodes.ReauthorizationRequired, "Paused until the provider is authorized again.", failures, _time.GetUtcNow() + delay);
            }
            else
            {
                if (pausedAt is not null)
                {
                    Log.AccountResumed(_logger, name);
                    pausedAt = null;
                }

                SemaphoreSlim host = _hosts.GetOrAdd(account.Host, _ => new SemaphoreSlim(_options.MaxConnectionsPerHost, _options.MaxConnectionsPerHost));
                try
                {
                    await _global.WaitAsync(stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                try
                {
                    await host.WaitAsync(stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    _global.Release();
                    return;
                }

                Interlocked.Increment(ref _running);
                try
                {
                    Set(name, SmartPopAccountState.Polling, last, null, null, failures, null);
                    last = await _client.FetchAsync(account, _sink, null, stop).ConfigureAwait(false);
                    if (last.Error is null)
                    {
                        failures = 0;
                        Set(name, SmartPopAccountState.Idle, last, null, null, 0, _time.GetUtcNow() + delay);
                    }
                    else
                    {
                        delay = Backoff(account, ++failures);
                        Set(name, SmartPopAccountState.BackingOff, last, last.Error.ErrorCode, last.Error.Message, failures, _time.GetUtcNow() + delay);
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (ReauthorizationRequiredException ex)
                {
                    pausedAt = _time.GetUtcNow();
                    Log.AccountPaused(_logger, name, ex.ProviderName, ex.Remedy);
                    SmartPopMetrics.Failures.Add(1, SmartPopMetrics.Account(name), SmartPopMetrics.Kind("reauthorization"));
                    Set(name, SmartPopAccountState.Paused, last, ex.ErrorCode, $"{ex.Message} {ex.Remedy}", failures, _time.GetUtcNow() + delay);
                }
                catch (Exception ex)
                {
                    string code = ex is FTGateException f ? f.ErrorCode : "unexpected";
                    TimeSpan backoff = Backoff(account, ++failures);
                    delay = ex is TransientAuthorizationException { RetryAfter: { } retryAfter } && retryAfter > backoff ? retryAfter : backoff;
                    Log.PollFailed(_logger, ex, name, code, delay);
                    Set(name, SmartPopAccountState.BackingOff, last, code, ex is FTGateException { Remedy: { } r } ? $"{ex.Message} {r}" : ex.Message, failures, _time.GetUtcNow() + delay);
                }
                finally
                {
                    Interlocked.Decrement(ref _running);
                    host.Release();
                    _global.Release();
                }
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

    private async Task<bool> IsAuthorizedAgainAsync(SmartPopAccount account, DateTimeOffset pausedAt, CancellationToken stop)
    {
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

    private void Set(string name, SmartPopAccountState state, FetchResult? last, string? code, string? error, int failures, DateTimeOffset? next) =>
        _status[name] = new SmartPopAccountStatus { AccountName = name, State = state, LastResult = last, LastErrorCode = code, LastError = error, ConsecutiveFailures = failures, NextPollAt = next };
}
