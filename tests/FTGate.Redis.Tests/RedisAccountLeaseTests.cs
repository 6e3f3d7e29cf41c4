using FTGate.SmartPop;
using FTGate.Tests.Infrastructure;
using StackExchange.Redis;

namespace FTGate.Redis.Tests;

public sealed class RedisAccountLeaseTests(RedisFixture redis)
{
    [Fact]
    public async Task TryAcquireAsync_TwoNodes_OnlyOneHoldsIt_UntilReleased()
    {
        redis.Require();
        string prefix = RedisFixture.NewPrefix();
        await using Node a = redis.NewNode(prefix);
        await using Node b = redis.NewNode(prefix);
        CancellationToken ct = TestContext.Current.CancellationToken;

        IAccountLease? held = await a.Leases.TryAcquireAsync("alice", ct);
        Assert.NotNull(held);
        Assert.Null(await b.Leases.TryAcquireAsync("alice", ct));
        Assert.NotNull(await b.Leases.TryAcquireAsync("bob", ct));

        await held.DisposeAsync();
        IAccountLease? next = await b.Leases.TryAcquireAsync("alice", ct);

        Assert.NotNull(next);
        Assert.True(next.FencingToken > held.FencingToken);
        Assert.Equal("alice", next.AccountName);
        Assert.False(next.Lost.IsCancellationRequested);
        await next.DisposeAsync();
    }

    [Fact]
    public async Task Lease_HeldLongerThanTheLeaseTime_IsRenewed()
    {
        redis.Require();
        string prefix = RedisFixture.NewPrefix();
        string leaseKey = prefix + "lease:{alice}";
        TimeSpan leaseTime = TimeSpan.FromSeconds(30);
        TimeSpan renewEvery = leaseTime / 3;
        var clock = new StepClock();
        await using Node a = redis.NewNode(prefix, leaseTime: leaseTime, time: clock);
        await using Node b = redis.NewNode(prefix, leaseTime: leaseTime);
        CancellationToken ct = TestContext.Current.CancellationToken;

        await using IAccountLease held = (await a.Leases.TryAcquireAsync("alice", ct))!; // just taken: not null
        await clock.WaitForTimerAsync(renewEvery, ct);

        // Four renewal periods (longer than the lease time) pass on both clocks: Redis ages the key by a period, node a's
        // clock moves by a period and its renewal must bring the time to live back up. Without renewals the key would run
        // out at the third step, and node a would give the lease up locally (Lost) at the third.
        for (int step = 1; step <= 4; step++)
        {
            long left = await ServerTime.AgeAsync(redis.Server, leaseKey, renewEvery);
            Assert.True(left > 0, $"step {step}: the lease ran out in Redis");
            clock.Advance(renewEvery);
            await clock.WaitForTimerAsync(renewEvery, ct); // renewal done: node a waits for the next one
            long renewed = await ServerTime.TimeToLiveAsync(redis.Server, leaseKey);
            Assert.True(renewed > (leaseTime - renewEvery).TotalMilliseconds, $"step {step}: time to live {renewed} ms, not renewed");
        }

        Assert.Null(await b.Leases.TryAcquireAsync("alice", ct));
        Assert.False(held.Lost.IsCancellationRequested);
    }

    [Fact]
    public async Task Lease_TakenOver_CancelsLost_AndTheUidlStoreRefusesTheOldHoldersWrites()
    {
        redis.Require();
        string prefix = RedisFixture.NewPrefix();
        TimeSpan leaseTime = TimeSpan.FromSeconds(30);
        var clock = new StepClock();
        await using Node a = redis.NewNode(prefix, leaseTime: leaseTime, time: clock);
        await using Node b = redis.NewNode(prefix, leaseTime: leaseTime);
        CancellationToken ct = TestContext.Current.CancellationToken;
        IAccountLease held = (await a.Leases.TryAcquireAsync("alice", ct))!; // just taken: not null
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        held.Lost.Register(() => lost.TrySetResult());

        // A network split or pause: the key vanishes (expiry) and node b takes the account.
        await using (ConnectionMultiplexer raw = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration))
        {
            await raw.GetDatabase().KeyDeleteAsync(prefix + "lease:{alice}");
        }

        IAccountLease taken = (await b.Leases.TryAcquireAsync("alice", ct))!; // the key is gone: b gets it
        await Assert.ThrowsAsync<RedisLeaseLostException>(() => a.Uidls.MarkSeenAsync("alice", ["u1"], DateTimeOffset.UtcNow, ct));

        // Node a's next renewal finds the lease taken over and cancels Lost.
        Assert.False(held.Lost.IsCancellationRequested);
        await clock.WaitForTimerAsync(leaseTime / 3, ct);
        clock.Advance(leaseTime / 3);
        await lost.Task.WaitAsync(TimeSpan.FromSeconds(60), ct); // upper bound only for a real failure

        await b.Uidls.MarkSeenAsync("alice", ["u2"], DateTimeOffset.UtcNow, ct);
        Assert.Equal(["u2"], (await b.Uidls.GetSeenAsync("alice", ct)).Keys);
        await held.DisposeAsync();
        await taken.DisposeAsync();
    }

    [Fact]
    public async Task Lease_RedisDies_LostIsCancelledBeforeTheLeaseCouldExpire()
    {
        redis.Require();
        CancellationToken ct = TestContext.Current.CancellationToken;
        TimeSpan leaseTime = TimeSpan.FromSeconds(30);
        var clock = new StepClock();
        await using RedisServer own = await RedisServer.StartNewAsync(ct);
        await using Node a = redis.NewNode(RedisFixture.NewPrefix(), own, leaseTime: leaseTime, time: clock);
        IAccountLease held = (await a.Leases.TryAcquireAsync("alice", ct))!; // just taken: not null
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        held.Lost.Register(() => lost.TrySetResult());

        await own.KillAsync();

        // No renewal can succeed any more. Node a gives the lease up a fifth of the lease time before Redis could hand it on
        // (at 24 of 30 s on its clock), whatever its failing renewals do meanwhile.
        TimeSpan localValidity = leaseTime - (leaseTime / 5);
        clock.Advance(localValidity - TimeSpan.FromMilliseconds(1));
        Assert.False(held.Lost.IsCancellationRequested, "given up before its local validity ran out");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await lost.Task.WaitAsync(TimeSpan.FromSeconds(60), ct); // upper bound only for a real failure; the cancel is synchronous
        await held.DisposeAsync();
    }
}
