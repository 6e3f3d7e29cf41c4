using System.Buffers.Binary;
using System.Text;
using FTGate.OAuth;

namespace FTGate.OAuth.Tests.Core;

/// <summary>The behaviour every <see cref="ITokenStore"/> must have; run against each implementation.</summary>
public abstract class TokenStoreContractTests
{
    protected abstract ITokenStore CreateStore();

    [Fact]
    public async Task SetAsync_ThenGetAsync_ReturnsValueAndVersion()
    {
        ITokenStore store = CreateStore();
        string version = await store.SetAsync("provider/alice", "secret-refresh-token"u8.ToArray(), expectedVersion: null, TestContext.Current.CancellationToken);

        TokenStoreEntry? entry = await store.GetAsync("provider/alice", TestContext.Current.CancellationToken);

        Assert.NotNull(entry);
        Assert.Equal(version, entry.Version);
        Assert.Equal("secret-refresh-token", Encoding.UTF8.GetString(entry.Value.Span));
    }

    [Fact]
    public async Task GetAsync_MissingKey_ReturnsNull()
    {
        ITokenStore store = CreateStore();
        Assert.Null(await store.GetAsync("nobody", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task SetAsync_StaleVersion_ThrowsConcurrencyExceptionAndKeepsWinner()
    {
        ITokenStore store = CreateStore();
        string v1 = await store.SetAsync("k", "one"u8.ToArray(), null, TestContext.Current.CancellationToken);
        string v2 = await store.SetAsync("k", "two"u8.ToArray(), v1, TestContext.Current.CancellationToken);

        var ex = await Assert.ThrowsAsync<TokenStoreConcurrencyException>(
            () => store.SetAsync("k", "stale"u8.ToArray(), v1, TestContext.Current.CancellationToken));

        Assert.Equal(FTGateErrorCodes.TokenStoreConflict, ex.ErrorCode);
        Assert.Equal(v1, ex.ExpectedVersion);
        Assert.Equal(v2, ex.ActualVersion);
        TokenStoreEntry? entry = await store.GetAsync("k", TestContext.Current.CancellationToken);
        Assert.Equal("two", Encoding.UTF8.GetString(entry!.Value.Span));
    }

    [Fact]
    public async Task SetAsync_CreateWhenEntryExists_ThrowsConcurrencyException()
    {
        ITokenStore store = CreateStore();
        await store.SetAsync("k", "one"u8.ToArray(), null, TestContext.Current.CancellationToken);
        await Assert.ThrowsAsync<TokenStoreConcurrencyException>(
            () => store.SetAsync("k", "two"u8.ToArray(), null, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task SetAsync_UpdateWhenEntryMissing_ThrowsConcurrencyException()
    {
        ITokenStore store = CreateStore();
        await Assert.ThrowsAsync<TokenStoreConcurrencyException>(
            () => store.SetAsync("k", "two"u8.ToArray(), "some-version", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task RemoveAsync_StaleVersion_ThrowsAndKeepsEntry()
    {
        ITokenStore store = CreateStore();
        string v1 = await store.SetAsync("k", "one"u8.ToArray(), null, TestContext.Current.CancellationToken);
        await store.SetAsync("k", "two"u8.ToArray(), v1, TestContext.Current.CancellationToken);

        await Assert.ThrowsAsync<TokenStoreConcurrencyException>(() => store.RemoveAsync("k", v1, TestContext.Current.CancellationToken));
        Assert.NotNull(await store.GetAsync("k", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task RemoveAsync_Unconditional_RemovesAndReportsWhetherAnythingWasThere()
    {
        ITokenStore store = CreateStore();
        await store.SetAsync("k", "one"u8.ToArray(), null, TestContext.Current.CancellationToken);

        Assert.True(await store.RemoveAsync("k", cancellationToken: TestContext.Current.CancellationToken));
        Assert.False(await store.RemoveAsync("k", cancellationToken: TestContext.Current.CancellationToken));
        Assert.Null(await store.GetAsync("k", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task UpdateAsync_ManyConcurrentWritersInProcess_LosesNoUpdate()
    {
        ITokenStore store = CreateStore();
        const int writers = 20;
        const int increments = 25;

        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < increments; i++)
            {
                await store.UpdateAsync("counter", Increment, maxAttempts: 10_000, TestContext.Current.CancellationToken);
            }
        })));

        TokenStoreEntry? entry = await store.GetAsync("counter", TestContext.Current.CancellationToken);
        Assert.Equal(writers * increments, BinaryPrimitives.ReadInt32LittleEndian(entry!.Value.Span));
    }

    internal static byte[] Increment(TokenStoreEntry? current)
    {
        int value = current is null ? 0 : BinaryPrimitives.ReadInt32LittleEndian(current.Value.Span);
        byte[] next = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(next, value + 1);
        return next;
    }
}

public sealed class InMemoryTokenStoreTests : TokenStoreContractTests
{
    protected override ITokenStore CreateStore() => new InMemoryTokenStore();
}
