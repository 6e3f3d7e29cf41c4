namespace FTGate.OAuth.Internal;

/// <summary>Entra's answers to the token requests the SDK sends itself (public-client code redemption), mapped like MSAL's.</summary>
internal sealed class MicrosoftGrantErrors(string providerName) : IGrantErrorMapper
{
    public AuthorizationException ForRefresh(TokenEndpointFailure failure, string userName) => Map(failure, userName, MicrosoftFlow.Silent);

    public AuthorizationException ForCode(TokenEndpointFailure failure, string userName) => Map(failure, userName, MicrosoftFlow.AuthorizationCode);

    private AuthorizationException Map(TokenEndpointFailure failure, string userName, MicrosoftFlow flow)
    {
        if (failure.IsTransient)
        {
            return TokenErrorClassifier.Transient(providerName, failure);
        }

        if (failure.Error is { } error)
        {
            return MicrosoftErrors.FromOAuthError(error, failure.ErrorDescription, failure.RetryAfter, providerName, userName, flow, failure.Inner, MicrosoftClientShape.Public with { HttpTimeout = failure.TimedOutAfter ?? MicrosoftClientShape.Public.HttpTimeout });
        }

        return new AuthorizationException(
            FTGateErrorCodes.ProviderError,
            $"Provider '{providerName}': Microsoft's token endpoint answered {failure.Describe()} without a token for {userName}.",
            "Check the Authority/TenantId and Cloud settings (the token endpoint is the authority followed by /oauth2/v2.0/token); then run Authorize Now again.",
            providerName,
            innerException: failure.Inner);
    }
}
