namespace FTGate.OAuth.Internal;

/// <summary>Errors for what came back to the redirect URI.</summary>
internal static class CallbackErrors
{
    public static AuthorizationException FromCallback(string providerName, AuthorizationCallback callback, ProviderRemedies remedies)
    {
        // Called only for a callback that carries an error.
        string described = callback.ErrorDescription is null ? callback.Error! : $"{callback.Error}: {callback.ErrorDescription}";
        (string code, string remedy) = callback.Error switch
        {
            "access_denied" or "admin_policy_enforced" or "consent_required" or "interaction_required" or "login_required" => (FTGateErrorCodes.AccessDenied, remedies.AccessDenied),
            "invalid_client" or "unauthorized_client" => (FTGateErrorCodes.InvalidClient, remedies.InvalidClient),
            "invalid_scope" => (FTGateErrorCodes.InvalidScope, remedies.InvalidScope),
            "redirect_uri_mismatch" => (FTGateErrorCodes.RedirectUriMismatch, "Register the redirect URI exactly (scheme, host, port and path) with the provider."),
            "temporarily_unavailable" or "server_error" => (FTGateErrorCodes.ProviderUnavailable, "Try Authorize Now again in a few minutes."),
            _ => (FTGateErrorCodes.ProviderError, "Read the provider's error text in this message and correct the app registration or the options."),
        };
        return new AuthorizationException(code, $"Provider '{providerName}': the sign-in was not completed ({described}).", remedy, providerName, callback.Error, callback.ErrorDescription);
    }

    public static AuthorizationException NoCode(string providerName) => new(
        FTGateErrorCodes.CallbackInvalid,
        $"Provider '{providerName}': the authorization callback carries neither a code nor an error.",
        "Pass the full redirect URI (with its query string) that the browser was sent to.",
        providerName);
}
