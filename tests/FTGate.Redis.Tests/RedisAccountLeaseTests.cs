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
        await using Node a = redis.NewNode(prefix, leaseTime: TimeSpan.FromSeconds(1));
        await using Node b = redis.NewNode(prefix, leaseTime: TimeSpan.FromSeconds(1));
        CancellationToken ct = TestContext.Current.CancellationToken;

        await using IAccountLease held = (await a.Leases.TryAcquireAsync("alice", ct))!;
        // Three renewals span more than the lease time: without them the key would have expired.
        await Renewals.WaitAsync(redis.Server, prefix + "lease:{alice}", 3, TimeSpan.FromSeconds(10), ct);

        Assert.Null(await b.Leases.TryAcquireAsync("alice", ct));
        Assert.False(held.Lost.IsCancellationRequested);
    }

    [Fact]
    public async Task Lease_TakenOver_CancelsLost_AndTheUidlStoreRefusesTheOldHoldersWrites()
    {
        redis.Require();
        string prefix = RedisFixture.NewPrefix();
        await using Node a = redis.NewNode(prefix, leaseTime: TimeSpan.FromSeconds(1.5));
        await using Node b = redis.NewNode(prefix, leaseTime: TimeSpan.FromSeconds(1.5));
        CancellationToken ct = TestContext.Current.CancellationToken;
        IAccountLease held = (await a.Leases.TryAcquireAsync("alice", ct))!;
        var lost = new TaskCompletionSource();
        held.Lost.Register(() => lost.TrySetResult());

        // A network split or pause: the key vanishes (expiry) and node b takes the account.
        await using (ConnectionMultiplexer raw = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration))
        {
            await raw.GetDatabase().KeyDeleteAsync(prefix + "lease:{alice}");
        }

        IAccountLease taken = (await b.Leases.TryAcquireAsync("alice", ct))!;
        await Assert.ThrowsAsync<RedisLeaseLostException>(() => a.Uidls.MarkSeenAsync("alice", ["u1"], DateTimeOffset.UtcNow, ct));
        await lost.Task.WaitAsync(TimeSpan.FromSeconds(5), ct);

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
        await using RedisServer own = await RedisServer.StartNewAsync(ct);
        await using Node a = redis.NewNode(RedisFixture.NewPrefix(), own, leaseTime: TimeSpan.FromSeconds(1.5));
        IAccountLease held = (await a.Leases.TryAcquireAsync("alice", ct))!;
        var lost = new TaskCompletionSource();
        held.Lost.Register(() => lost.TrySetResult());
        var since = System.Diagnostics.Stopwatch.StartNew();

        await own.KillAsync();
        await lost.Task.WaitAsync(TimeSpan.FromSeconds(10), ct);

        // Given up locally within the lease time (the last renewal was at most a third of it before the kill).
        Assert.True(since.Elapsed < TimeSpan.FromSeconds(1.5), $"lost after {since.Elapsed}");
        await held.DisposeAsync();
    }
}
