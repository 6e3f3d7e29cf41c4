using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using FTGate.OAuth;
using FTGate.SmartPop;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace FTGate.Hosting.Tests;

/// <summary>
/// The poller in a farm: with an <see cref="IAccountLeases"/> registered it polls an account only while it holds the
/// account's lease, skips it while another node holds it, and a lost lease cancels the running fetch.
/// </summary>
public sealed class PollerLeaseTests
{
    private readonly WaitingTimeProvider _time = new();
    private readonly IMessageSink _sink = Mock.Of<IMessageSink>(MockBehavior.Strict);
    private readonly FakeLeases _leases = new();
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    private static SmartPopAccount Account(string name) =>
        new() { Name = name, Host = "pop.example.test", UserName = name + "@example.test", Password = "pw", PollInterval = TimeSpan.FromMinutes(5) };

    [Fact]
    public async Task Poll_LeaseHeldByAnotherNode_SkipsTheAccountUntilItsNextPoll()
    {
        _leases.HeldElsewhere.Add("a");
        var client = new Mock<ISmartPopClient>(MockBehavior.Strict);
        SmartPopService poller = Poller(client.Object, Account("a"));
        Task<SmartPopAccountStatus> skipped = WhenStatusAsync(poller, s => s.State == SmartPopAccountState.LeaseHeldElsewhere);

        await poller.StartAsync(_ct);
        SmartPopAccountStatus status = await skipped;
        await poller.StopAsync(_ct);

        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(5), status.NextPollAt);
        Assert.Equal(0, status.ConsecutiveFailures);
        Assert.Null(status.LastPollAt);
        Assert.Equal(["a"], _leases.Attempts);
        client.VerifyNoOtherCalls();
    }

    [Fact]
    public async Task Poll_LeaseTaken_FetchesWhileHoldingItThenReleasesIt()
    {
        bool heldDuringFetch = false;
        var client = new Mock<ISmartPopClient>(MockBehavior.Strict);
        client.Setup(c => c.FetchAsync(It.Is<SmartPopAccount>(a => a.Name == "a"), _sink, null, It.IsAny<CancellationToken>()))
            .ReturnsAsync(() =>
            {
                heldDuringFetch = _leases.Held.ContainsKey("a");
                return new FetchResult { AccountName = "a", Completed = true, Delivered = 3 };
            });
        SmartPopService poller = Poller(client.Object, Account("a"));
        Task<SmartPopAccountStatus> polled = WhenStatusAsync(poller, s => s.State == SmartPopAccountState.Idle && s.LastResult is not null);

        await poller.StartAsync(_ct);
        SmartPopAccountStatus status = await polled;
        await poller.StopAsync(_ct);

        Assert.True(heldDuringFetch);
        Assert.Empty(_leases.Held);
        Assert.Equal(1, _leases.Released);
        Assert.Equal(3, status.LastResult!.Delivered);
        Assert.Equal(_time.GetUtcNow(), status.LastPollAt);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(5), status.NextPollAt);
    }

    [Fact]
    public async Task Status_LastFetchHadStuckAndFailedMessages_ReportsThem()
    {
        var stuck = new MessageFailure { Uidl = "u7", ErrorCode = "pop3_retrieve_failed", Message = "-ERR message corrupt" };
        var failed = new MessageFailure { Uidl = "u8", ErrorCode = SmartPopErrorCodes.DeliveryFailed, Message = "the sink threw" };
        var client = new Mock<ISmartPopClient>(MockBehavior.Strict);
        client.Setup(c => c.FetchAsync(It.IsAny<SmartPopAccount>(), _sink, null, It.IsAny<CancellationToken>()))
            .ReturnsAsync(new FetchResult { AccountName = "a", Completed = true, Failures = [stuck, failed], StuckMessages = [stuck] });
        SmartPopService poller = Poller(client.Object, Account("a"));
        Task<SmartPopAccountStatus> polled = WhenStatusAsync(poller, s => s.LastResult is not null);

        await poller.StartAsync(_ct);
        SmartPopAccountStatus status = await polled;
        await poller.StopAsync(_ct);

        Assert.Equal(["u7"], status.StuckMessages.Select(m => m.Uidl));
        Assert.Equal(["u7", "u8"], status.Failures.Select(m => m.Uidl));
    }

    [Fact]
    public async Task Poll_LeaseLostDuringFetch_CancelsTheFetchAndCountsNoFailure()
    {
        var fetching = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = new Mock<ISmartPopClient>(MockBehavior.Strict);
        client.Setup(c => c.FetchAsync(It.IsAny<SmartPopAccount>(), _sink, null, It.IsAny<CancellationToken>()))
            .Returns(async (SmartPopAccount a, IMessageSink _, IProgress<FetchProgress>? _, CancellationToken ct) =>
            {
                fetching.SetResult();
                await Task.Delay(Timeout.Infinite, ct); // Stops only through its token.
                return new FetchResult { AccountName = a.Name };
            });
        SmartPopService poller = Poller(client.Object, Account("a"));
        Task<SmartPopAccountStatus> lost = WhenStatusAsync(poller, s => s.State == SmartPopAccountState.LeaseHeldElsewhere);

        await poller.StartAsync(_ct);
        await fetching.Task.WaitAsync(TimeSpan.FromSeconds(30), _ct);
        await _leases.Held["a"].LoseAsync();
        SmartPopAccountStatus status = await lost;
        await poller.StopAsync(_ct);

        Assert.Equal(0, status.ConsecutiveFailures);
        Assert.Null(status.LastErrorCode);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(5), status.NextPollAt);
        Assert.Equal(1, _leases.Released);
    }

    [Fact]
    public async Task Poll_LeaseStoreFails_BacksOffWithTheError()
    {
        _leases.Failure = new InvalidOperationException("lease store unreachable");
        var client = new Mock<ISmartPopClient>(MockBehavior.Strict);
        SmartPopService poller = Poller(client.Object, Account("a"));
        Task<SmartPopAccountStatus> failed = WhenStatusAsync(poller, s => s.State == SmartPopAccountState.BackingOff);

        await poller.StartAsync(_ct);
        SmartPopAccountStatus status = await failed;
        await poller.StopAsync(_ct);

        Assert.Equal(1, status.ConsecutiveFailures);
        Assert.Equal("lease store unreachable", status.LastError);
        client.VerifyNoOtherCalls();
    }

    [Fact]
    public async Task Poll_TwoNodesShareTheLeases_EachAccountIsFetchedByOneNode()
    {
        int fetches = 0;
        var client = new Mock<ISmartPopClient>(MockBehavior.Strict);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Setup(c => c.FetchAsync(It.IsAny<SmartPopAccount>(), _sink, null, It.IsAny<CancellationToken>()))
            .Returns(async (SmartPopAccount a, IMessageSink _, IProgress<FetchProgress>? _, CancellationToken _) =>
            {
                Interlocked.Increment(ref fetches);
                await gate.Task; // Both nodes have tried every account before anyone releases a lease.
                return new FetchResult { AccountName = a.Name, Completed = true };
            });
        SmartPopAccount[] accounts = [Account("a"), Account("b"), Account("c")];
        SmartPopService node1 = Poller(client.Object, accounts);
        SmartPopService node2 = Poller(client.Object, accounts);
        Task allTried = _leases.WhenAttemptsAsync(6);

        await node1.StartAsync(_ct);
        await node2.StartAsync(_ct);
        await allTried.WaitAsync(TimeSpan.FromSeconds(30), _ct);
        gate.SetResult();
        await _time.WhenWaitingAsync(6).WaitAsync(TimeSpan.FromSeconds(30), _ct);
        await node1.StopAsync(_ct);
        await node2.StopAsync(_ct);

        Assert.Equal(3, fetches);
        Assert.Equal(3, node1.GetStatus().Concat(node2.GetStatus()).Count(s => s.State == SmartPopAccountState.LeaseHeldElsewhere));
    }

    private SmartPopService Poller(ISmartPopClient client, params SmartPopAccount[] accounts) =>
        new(client, new Accounts(accounts), _sink, Mock.Of<IAuthProviderRegistry>(), Options.Create(new SmartPopOptions()), _time, null, _leases);

    /// <summary>The status once every account's loop has reached its wait for the next poll (so this turn's status is final).</summary>
    private async Task<SmartPopAccountStatus> WhenStatusAsync(SmartPopService poller, Func<SmartPopAccountStatus, bool> match, int waits = 1)
    {
        await _time.WhenWaitingAsync(waits).WaitAsync(TimeSpan.FromSeconds(30), _ct);
        return Assert.Single(poller.GetStatus(), s => match(s));
    }

    /// <summary>A fake clock that says when a timer was created: a poll loop creates one when it starts waiting for its next poll.</summary>
    private sealed class WaitingTimeProvider() : FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 9, 0, 0, TimeSpan.Zero))
    {
        private readonly object _gate = new();
        private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];
        private int _timers;

        public Task WhenWaitingAsync(int count)
        {
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                _waiters.Add((count, reached));
                Signal();
            }

            return reached.Task;
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            ITimer timer = base.CreateTimer(callback, state, dueTime, period);
            lock (_gate)
            {
                _timers++;
                Signal();
            }

            return timer;
        }

        private void Signal()
        {
            foreach ((int count, TaskCompletionSource reached) in _waiters.Where(w => _timers >= w.Count))
            {
                reached.TrySetResult();
            }
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

    /// <summary>A lease table in memory, shared by the "nodes" of a test.</summary>
    private sealed class FakeLeases : IAccountLeases
    {
        private readonly object _gate = new();
        private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];
        private long _fencing;
        private int _released;

        public HashSet<string> HeldElsewhere { get; } = [];

        public ConcurrentDictionary<string, FakeLease> Held { get; } = new();

        public List<string> Attempts { get; } = [];

        public int Released => Volatile.Read(ref _released);

        public Exception? Failure { get; set; }

        public Task WhenAttemptsAsync(int count)
        {
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                _waiters.Add((count, reached));
            }

            return reached.Task;
        }

        public Task<IAccountLease?> TryAcquireAsync(string accountName, CancellationToken cancellationToken = default)
        {
            lock (_gate)
            {
                Attempts.Add(accountName);
                foreach ((int count, TaskCompletionSource reached) in _waiters.Where(w => Attempts.Count >= w.Count))
                {
                    reached.TrySetResult();
                }

                if (Failure is not null)
                {
                    return Task.FromException<IAccountLease?>(Failure);
                }

                if (HeldElsewhere.Contains(accountName) || Held.ContainsKey(accountName))
                {
                    return Task.FromResult<IAccountLease?>(null);
                }

                var lease = new FakeLease(this, accountName, Interlocked.Increment(ref _fencing));
                Held[accountName] = lease;
                return Task.FromResult<IAccountLease?>(lease);
            }
        }

        public sealed class FakeLease(FakeLeases owner, string accountName, long fencingToken) : IAccountLease
        {
            private readonly CancellationTokenSource _lost = new();

            public string AccountName => accountName;

            public long FencingToken => fencingToken;

            public CancellationToken Lost => _lost.Token;

            public Task LoseAsync() => _lost.CancelAsync();

            public ValueTask DisposeAsync()
            {
                owner.Held.TryRemove(accountName, out _);
                Interlocked.Increment(ref owner._released);
                _lost.Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
