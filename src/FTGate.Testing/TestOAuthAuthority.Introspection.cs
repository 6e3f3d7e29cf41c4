using Microsoft.AspNetCore.Http;

namespace FTGate.Testing;

/// <content>The introspection (RFC 7662) and revocation (RFC 7009) endpoints.</content>
public sealed partial class TestOAuthAuthority
{
    private async Task IntrospectAsync(HttpContext context, CancellationToken cancellationToken)
    {
        IFormCollection form = await ReadFormAsync(context, cancellationToken).ConfigureAwait(false);
        if (context.Request.Headers.Authorization.Count > 0 && AuthenticateClient(context, form).Client is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status401Unauthorized, "invalid_client", "Client authentication failed.", cancellationToken).ConfigureAwait(false);
            return;
        }

        TestTokenInfo? info = await ValidateAsync(form["token"].FirstOrDefault() ?? string.Empty, cancellationToken).ConfigureAwait(false);
        await WriteJsonAsync(
            context,
            StatusCodes.Status200OK,
            json =>
            {
                json.WriteBoolean("active", info is not null);
                if (info is null)
                {
                    return;
                }

                json.WriteString("iss", Issuer.ToString().TrimEnd('/'));
                json.WriteString("client_id", info.ClientId);
                json.WriteString("scope", string.Join(' ', info.Scopes));
                json.WriteString("token_type", "Bearer");
                json.WriteNumber("exp", info.ExpiresOn.ToUnixTimeSeconds());
                json.WriteString("sub", info.UserName ?? info.ClientId);
                if (info.UserName is not null)
                {
                    json.WriteString("username", info.UserName);
                    json.WriteString("email", info.UserName);
                }
            },
            cancellationToken).ConfigureAwait(false);
    }

    private async Task RevokeAsync(HttpContext context, CancellationToken cancellationToken)
    {
        Counters.Revocation();
        IFormCollection form = await ReadFormAsync(context, cancellationToken).ConfigureAwait(false);
        string token = form["token"].FirstOrDefault() ?? string.Empty;
        lock (_lock)
        {
            if (_refreshTokens.TryGetValue(token, out RefreshTokenRecord? refresh))
            {
                refresh.Grant.Revoked = true; // RFC 7009 §2.1: revoking a refresh token revokes its grant.
            }
            else if (_accessTokens.Remove(token))
            {
                // Only this access token.
            }
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
    }
}
