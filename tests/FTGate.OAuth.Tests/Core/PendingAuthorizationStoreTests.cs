using System.Security.Cryptography;
using System.Text;
using FTGate.OAuth;
using FTGate.OAuth.Internal;
using Microsoft.Extensions.Time.Testing;

namespace FTGate.OAuth.Tests.Core;

public sealed class PendingAuthorizationStoreTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly InMemoryTokenStore _tokens = new();

    private PendingAuthorizationStore Store => new(_tokens, _time);

    [Fact]
    public async Task ConsumeAsync_FreshState_ReturnsThePendingRequest()
    {
        PendingAuthorization created = await Store.CreateAsync("p", "alice@example.test", new Uri("http://127.0.0.1:5000/"), "verifier", cancellationToken: TestContext.Current.CancellationToken);

        PendingAuthorization consumed = await Store.ConsumeAsync("p", created.State, TestContext.Current.CancellationToken);

        Assert.Equal("verifier", consumed.CodeVerifier);
        Assert.Equal("http://127.0.0.1:5000/", consumed.RedirectUri);
        Assert.Equal("alice@example.test", consumed.UserName);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(10), consumed.ExpiresOn);
    }

    [Fact]
    public async Task ConsumeAsync_UnknownState_ThrowsStateUnknown()
    {
        var ex = await Assert.ThrowsAsync<AuthorizationException>(() => Store.ConsumeAsync("p", "made-up", TestContext.Current.CancellationToken));
        Assert.Equal(FTGateErrorCodes.StateUnknown, ex.ErrorCode);
        Assert.NotNull(ex.Remedy);
    }

    [Fact]
    public async Task ConsumeAsync_MissingState_ThrowsStateUnknown()
    {
        var ex = await Assert.ThrowsAsync<AuthorizationException>(() => Store.ConsumeAsync("p", null, TestContext.Current.CancellationToken));
        Assert.Equal(FTGateErrorCodes.StateUnknown, ex.ErrorCode);
    }

    [Fact]
    public async Task ConsumeAsync_StateOfAnotherProvider_ThrowsStateUnknown()
    {
        PendingAuthorization created = await Store.CreateAsync("p", "u", new Uri("http://127.0.0.1/"), "v", cancellationToken: TestContext.Current.CancellationToken);
        var ex = await Assert.ThrowsAsync<AuthorizationException>(() => Store.ConsumeAsync("other", created.State, TestContext.Current.CancellationToken));
        Assert.Equal(FTGateErrorCodes.StateUnknown, ex.ErrorCode);
    }

    [Fact]
    public async Task ConsumeAsync_After10Minutes_ThrowsStateExpired()
    {
        PendingAuthorization created = await Store.CreateAsync("p", "u", new Uri("http://127.0.0.1/"), "v", cancellationToken: TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));

        var ex = await Assert.ThrowsAsync<AuthorizationException>(() => Store.ConsumeAsync("p", created.State, TestContext.Current.CancellationToken));
        Assert.Equal(FTGateErrorCodes.StateExpired, ex.ErrorCode);
    }

    [Fact]
    public async Task ConsumeAsync_SecondTime_ThrowsStateReplayed()
    {
        PendingAuthorization created = await Store.CreateAsync("p", "u", new Uri("http://127.0.0.1/"), "v", cancellationToken: TestContext.Current.CancellationToken);
        await Store.ConsumeAsync("p", created.State, TestContext.Current.CancellationToken);

        var ex = await Assert.ThrowsAsync<AuthorizationException>(() => Store.ConsumeAsync("p", created.State, TestContext.Current.CancellationToken));
        Assert.Equal(FTGateErrorCodes.StateReplayed, ex.ErrorCode);
    }

    [Fact]
    public async Task ConsumeAsync_ConcurrentCallbacksWithOneState_ExactlyOneSucceeds()
    {
        PendingAuthorization created = await Store.CreateAsync("p", "u", new Uri("http://127.0.0.1/"), "v", cancellationToken: TestContext.Current.CancellationToken);

        Task<PendingAuthorization>[] attempts = Enumerable.Range(0, 8)
            .Select(_ => Task.Run(() => Store.ConsumeAsync("p", created.State, TestContext.Current.CancellationToken)))
            .ToArray();
        try
        {
            await Task.WhenAll(attempts);
        }
        catch (AuthorizationException)
        {
        }

        Assert.Equal(1, attempts.Count(a => a.IsCompletedSuccessfully));
        Assert.All(attempts.Where(a => a.IsFaulted), a => Assert.Equal(FTGateErrorCodes.StateReplayed, ((AuthorizationException)a.Exception!.InnerException!).ErrorCode));
    }

    [Fact]
    public void NewPkce_ChallengeIsBase64UrlSha256OfVerifier()
    {
        (string verifier, string challenge) = PendingAuthorizationStore.NewPkce();

        Assert.InRange(verifier.Length, 43, 128);
        Assert.Matches("^[A-Za-z0-9._~-]+$", verifier);
        string expected = Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        Assert.Equal(expected, challenge);
        Assert.NotEqual(PendingAuthorizationStore.NewState(), PendingAuthorizationStore.NewState());
    }
}
