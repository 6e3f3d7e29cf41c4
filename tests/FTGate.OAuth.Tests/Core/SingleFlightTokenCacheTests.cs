using FTGate.OAuth;
using FTGate.OAuth.Internal;
using Microsoft.Extensions.Time.Testing;

namespace FTGate.OAuth.Tests.Core;

public sealed class SingleFlightTokenCacheTests
{
    private static readonly TimeSpan Margin = TimeSpan.FromMinutes(5);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    private AccessToken Token(string value, TimeSpan lifetime) => new(value, _time.GetUtcNow() + lifetime, "alice@example.test");

    [Fact]
    public async Task GetAsync_1000ConcurrentCallersWithExpiredToken_RefreshOnce()
    {
        var cache = new SingleFlightTokenCache(_time);
        int refreshes = 0;
        var gate = new TaskCompletionSource();
        async Task<AccessToken> Acquire(CancellationToken ct)
        {
            Interlocked.Increment(ref refreshes);
            await gate.Task;
            return Token("fresh", TimeSpan.FromHours(1));
        }

        // GetAsync joins (or starts) the refresh before it returns: once every caller has its task, all 1000 wait on one refresh.
        int joined = 0;
        var allJoined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<AccessToken>[] callers = Enumerable.Range(0, 1000)
            .Select(_ => Task.Run(() =>
            {
                Task<AccessToken> pending = cache.GetAsync("p/alice", Margin, Acquire, TestContext.Current.CancellationToken);
                if (Interlocked.Increment(ref joined) == 1000)
                {
                    allJoined.SetResult();
                }

                return pending;
            }))
            .ToArray();
        await allJoined.Task.WaitAsync(TestContext.Current.CancellationToken);
        Assert.All(callers, c => Assert.False(c.IsCompleted));
        gate.SetResult();
        AccessToken[] tokens = await Task.WhenAll(callers);

        Assert.Equal(1, refreshes);
        Assert.All(tokens, t => Assert.Equal("fresh", t.Value));
    }

    [Fact]
    public async Task GetAsync_ValidToken_ServedFromCacheWithoutRefresh()
    {
        var cache = new SingleFlightTokenCache(_time);
        int refreshes = 0;
        Task<AccessToken> Acquire(CancellationToken ct)
        {
            refreshes++;
            return Task.FromResult(Token("t" + refreshes, TimeSpan.FromHours(1)));
        }

        AccessToken first = await cache.GetAsync("k", Margin, Acquire, TestContext.Current.CancellationToken);
        AccessToken second = await cache.GetAsync("k", Margin, Acquire, TestContext.Current.CancellationToken);

        Assert.Equal(1, refreshes);
        Assert.False(first.FromCache);
        Assert.True(second.FromCache);
        Assert.Equal(first.Value, second.Value);
    }

    [Fact]
    public async Task GetAsync_TokenInsideRefreshMargin_IsRefreshedAhead()
    {
        var cache = new SingleFlightTokenCache(_time);
        int refreshes = 0;
        Task<AccessToken> Acquire(CancellationToken ct)
        {
            refreshes++;
            return Task.FromResult(Token("t" + refreshes, TimeSpan.FromHours(1)));
        }

        await cache.GetAsync("k", Margin, Acquire, TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromMinutes(54));
        AccessToken stillCached = await cache.GetAsync("k", Margin, Acquire, TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromMinutes(2));
        AccessToken refreshed = await cache.GetAsync("k", Margin, Acquire, TestContext.Current.CancellationToken);

        Assert.Equal("t1", stillCached.Value);
        Assert.Equal("t2", refreshed.Value);
        Assert.Equal(2, refreshes);
    }

    [Fact]
    public async Task GetAsync_RefreshFails_AllWaitersSeeTheErrorAndTheNextCallRetries()
    {
        var cache = new SingleFlightTokenCache(_time);
        int calls = 0;
        var gate = new TaskCompletionSource();
        async Task<AccessToken> Acquire(CancellationToken ct)
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                await gate.Task;
                throw new TransientAuthorizationException("busy", "p");
            }

            return Token("ok", TimeSpan.FromHours(1));
        }

        Task<AccessToken> a = cache.GetAsync("k", Margin, Acquire, TestContext.Current.CancellationToken);
        Task<AccessToken> b = cache.GetAsync("k", Margin, Acquire, TestContext.Current.CancellationToken);
        gate.SetResult();

        await Assert.ThrowsAsync<TransientAuthorizationException>(() => a);
        await Assert.ThrowsAsync<TransientAuthorizationException>(() => b);
        AccessToken retried = await cache.GetAsync("k", Margin, Acquire, TestContext.Current.CancellationToken);
        Assert.Equal("ok", retried.Value);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task RefreshAsync_ValidCachedToken_ForcesANewOne()
    {
        var cache = new SingleFlightTokenCache(_time);
        int refreshes = 0;
        Task<AccessToken> Acquire(CancellationToken ct)
        {
            refreshes++;
            return Task.FromResult(Token("t" + refreshes, TimeSpan.FromHours(1)));
        }

        await cache.GetAsync("k", Margin, Acquire, TestContext.Current.CancellationToken);
        AccessToken forced = await cache.RefreshAsync("k", Acquire, TestContext.Current.CancellationToken);
        AccessToken after = await cache.GetAsync("k", Margin, Acquire, TestContext.Current.CancellationToken);

        Assert.Equal("t2", forced.Value);
        Assert.Equal("t2", after.Value);
        Assert.True(after.FromCache);
    }

    [Fact]
    public async Task GetAsync_OneCallerCancels_OthersStillGetTheToken()
    {
        var cache = new SingleFlightTokenCache(_time);
        var gate = new TaskCompletionSource();
        async Task<AccessToken> Acquire(CancellationToken ct)
        {
            await gate.Task;
            return Token("ok", TimeSpan.FromHours(1));
        }

        using var cancelled = new CancellationTokenSource();
        Task<AccessToken> quitter = cache.GetAsync("k", Margin, Acquire, cancelled.Token);
        Task<AccessToken> stayer = cache.GetAsync("k", Margin, Acquire, TestContext.Current.CancellationToken);
        await cancelled.CancelAsync();
        gate.SetResult();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => quitter);
        Assert.Equal("ok", (await stayer).Value);
    }

    [Fact]
    public async Task Invalidate_DropsTheCachedToken()
    {
        var cache = new SingleFlightTokenCache(_time);
        int refreshes = 0;
        Task<AccessToken> Acquire(CancellationToken ct)
        {
            refreshes++;
            return Task.FromResult(Token("t" + refreshes, TimeSpan.FromHours(1)));
        }

        await cache.GetAsync("k", Margin, Acquire, TestContext.Current.CancellationToken);
        cache.Invalidate("k");
        AccessToken next = await cache.GetAsync("k", Margin, Acquire, TestContext.Current.CancellationToken);

        Assert.Equal("t2", next.Value);
    }
}
