using FTGate.OAuth;
using FTGate.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

[assembly: AssemblyFixture(typeof(IntegrationServers))]

namespace FTGate.Redis.Tests;

/// <summary>Authorize Now started on one node and completed on another: the pending request lives in the Redis token store.</summary>
public sealed class AuthorizeAcrossNodesTests(RedisFixture redis, IntegrationServers servers)
{
    private const string User = "bob@example.test";

    [Fact]
    public async Task Callback_LandsOnAnotherNode_CompletesTheAuthorization_AndEveryNodeSeesTheGrant()
    {
        redis.Require();
        servers.Require();
        CancellationToken ct = TestContext.Current.CancellationToken;
        string prefix = RedisFixture.NewPrefix();
        await using ServiceProvider a = FarmNode(redis, servers.OAuth, redis.Server, prefix, User);
        await using ServiceProvider b = FarmNode(redis, servers.OAuth, redis.Server, prefix, User);
        IAuthProvider onA = a.GetRequiredService<IAuthProviderRegistry>().Get("Local");
        IAuthProvider onB = b.GetRequiredService<IAuthProviderRegistry>().Get("Local");

        AuthorizationChallenge challenge = await onA.BeginAuthorizationAsync(new AuthorizationRequest(new Uri("http://127.0.0.1/callback")), ct);
        using var browser = new HeadlessBrowser();
        Uri callback = await browser.AuthorizeAsync(challenge.AuthorizationUri, User, "bob-password", cancellationToken: ct);
        AuthorizationResult result = await onB.CompleteAuthorizationAsync(AuthorizationCallback.FromUri(callback), ct);

        Assert.Equal(User, result.UserName, ignoreCase: true);
        Assert.Equal(AuthorizationState.Authorized, (await onA.GetStatusAsync(User, ct)).State);
        // The same callback again, on node A this time: the state was consumed in Redis, so it is a replay.
        var replay = await Assert.ThrowsAsync<AuthorizationException>(() => onA.CompleteAuthorizationAsync(AuthorizationCallback.FromUri(callback), ct));
        Assert.Equal(FTGateErrorCodes.StateReplayed, replay.ErrorCode);
    }

    /// <summary>An SDK node on the farm's Redis with the OAuth server's short-lived client as provider "Local".</summary>
    internal static ServiceProvider FarmNode(RedisFixture redis, OAuthServer oauth, RedisServer server, string prefix, string user)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["FTGate:Providers:Local:Type"] = "OAuth2",
            ["FTGate:Providers:Local:Authority"] = oauth.Issuer.AbsoluteUri.TrimEnd('/'),
            ["FTGate:Providers:Local:ClientId"] = OAuthServer.ShortLivedClientId,
            ["FTGate:Providers:Local:UserName"] = user,
            ["FTGate:Providers:Local:Scopes:0"] = "openid",
            ["FTGate:Providers:Local:Scopes:1"] = "email",
            ["FTGate:Providers:Local:Scopes:2"] = "offline_access",
            ["FTGate:Providers:Local:Scopes:3"] = "mail",
            ["FTGate:Providers:Local:RefreshMargin"] = "00:00:01",
            ["FTGate:Redis:Configuration"] = server.Configuration,
            ["FTGate:Redis:KeyPrefix"] = prefix,
            ["FTGate:Redis:EncryptionKeyFile"] = redis.KeyFile,
        }).Build();
        var services = new ServiceCollection();
        services.AddFTGate(configuration.GetSection("FTGate")).UseRedis();
        ServiceProvider provider = services.BuildServiceProvider();
        provider.ValidateFTGateConfiguration();
        return provider;
    }
}
