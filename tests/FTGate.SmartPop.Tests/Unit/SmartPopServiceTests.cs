using System.Diagnostics.CodeAnalysis;
using FTGate.OAuth;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace FTGate.SmartPop.Tests.Unit;

/// <summary>The hosted poller: bounded concurrency, per-host limits, pause on re-authorization, back-off, graceful stop.</summary>
public sealed class SmartPopServiceTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly Mock<IMessageSink> _sink = new(MockBehavior.Strict);

    private static SmartPopAccount Account(string name, string host = "pop.example.test") =>
        new() { Name = name, Host = host, UserName = "alice@example.test", AuthProvider = "prov", PollInterval = TimeSpan.FromMinutes(5) };

    private static FetchResult Ok(string name) => new() { AccountName = name, Completed = true };

    private SmartPopService Service(ISmartPopClient client, IReadOnlyList<SmartPopAccount> accounts, IAuthProviderRegistry? registry = null, SmartPopOptions? options = null) =>
        new(client, new Accounts(accounts), _sink.Object, registry ?? Mock.Of<IAuthProviderRegistry>(), Options.Create(options ?? new SmartPopOptions()), _time);

    private static async Task WaitUntilAsync(Func<bool> condition, Func<string>? describe = null)
    {
        for (int i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        Assert.True(condition(), "condition not reached in 5 s " + describe?.Invoke());
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
                await gate.Task;
                Interlocked.Decrement(ref running);
                return Ok(a.Name);
            });
        SmartPopAccount[] accounts = Enumerable.Range(0, 10).Select(i => Account("a" + i)).ToArray();
        SmartPopService service = Service(client.Object, accounts, options: new SmartPopOptions { MaxConcurrentFetches = maxConcurrent, MaxConnectionsPerHost = perHost });

        await service.StartAsync(TestContext.Current.CancellationToken);
        await WaitUntilAsync(() => Volatile.Read(ref started) == expectedPeak);
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.Equal(expectedPeak, Volatile.Read(ref peak));
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
            .Returns(() => Interlocked.Increment(ref fetches) == 1
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
        await WaitUntilAsync(() => service.GetStatus()[0].State == SmartPopAccountState.Paused);
        Assert.Equal(FTGateErrorCodes.ReauthorizationRequired, service.GetStatus()[0].LastErrorCode);
        Assert.Contains("Run Authorize Now again.", service.GetStatus()[0].LastError, StringComparison.Ordinal);

        // Still not authorized at the next interval: no fetch.
        _time.Advance(TimeSpan.FromMinutes(5));
        await Task.Delay(100, TestContext.Current.CancellationToken);
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
                    await Task.Delay(50, CancellationToken.None); // finishing the current message and QUIT
                    finished = true;
                    throw;
                }

                return Ok(a.Name);
            });
        SmartPopService service = Service(client.Object, [Account("a")]);

        await service.StartAsync(TestContext.Current.CancellationToken);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        await service.StopAsync(TestContext.Current.CancellationToken);

        Assert.True(sawCancellation);
        Assert.True(finished);
    }

    [Fact]
    public async Task StartAsync_DisabledAccount_IsNeverFetched()
    {
        var client = new Mock<ISmartPopClient>(MockBehavior.Strict);
        SmartPopAccount disabled = Account("off");
        disabled.Enabled = false;
        SmartPopService service = Service(client.Object, [disabled]);

        await service.StartAsync(TestContext.Current.CancellationToken);
        await WaitUntilAsync(() => service.GetStatus()[0].State == SmartPopAccountState.Disabled);
        await service.StopAsync(TestContext.Current.CancellationToken);

        client.VerifyNoOtherCalls();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private sealed class Accounts(IReadOnlyList<SmartPopAccount> accounts) : ISmartPopAccounts
    {
        public IReadOnlyList<string> Names { get; } = accounts.Select(a => a.Name).ToList();

        public SmartPopAccount Get(string name) => accounts.Single(a => a.Name == name);

        public bool TryGet(string name, [NotNullWhen(true)] out SmartPopAccount? account)
        {
            account = accounts.SingleOrDefault(a => a.Name == name);
            return account is not null;
        }
    }
}
