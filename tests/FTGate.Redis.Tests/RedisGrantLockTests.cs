using System.Text;
using FTGate.OAuth;

namespace FTGate.Redis.Tests;

public sealed class RedisGrantLockTests(RedisFixture redis)
{
    [Fact]
    public async Task Protocol_ThreeNodesTenCallersEach_RefreshOncePerExpiry()
    {
        redis.Require();
        string prefix = RedisFixture.NewPrefix();
        Node[] nodes = [redis.NewNode(prefix), redis.NewNode(prefix), redis.NewNode(prefix)];
        CancellationToken ct = TestContext.Current.CancellationToken;
        int refreshes = 0;
        try
        {
            await nodes[0].Tokens.SetAsync("grant/p/ALICE", Encoding.ASCII.GetBytes("gen-0"), null, ct);

            // The providers' protocol: lock, read again, refresh only if still due (here: still generation 0), persist, release.
            // The refresher holds the lock until every caller is trying to take it, so all 30 contend for it.
            int trying = 0;
            var allTrying = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            async Task<string> CallerAsync(Node node)
            {
                if (Interlocked.Increment(ref trying) == 30)
                {
                    allTrying.SetResult();
                }

                await using (await node.GrantLock.AcquireAsync("grant/p/ALICE", ct))
                {
                    TokenStoreEntry entry = (await node.Tokens.GetAsync("grant/p/ALICE", ct))!;
                    string current = Encoding.ASCII.GetString(entry.Value.Span);
                    if (current != "gen-0")
                    {
                        return current;
                    }

                    Interlocked.Increment(ref refreshes);
                    await allTrying.Task.WaitAsync(ct); // the token endpoint's round trip, while the others wait for the lock
                    await node.Tokens.SetAsync("grant/p/ALICE", Encoding.ASCII.GetBytes("gen-1"), entry.Version, ct);
                    return "gen-1";
                }
            }

            string[] results = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => Task.Run(() => CallerAsync(nodes[i % 3]), ct)));

            Assert.Equal(1, refreshes);
            Assert.All(results, r => Assert.Equal("gen-1", r));
        }
        finally
        {
            foreach (Node node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task AcquireAsync_HolderDiesWithoutReleasing_AnotherNodeGetsItAfterTheLockTime_WithAHigherFence()
    {
        redis.Require();
        string prefix = RedisFixture.NewPrefix();
        Node dying = redis.NewNode(prefix, lockTime: TimeSpan.FromSeconds(1));
        await using Node survivor = redis.NewNode(prefix, lockTime: TimeSpan.FromSeconds(1));
        CancellationToken ct = TestContext.Current.CancellationToken;

        // Timed from before the lock is taken: Redis cannot hand it on before its 1 s time to live has run out, however
        // slowly this process gets there.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        IAsyncDisposable first = await dying.GrantLock.AcquireAsync("grant/p/DAVE", ct);
        long firstFence = RedisGrantLock.GetFencingToken(first);
        await dying.DisposeAsync(); // the process is gone: no release, no renewal

        // Upper bound only for a real failure (the lock never expires); normally about a second.
        await using IAsyncDisposable second = await survivor.GrantLock.AcquireAsync("grant/p/DAVE", ct).WaitAsync(TimeSpan.FromSeconds(60), ct);

        Assert.True(RedisGrantLock.GetFencingToken(second) > firstFence);
        Assert.True(waited.Elapsed >= TimeSpan.FromMilliseconds(900), $"taken over after {waited.Elapsed}, before the lock time");
    }

    [Fact]
    public async Task AcquireAsync_HeldLongerThanTheLockTime_IsRenewedAndNotStolen()
    {
        redis.Require();
        string prefix = RedisFixture.NewPrefix();
        string lockKey = prefix + "grantlock:{grant/p/ERIN}";
        TimeSpan lockTime = TimeSpan.FromSeconds(30);
        TimeSpan renewEvery = lockTime / 3;
        var clock = new StepClock();
        await using Node a = redis.NewNode(prefix, lockTime: lockTime, time: clock);
        await using Node b = redis.NewNode(prefix, lockTime: lockTime);
        CancellationToken ct = TestContext.Current.CancellationToken;

        IAsyncDisposable held = await a.GrantLock.AcquireAsync("grant/p/ERIN", ct);
        Task waiter = Task.Run(
            async () =>
            {
                await using (await b.GrantLock.AcquireAsync("grant/p/ERIN", ct))
                {
                }
            },
            ct);

        // Four renewal periods (longer than the lock time) pass on both clocks: Redis ages the key by a period, node a's
        // clock moves by a period, and its renewal must bring the key's time to live back up each time. Without the
        // renewals the key would run out at the third step.
        await clock.WaitForTimerAsync(renewEvery, ct); // node a waits for its first renewal
        for (int step = 1; step <= 4; step++)
        {
            long left = await ServerTime.AgeAsync(redis.Server, lockKey, renewEvery);
            Assert.True(left > 0, $"step {step}: the lock ran out in Redis");
            clock.Advance(renewEvery);
            await clock.WaitForTimerAsync(renewEvery, ct); // renewal done: node a waits for the next one
            long renewed = await ServerTime.TimeToLiveAsync(redis.Server, lockKey);
            Assert.True(renewed > (lockTime - renewEvery).TotalMilliseconds, $"step {step}: time to live {renewed} ms, not renewed");
            Assert.False(waiter.IsCompleted, $"step {step}: node b took a held lock");
        }

        await held.DisposeAsync();
        await waiter.WaitAsync(TimeSpan.FromSeconds(60), ct); // upper bound only for a real failure
    }
}
