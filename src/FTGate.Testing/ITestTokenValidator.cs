namespace FTGate.Testing;

/// <summary>What a token validator learned about an access token presented to <see cref="TestPop3Server"/>.</summary>
public sealed class TestTokenInfo
{
    /// <summary>Creates the description of an active token.</summary>
    /// <param name="userName">The account the token was issued for, or <see langword="null"/> for an app-only (client credentials) token.</param>
    /// <param name="clientId">The client the token was issued to.</param>
    /// <param name="scopes">The granted scopes.</param>
    /// <param name="expiresOn">When the token expires.</param>
    public TestTokenInfo(string? userName, string clientId, IReadOnlyList<string> scopes, DateTimeOffset expiresOn)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        ArgumentNullException.ThrowIfNull(scopes);
        UserName = userName;
        ClientId = clientId;
        Scopes = scopes;
        ExpiresOn = expiresOn;
    }

    /// <summary>The account the token was issued for; <see langword="null"/> for an app-only token.</summary>
    public string? UserName { get; }

    /// <summary>The client the token was issued to.</summary>
    public string ClientId { get; }

    /// <summary>The granted scopes.</summary>
    public IReadOnlyList<string> Scopes { get; }

    /// <summary>When the token expires.</summary>
    public DateTimeOffset ExpiresOn { get; }
}

/// <summary>
/// Decides whether an access token presented to <see cref="TestPop3Server"/> (SASL XOAUTH2 or OAUTHBEARER) is active, the way
/// Dovecot asks its OAuth server's introspection endpoint. <see cref="TestOAuthAuthority"/> implements it.
/// </summary>
public interface ITestTokenValidator
{
    /// <summary>Looks an access token up.</summary>
    /// <param name="accessToken">The bearer token from the SASL message.</param>
    /// <param name="cancellationToken">Cancels the look-up.</param>
    /// <returns>The token's description when it is active; <see langword="null"/> when it is unknown, expired or revoked.</returns>
    Task<TestTokenInfo?> ValidateAsync(string accessToken, CancellationToken cancellationToken = default);
}

/// <summary>Ready-made <see cref="ITestTokenValidator"/>s for tests that need no <see cref="TestOAuthAuthority"/>.</summary>
public static class TestTokenValidator
{
    /// <summary>Accepts exactly the given tokens, each for its user.</summary>
    /// <param name="tokens">Access token value → user name.</param>
    /// <returns>The validator.</returns>
    public static ITestTokenValidator FromTokens(IReadOnlyDictionary<string, string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var copy = new Dictionary<string, string>(tokens, StringComparer.Ordinal);
        return FromDelegate((token, _) => Task.FromResult(
            copy.TryGetValue(token, out string? user)
                ? new TestTokenInfo(user, "test-client", [], DateTimeOffset.MaxValue)
                : null));
    }

    /// <summary>Wraps a delegate.</summary>
    /// <param name="validate">Returns the token's description, or <see langword="null"/> when the token is not active.</param>
    /// <returns>The validator.</returns>
    public static ITestTokenValidator FromDelegate(Func<string, CancellationToken, Task<TestTokenInfo?>> validate)
    {
        ArgumentNullException.ThrowIfNull(validate);
        return new DelegateValidator(validate);
    }

    private sealed class DelegateValidator(Func<string, CancellationToken, Task<TestTokenInfo?>> validate) : ITestTokenValidator
    {
        public Task<TestTokenInfo?> ValidateAsync(string accessToken, CancellationToken cancellationToken = default) =>
            validate(accessToken, cancellationToken);
    }
}
