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

        IAsyncDisposable first = await dying.GrantLock.AcquireAsync("grant/p/DAVE", ct);
        long firstFence = RedisGrantLock.GetFencingToken(first);
        await dying.DisposeAsync(); // the process is gone: no release, no renewal

        var waited = System.Diagnostics.Stopwatch.StartNew();
        await using IAsyncDisposable second = await survivor.GrantLock.AcquireAsync("grant/p/DAVE", ct);

        Assert.True(RedisGrantLock.GetFencingToken(second) > firstFence);
        Assert.InRange(waited.Elapsed, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task AcquireAsync_HeldLongerThanTheLockTime_IsRenewedAndNotStolen()
    {
        redis.Require();
        string prefix = RedisFixture.NewPrefix();
        await using Node a = redis.NewNode(prefix, lockTime: TimeSpan.FromSeconds(1));
        await using Node b = redis.NewNode(prefix, lockTime: TimeSpan.FromSeconds(1));
        CancellationToken ct = TestContext.Current.CancellationToken;
        var order = new List<string>();

        IAsyncDisposable held = await a.GrantLock.AcquireAsync("grant/p/ERIN", ct);
        Task waiter = Task.Run(
            async () =>
            {
                await using (await b.GrantLock.AcquireAsync("grant/p/ERIN", ct))
                {
                    lock (order)
                    {
                        order.Add("b");
                    }
                }
            },
            ct);

        // Three renewals (more than the lock time) pass; the renewed lock must still keep b out.
        await Renewals.WaitAsync(redis.Server, prefix + "grantlock:{grant/p/ERIN}", 3, TimeSpan.FromSeconds(10), ct);
        lock (order)
        {
            order.Add("a-release");
        }

        await held.DisposeAsync();
        await waiter.WaitAsync(TimeSpan.FromSeconds(5), ct);
        Assert.Equal(["a-release", "b"], order);
    }
}
