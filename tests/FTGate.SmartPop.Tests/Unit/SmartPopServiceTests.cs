using System.Diagnostics.CodeAnalysis;
using FTGate.OAuth;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace FTGate.SmartPop.Tests.Unit;

/// <summary>The hosted poller: bounded concurrency, per-host limits, pause on re-authorization, back-off, graceful stop.</summary>
public sealed class SmartPopServiceTests
{
    private readonly Signal _changes = new();
    private readonly SignallingClock _time;
    private readonly Mock<IMessageSink> _sink = new(MockBehavior.Strict);

    public SmartPopServiceTests() => _time = new SignallingClock(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero), _changes);

    private static SmartPopAccount Account(string name, string host = "pop.example.test") =>
        new() { Name = name, Host = host, UserName = "alice@example.test", AuthProvider = "prov", PollInterval = TimeSpan.FromMinutes(5) };

    private static FetchResult Ok(string name) => new() { AccountName = name, Completed = true };

    private SmartPopService Service(ISmartPopClient client, IReadOnlyList<SmartPopAccount> accounts, IAuthProviderRegistry? registry = null, SmartPopOptions? options = null) =>
        new(client, new Accounts(accounts, _changes), _sink.Object, registry ?? Mock.Of<IAuthProviderRegistry>(), Options.Create(options ?? new SmartPopOptions()), _time);

    /// <summary>
    /// Waits for a state of the poller, re-checked on every signal: a poll loop's turn begins with reading its account and
    /// ends by arming its next timer, and the fake clients signal their calls. Nothing polls; 5 s bound a hang.
    /// </summary>
    private async Task WaitUntilAsync(Func<bool> condition, Func<string>? describe = null)
    {
        while (true)
        {
            Task changed = _changes.Next;
            if (condition())
            {
                return;
            }

            try
            {
                await changed.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
            }
            catch (TimeoutException)
            {
                Assert.Fail("condition not reached in 5 s " + describe?.Invoke());
            }
        }
    }

    [Theory]
    [InlineData(3, 100, 3)]
    [InlineData(8, 2, 2)]
    public async Task StartAsync_ManyAccounts_NeverExceedsGlobalOrPerHostLimit(int maxConcurrent, int perHost, int expectedPeak)
    {
        var gate = new TaskCompletionSource();
        int running = 0;
        int peak = 0;
        int started = 0;
        var client = new Mock<ISmartPopClient>(MockBehavior.Strict);
        client.Setup(c => c.FetchAsync(It.IsAny<SmartPopAccount>(), _sink.Object, null, It.IsAny<CancellationToken>()))
            .Returns(async (SmartPopAccount a, IMessageSink _, IProgress<FetchProgress>? _, CancellationToken _) =>
            {
                int now = Interlocked.Increment(ref running);
                InterlockedMax(ref peak, now);
                Interlocked.Increment(ref started);
                _changes.Notify();
                await gate.Task;
                Interlocked.Decrement(ref running);
                return Ok(a.Name);
            });
        SmartPopAccount[] accounts = Enumerable.Range(0, 10).Select(i => Account("a" + i)).ToArray();
        SmartPopService service = Service(client.Object, accounts, options: new SmartPopOptions { MaxConcurrentFetches = maxConcurrent, MaxConnectionsPerHost = perHost });

        await service.StartAsync(TestContext.Current.CancellationToken);
        await WaitUntilAsync(() => Volatile.Read(ref started) == expectedPeak);

        // Every loop has begun its turn (it reads its account, then waits for a slot or for the gate): none may fetch more.
        await WaitUntilAsync(() => _changes.AccountReads >= accounts.Length);
        Assert.Equal(expectedPeak, Volatile.Read(ref peak));
        Assert.Equal(expectedPeak, Volatile.Read(ref started));
        gate.SetResult();
        await WaitUntilAsync(() => Volatile.Read(ref started) == 10);
        await service.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(expectedPeak, peak);
        Assert.All(service.GetStatus(), s => Assert.Equal(SmartPopAccountState.Idle, s.State));
    }

    [Fact]
    public async Task PollLoop_ReauthorizationRequired_PausesUntilTheProviderIsAuthorizedAgain()
    {
        int fetches = 0;
        var client = new Mock<ISmartPopClient>(MockBehavior.Strict);
        client.Setup(c => c.FetchAsync(It.IsAny<SmartPopAccount>(), _sink.Object, null, It.IsAny<CancellationToken>()))
            .Returns(() => Notify(Interlocked.Increment(ref fetches)) == 1
                ? Task.FromException<FetchResult>(new ReauthorizationRequiredException(FTGateErrorCodes.ReauthorizationRequired, "Token has been expired or revoked.", "Run Authorize Now again.", "prov", "alice@example.test", "invalid_grant"))
                : Task.FromResult(Ok("a")));
        AuthorizationStatus status = new("prov", "alice@example.test", AuthorizationState.ReauthorizationRequired);
        var provider = new Mock<IAuthProvider>();
        provider.Setup(p => p.GetStatusAsync("alice@example.test", It.IsAny<CancellationToken>())).ReturnsAsync(() => status);
        var registry = new Mock<IAuthProviderRegistry>();
        IAuthProvider? found = provider.Object;
        registry.Setup(r => r.TryGet("prov", out found)).Returns(true);
        SmartPopService service = Service(client.Object, [Account("a")], registry.Object);

        await service.StartAsync(TestContext.Current.CancellationToken);
        await WaitUntilAsync(() => _time.TimersCreated >= 1); // the first turn is over: its next one is armed
        Assert.Equal(SmartPopAccountState.Paused, service.GetStatus()[0].State);
        Assert.Equal(FTGateErrorCodes.ReauthorizationRequired, service.GetStatus()[0].LastErrorCode);
        Assert.Contains("Run Authorize Now again.", service.GetStatus()[0].LastError, StringComparison.Ordinal);

        // Still not authorized at the next interval: no fetch.
        _time.Advance(TimeSpan.FromMinutes(5));
        await WaitUntilAsync(() => _time.TimersCreated >= 2); // the second turn checked the status and armed the third
        Assert.Equal(1, Volatile.Read(ref fetches));
        Assert.Equal(SmartPopAccountState.Paused, service.GetStatus()[0].State);

        // Someone authorizes again: the next interval fetches.
        status = new AuthorizationStatus("prov", "alice@example.test", AuthorizationState.Authorized) { AuthorizedOn = _time.GetUtcNow() };
        await WaitUntilAsync(() => { _time.Advance(TimeSpan.FromMinutes(5)); return Volatile.Read(ref fetches) >= 2; }, () => $"state {service.GetStatus()[0].State} {service.GetStatus()[0].LastError} fetches {fetches}");
        await WaitUntilAsync(() => service.GetStatus()[0].State == SmartPopAccountState.Idle);
        await service.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task PollLoop_TransientFailure_BacksOffLongerThanThePollIntervalAndHonoursRetryAfter()
    {
        var client = new Mock<ISmartPopClient>(MockBehavior.Strict);
        client.Setup(c => c.FetchAsync(It.IsAny<SmartPopAccount>(), _sink.Object, null, It.IsAny<CancellationToken>()))
            .ThrowsAsync(new TransientAuthorizationException("throttled", "prov", TimeSpan.FromHours(2)));
        SmartPopService service = Service(client.Object, [Account("a")]);

        await service.StartAsync(TestContext.Current.CancellationToken);
        await WaitUntilAsync(() => service.GetStatus()[0].State == SmartPopAccountState.BackingOff);
        SmartPopAccountStatus status = service.GetStatus()[0];
        await service.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(FTGateErrorCodes.ProviderUnavailable, status.LastErrorCode);
        Assert.Equal(1, status.ConsecutiveFailures);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromHours(2), status.NextPollAt);
    }

    [Fact]
    public void Backoff_GrowsExponentiallyAndIsCapped()
    {
        SmartPopService service = Service(Mock.Of<ISmartPopClient>(), [], options: new SmartPopOptions { MaxBackoff = TimeSpan.FromMinutes(30) });
        SmartPopAccount account = Account("a");

        TimeSpan first = service.Backoff(account, 1);
        TimeSpan second = service.Backoff(account, 2);
        TimeSpan capped = service.Backoff(account, 10);

        Assert.InRange(first.TotalMinutes, 9, 11);
        Assert.InRange(second.TotalMinutes, 18, 22);
        Assert.InRange(capped.TotalMinutes, 27, 33);
    }

    [Fact]
    public async Task StopAsync_DuringAFetch_CancelsItAndWaitsForItToFinish()
    {
        var entered = new TaskCompletionSource();
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool sawCancellation = false;
        bool finished = false;
        var client = new Mock<ISmartPopClient>(MockBehavior.Strict);
        client.Setup(c => c.FetchAsync(It.IsAny<SmartPopAccount>(), _sink.Object, null, It.IsAny<CancellationToken>()))
            .Returns(async (SmartPopAccount a, IMessageSink _, IProgress<FetchProgress>? _, CancellationToken ct) =>
            {
                entered.SetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                catch (OperationCanceledException)
                {
                    sawCancellation = true;
                    cancelled.SetResult();
                    await finish.Task; // finishing the current message and QUIT, until the test lets it end
                    finished = true;
                    throw;
                }

                return Ok(a.Name);
            });
        SmartPopService service = Service(client.Object, [Account("a")]);

        await service.StartAsync(TestContext.Current.CancellationToken);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Task stopping = service.StopAsync(TestContext.Current.CancellationToken);
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.False(stopping.IsCompleted); // StopAsync waits for the fetch to finish
        finish.SetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        Assert.True(sawCancellation);
        Assert.True(finished);
    }

    [Fact]
    public async Task PollLoop_DisabledAccount_IsNeverFetched()
    {
        var client = new Mock<ISmartPopClient>(MockBehavior.Strict);
        SmartPopAccount disabled = Account("off");
        disabled.Enabled = false;
        SmartPopService service = Service(client.Object, [disabled]);

        // The account's loop (what StartAsync runs for it) ends at once for a disabled account.
        await service.PollLoopAsync("off", TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        Assert.Equal(SmartPopAccountState.Disabled, service.GetStatus()[0].State);
        client.VerifyNoOtherCalls();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private int Notify(int value)
    {
        _changes.Notify();
        return value;
    }

    /// <summary>A signal completed by each change the test waits for (a new task after each).</summary>
    private sealed class Signal
    {
        private readonly object _gate = new();
        private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _accountReads;

        /// <summary>Completes at the next change; take it before checking the condition, so no change is missed.</summary>
        public Task Next
        {
            get
            {
                lock (_gate)
                {
                    return _next.Task;
                }
            }
        }

        /// <summary>How many times a poll loop has read its account (once at the start of each turn).</summary>
        public int AccountReads => Volatile.Read(ref _accountReads);

        public void AccountRead()
        {
            Interlocked.Increment(ref _accountReads);
            Notify();
        }

        public void Notify()
        {
            TaskCompletionSource next;
            lock (_gate)
            {
                next = _next;
                _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            next.TrySetResult();
        }
    }

    /// <summary>The fake clock, signalling every timer the poller arms (a poll loop arms one at the end of each turn).</summary>
    private sealed class SignallingClock(DateTimeOffset start, Signal changes) : FakeTimeProvider(start)
    {
        private int _timers;

        public int TimersCreated => Volatile.Read(ref _timers);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            ITimer timer = base.CreateTimer(callback, state, dueTime, period);
            Interlocked.Increment(ref _timers);
            changes.Notify();
            return timer;
        }
    }

    private sealed class Accounts(IReadOnlyList<SmartPopAccount> accounts, Signal changes) : ISmartPopAccounts
    {
        public IReadOnlyList<string> Names { get; } = accounts.Select(a => a.Name).ToList();

        public SmartPopAccount Get(string name)
        {
            changes.AccountRead();
            return accounts.Single(a => a.Name == name);
        }

        public bool TryGet(string name, [NotNullWhen(true)] out SmartPopAccount? account)
        {
            account = accounts.SingleOrDefault(a => a.Name == name);
            return account is not null;
        }
    }
}
