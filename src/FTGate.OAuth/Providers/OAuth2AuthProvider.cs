using Microsoft.Extensions.Options;

namespace FTGate.OAuth;

/// <summary>The OAuth2 provider. Not implemented yet: every operation throws <see cref="NotSupportedException"/>.</summary>
public sealed class OAuth2AuthProvider : IAuthProvider
{
    private const string NotImplemented = "The OAuth2 provider is not implemented in this build of FTGate.OAuth.";

    /// <summary>Creates the provider.</summary>
    /// <param name="name">The provider's name.</param>
    /// <param name="options">The options, by provider name.</param>
    public OAuth2AuthProvider(string name, IOptionsMonitor<OAuth2AuthOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Name = name;
        UserName = options.Get(name).UserName;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public AuthProviderKind Kind => AuthProviderKind.OAuth2;

    /// <inheritdoc />
    public string? UserName { get; }

    /// <inheritdoc />
    public Task<AuthorizationChallenge> BeginAuthorizationAsync(AuthorizationRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException(NotImplemented);

    /// <inheritdoc />
    public Task<AuthorizationResult> CompleteAuthorizationAsync(AuthorizationCallback callback, CancellationToken cancellationToken = default) => throw new NotSupportedException(NotImplemented);

    /// <inheritdoc />
    public Task<AuthorizationResult> AuthorizeWithDeviceCodeAsync(Func<DeviceCodeInfo, CancellationToken, Task> onDeviceCode, CancellationToken cancellationToken = default) => throw new NotSupportedException(NotImplemented);

    /// <inheritdoc />
    public Task<AccessToken> GetAccessTokenAsync(string userName, CancellationToken cancellationToken = default) => throw new NotSupportedException(NotImplemented);

    /// <inheritdoc />
    public Task<AccessToken> RefreshAccessTokenAsync(string userName, CancellationToken cancellationToken = default) => throw new NotSupportedException(NotImplemented);

    /// <inheritdoc />
    public Task<AuthorizationStatus> GetStatusAsync(string userName, CancellationToken cancellationToken = default) => throw new NotSupportedException(NotImplemented);

    /// <inheritdoc />
    public Task SignOutAsync(string userName, CancellationToken cancellationToken = default) => throw new NotSupportedException(NotImplemented);
}
