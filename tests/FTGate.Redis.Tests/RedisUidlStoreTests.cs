namespace FTGate.Redis.Tests;

public sealed class RedisUidlStoreTests(RedisFixture redis)
{
    [Fact]
    public async Task MarkSeenAsync_KeepsTheFirstSeenTime_AndIsVisibleToOtherNodes()
    {
        redis.Require();
        string prefix = RedisFixture.NewPrefix();
        await using Node a = redis.NewNode(prefix);
        await using Node b = redis.NewNode(prefix);
        CancellationToken ct = TestContext.Current.CancellationToken;
        var first = new DateTimeOffset(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero);

        await a.Uidls.MarkSeenAsync("alice", "u1", first, ct);
        await b.Uidls.MarkSeenAsync("alice", ["u1", "u2", "odd uidl with spaces", "ünï\tcode"], first.AddDays(1), ct);

        IReadOnlyDictionary<string, DateTimeOffset> seen = await a.Uidls.GetSeenAsync("alice", ct);
        Assert.Equal(4, seen.Count);
        Assert.Equal(first, seen["u1"]);
        Assert.Equal(first.AddDays(1), seen["u2"]);
        Assert.Equal(first.AddDays(1), seen["ünï\tcode"]);
        Assert.Empty(await a.Uidls.GetSeenAsync("bob", ct));
    }

    [Fact]
    public async Task PruneAsync_ForgetsOnlyWhatIsNoLongerOnTheServer()
    {
        redis.Require();
        await using Node a = redis.NewNode(RedisFixture.NewPrefix());
        CancellationToken ct = TestContext.Current.CancellationToken;
        await a.Uidls.MarkSeenAsync("alice", ["u1", "u2", "u3"], DateTimeOffset.UtcNow, ct);

        int pruned = await a.Uidls.PruneAsync("alice", ["u2", "u9"], ct);

        Assert.Equal(2, pruned);
        Assert.Equal(["u2"], (await a.Uidls.GetSeenAsync("alice", ct)).Keys);
        Assert.Equal(0, await a.Uidls.PruneAsync("alice", ["u2"], ct));
    }
}
