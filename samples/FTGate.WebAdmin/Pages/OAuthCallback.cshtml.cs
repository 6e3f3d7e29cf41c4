using FTGate.OAuth;
using FTGate.WebAdmin.Configuration;
using FTGate.WebAdmin.Security;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace FTGate.WebAdmin.Pages;

/// <summary>
/// The redirect URI (<c>/oauth/callback</c>). Needs the admin session (without one the request is refused before it gets
/// here); finds the provider by the state this browser started; lets the SDK validate the state (unknown, expired,
/// replayed), redeem the code with the PKCE verifier and store the tokens; shows the result or the error with its remedy.
/// </summary>
internal sealed class OAuthCallbackModel(FTGateRuntime runtime, PendingAuthorizations pending, ILogger<OAuthCallbackModel> logger) : PageModel
{
    public AuthorizationResult? Result { get; private set; }

    public ErrorView? Error { get; private set; }

    public string? ProviderName { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        AuthorizationCallback callback = AuthorizationCallback.FromQuery(Request.QueryString.Value ?? "");
        ProviderName = pending.FindProvider(HttpContext, callback.State);
        if (ProviderName is null)
        {
            string providerSaid = callback.Error is null ? "" : $" The provider said: {callback.Error}{(callback.ErrorDescription is null ? "" : " — " + callback.ErrorDescription)}.";
            Error = new ErrorView(
                "This authorization response does not match an Authorize Now started from this browser (unknown or missing state), so it was not used." + providerSaid,
                "Open the provider's property page and click Authorize Now again, and finish the sign-in in the same browser within 10 minutes.",
                FTGateErrorCodes.StateUnknown);
            Response.StatusCode = StatusCodes.Status400BadRequest;
            LogRejected(logger, callback.ToString());
            return Page();
        }

        try
        {
            IAuthProvider provider = runtime.Registry.Get(ProviderName);
            Result = await provider.CompleteAuthorizationAsync(callback, cancellationToken);
        }
        catch (FTGateException ex)
        {
            Error = ErrorView.From(ex);
            if (FTGateErrorCatalog.TryExplain(callback.Error, callback.ErrorDescription, out ErrorExplanation? explained))
            {
                // An error shown by the provider's page: its cause and fix from the catalogue (ftgate explain CODE).
                Error = Error with { Message = $"{Error.Message} {explained.Code}: {explained.Cause}", Remedy = explained.Fix };
            }

            Response.StatusCode = StatusCodes.Status400BadRequest;
        }
        catch (Exception ex) when (ex is OptionsValidationException or NotSupportedException)
        {
            Error = new ErrorView(ex.Message, "Fix the provider's settings on its property page.", FTGateErrorCodes.ConfigurationInvalid);
            Response.StatusCode = StatusCodes.Status400BadRequest;
        }

        return Page();
    }

    private static void LogRejected(ILogger logger, string callback) =>
        logger.LogWarning("Rejected an authorization response with an unknown state: {Callback}", callback);
}
