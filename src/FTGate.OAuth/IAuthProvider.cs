namespace FTGate.OAuth;

/// <summary>
/// One configured authentication provider ("Company Email Account"): it authorizes accounts interactively once
/// and then hands out fresh access tokens silently.
/// </summary>
/// <remarks>Implementations are thread-safe. Concurrent <see cref="GetAccessTokenAsync"/> calls for the same user share one refresh.</remarks>
public interface IAuthProvider
{
    /// <summary>The provider's name, unique within the host.</summary>
    string Name { get; }

    /// <summary>The provider's type.</summary>
    AuthProviderKind Kind { get; }

    /// <summary>The account configured for this provider (the user name to sign in as), when one is configured.</summary>
    string? UserName { get; }

    /// <summary>
    /// Starts "Authorize Now": builds the provider's authorization URL with <c>state</c> and PKCE (S256) for the given
    /// redirect URI and remembers the pending request server-side for 10 minutes.
    /// </summary>
    /// <param name="request">The redirect URI and, optionally, the account to sign in.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The URL to open and the state to expect back.</returns>
    /// <exception cref="AuthorizationException">The provider cannot start an interactive authorization with this configuration.</exception>
    Task<AuthorizationChallenge> BeginAuthorizationAsync(AuthorizationRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Completes "Authorize Now" from the callback: validates <c>state</c>, redeems the code with the PKCE verifier,
    /// checks the signed-in account and stores the tokens.
    /// </summary>
    /// <param name="callback">What came back to the redirect URI.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>Who was authorized and which scopes were granted.</returns>
    /// <exception cref="AuthorizationException">The state is unknown, expired or replayed; the provider refused; or the result is unusable (wrong account, no refresh token, scope missing).</exception>
    Task<AuthorizationResult> CompleteAuthorizationAsync(AuthorizationCallback callback, CancellationToken cancellationToken = default);

    /// <summary>
    /// Authorizes with the device authorization grant: <paramref name="onDeviceCode"/> receives the URL and code to show,
    /// then the method polls until the user has finished, the code expires or <paramref name="cancellationToken"/> fires.
    /// </summary>
    /// <param name="onDeviceCode">Shows the verification URL and user code to the person.</param>
    /// <param name="cancellationToken">Cancels the polling.</param>
    /// <returns>Who was authorized and which scopes were granted.</returns>
    /// <exception cref="NotSupportedException">The provider has no device flow (Google's device flow does not allow the Gmail scope).</exception>
    /// <exception cref="AuthorizationException">The provider refused or the code expired.</exception>
    Task<AuthorizationResult> AuthorizeWithDeviceCodeAsync(Func<DeviceCodeInfo, CancellationToken, Task> onDeviceCode, CancellationToken cancellationToken = default);

    /// <summary>Returns a valid access token for the user, from the cache or refreshed silently ahead of expiry.</summary>
    /// <param name="userName">The account (normally <see cref="UserName"/>).</param>
    /// <param name="cancellationToken">Cancels the wait. A refresh already under way for other callers continues.</param>
    /// <returns>The access token.</returns>
    /// <exception cref="ReauthorizationRequiredException">The user is not authorized or the grant is dead.</exception>
    /// <exception cref="TransientAuthorizationException">The provider is throttling or unavailable; try again later.</exception>
    /// <exception cref="AuthorizationException">Any other provider refusal (for example an invalid client secret).</exception>
    Task<AccessToken> GetAccessTokenAsync(string userName, CancellationToken cancellationToken = default);

    /// <summary>
    /// Forces a new access token even if the cached one has not expired: used once when a mail server rejects a cached token.
    /// Concurrent callers share one refresh.
    /// </summary>
    /// <param name="userName">The account.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A freshly issued access token.</returns>
    /// <exception cref="ReauthorizationRequiredException">The grant is dead.</exception>
    /// <exception cref="TransientAuthorizationException">The provider is throttling or unavailable.</exception>
    /// <exception cref="AuthorizationException">Any other provider refusal.</exception>
    Task<AccessToken> RefreshAccessTokenAsync(string userName, CancellationToken cancellationToken = default);

    /// <summary>Reports whether the user is authorized, and if not, why and what to do.</summary>
    /// <param name="userName">The account.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The status; no network call is made.</returns>
    Task<AuthorizationStatus> GetStatusAsync(string userName, CancellationToken cancellationToken = default);

    /// <summary>Forgets the user's tokens (and revokes them at the provider where it offers revocation).</summary>
    /// <param name="userName">The account.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tokens are gone.</returns>
    Task SignOutAsync(string userName, CancellationToken cancellationToken = default);
}
