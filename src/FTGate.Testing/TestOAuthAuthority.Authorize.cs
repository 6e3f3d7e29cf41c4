using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace FTGate.Testing;

/// <content>The authorization endpoint (authorization code with PKCE).</content>
public sealed partial class TestOAuthAuthority
{
    private async Task AuthorizeAsync(HttpContext context, CancellationToken cancellationToken)
    {
        Counters.Authorization();
        IQueryCollection query = context.Request.Query;
        string? clientId = query["client_id"];
        TestOAuthClient? client = FindClient(clientId);
        if (client is null)
        {
            await WriteTextAsync(context, StatusCodes.Status400BadRequest, $"invalid_client: unknown client_id '{clientId}'.", cancellationToken).ConfigureAwait(false);
            return;
        }

        string? redirectUri = query["redirect_uri"];
        string? effectiveRedirect = redirectUri ?? (client.RedirectUris.Count == 1 ? client.RedirectUris[0] : null);
        if (effectiveRedirect is null || !Uri.TryCreate(effectiveRedirect, UriKind.Absolute, out _) || !RedirectAllowed(client, effectiveRedirect))
        {
            await WriteTextAsync(context, StatusCodes.Status400BadRequest, $"redirect_uri_mismatch: '{effectiveRedirect}' is not registered for client '{client.ClientId}'.", cancellationToken).ConfigureAwait(false);
            return;
        }

        string? state = query["state"];
        string? challenge = query["code_challenge"];
        string? user = SignedInUser ?? query["login_hint"].FirstOrDefault();
        (string? error, string? description) = CheckAuthorizationRequest(query, client, challenge, user);

        var parameters = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (error is not null || string.IsNullOrEmpty(user))
        {
            parameters["error"] = error;
            parameters["error_description"] = description;
        }
        else
        {
            string code = NewHandle("ac_");
            lock (_lock)
            {
                _codes[code] = new CodeRecord(
                    client.ClientId,
                    redirectUri,
                    challenge,
                    user,
                    SplitScopes(query["scope"]),
                    query["nonce"],
                    _time.GetUtcNow() + _options.CodeLifetime);
            }

            parameters["code"] = code;
        }

        if (state is not null)
        {
            parameters["state"] = state;
        }

        parameters["iss"] = Issuer.ToString().TrimEnd('/');
        context.Response.StatusCode = StatusCodes.Status302Found;
        context.Response.Headers.Location = QueryHelpers.AddQueryString(effectiveRedirect, parameters);
    }

    private (string? Error, string? Description) CheckAuthorizationRequest(IQueryCollection query, TestOAuthClient client, string? challenge, string? user)
    {
        string method = query["code_challenge_method"].FirstOrDefault() ?? "plain";
        if (!string.Equals(query["response_type"], "code", StringComparison.Ordinal))
        {
            return ("unsupported_response_type", "Only response_type=code is supported.");
        }

        if (challenge is null && client.IsPublic && _options.RequirePkce)
        {
            return ("invalid_request", "code_challenge is required (PKCE).");
        }

        if (challenge is not null && method != "S256")
        {
            return ("invalid_request", "code_challenge_method must be S256.");
        }

        if (DenyConsent)
        {
            return ("access_denied", "The user declined to grant access.");
        }

        if (string.IsNullOrEmpty(user))
        {
            return ("login_required", "No user is signed in: set SignedInUser or send login_hint.");
        }

        return (null, null);
    }

    private static bool RedirectAllowed(TestOAuthClient client, string redirectUri)
    {
        if (client.RedirectUris.Count == 0)
        {
            return true;
        }

        var candidate = new Uri(redirectUri);
        foreach (string registered in client.RedirectUris)
        {
            if (string.Equals(registered, redirectUri, StringComparison.Ordinal))
            {
                return true;
            }

            // RFC 8252 §7.3: a native app's loopback redirect may use any port.
            if (Uri.TryCreate(registered, UriKind.Absolute, out Uri? uri) && uri.IsLoopback && candidate.IsLoopback
                && uri.Scheme == Uri.UriSchemeHttp && candidate.Scheme == Uri.UriSchemeHttp
                && string.Equals(uri.Host, candidate.Host, StringComparison.OrdinalIgnoreCase)
                && string.Equals(uri.AbsolutePath, candidate.AbsolutePath, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
