namespace FTGate.OAuth;

/// <summary>
/// A provider that can take over a refresh token obtained elsewhere (for example by another mail tool for the same client id).
/// Find it without a downcast: <c>if (provider is IRefreshTokenImport import) ...</c>.
/// </summary>
public interface IRefreshTokenImport
{
    /// <summary>Redeems the refresh token at once and stores the resulting grant after the same checks as Authorize Now.</summary>
    /// <param name="userName">The account the refresh token belongs to.</param>
    /// <param name="refreshToken">The refresh token (a secret: it is never logged).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>Who was authorized and which scopes were granted.</returns>
    /// <exception cref="AuthorizationException">The provider rejected the token, or the result is unusable.</exception>
    /// <exception cref="TransientAuthorizationException">The provider is throttling, unreachable or unavailable.</exception>
    Task<AuthorizationResult> ImportRefreshTokenAsync(string userName, string refreshToken, CancellationToken cancellationToken = default);
}

/// <summary>
/// A provider whose app-only mode needs a step by the mail service's administrator (Exchange Online: register the service
/// principal and grant it the mailbox). Find it without a downcast: <c>if (provider is IAppOnlySetupScript setup) ...</c>.
/// </summary>
public interface IAppOnlySetupScript
{
    /// <summary>Returns the script the administrator runs to finish app-only setup for a mailbox.</summary>
    /// <param name="enterpriseApplicationObjectId">The Object ID of the application's service principal (Enterprise Application).</param>
    /// <param name="mailbox">The mailbox; <see langword="null"/> uses the configured one.</param>
    /// <returns>The script.</returns>
    /// <exception cref="ArgumentException">The object id is not a GUID, or no mailbox is given or configured.</exception>
    string GetExchangeAppOnlySetupScript(string enterpriseApplicationObjectId, string? mailbox = null);
}
