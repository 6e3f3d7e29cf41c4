using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace FTGate.Testing;

/// <content>The token endpoint: authorization code, refresh token and client credentials grants, the token response and the failure switch.</content>
public sealed partial class TestOAuthAuthority
{
    private async Task TokenAsync(HttpContext context, CancellationToken cancellationToken)
    {
        IFormCollection form = await ReadFormAsync(context, cancellationToken).ConfigureAwait(false);
        string grantType = form["grant_type"].FirstOrDefault() ?? string.Empty;
        Counters.Token(grantType);

        if (TakeFailure(grantType) is { } failure)
        {
            await WriteFailureAsync(context, failure, cancellationToken).ConfigureAwait(false);
            return;
        }

        (TestOAuthClient? client, string? clientError) = AuthenticateClient(context, form);
        if (client is null)
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"token\"";
            await WriteErrorAsync(context, StatusCodes.Status401Unauthorized, "invalid_client", clientError, cancellationToken).ConfigureAwait(false);
            return;
        }

        switch (grantType)
        {
            case "authorization_code":
                await AuthorizationCodeGrantAsync(context, client, form, cancellationToken).ConfigureAwait(false);
                break;
            case "refresh_token":
                await RefreshTokenGrantAsync(context, client, form, cancellationToken).ConfigureAwait(false);
                break;
            case DeviceCodeGrantType:
                await DeviceCodeGrantAsync(context, client, form, cancellationToken).ConfigureAwait(false);
                break;
            case "client_credentials":
                if (client.IsPublic)
                {
                    await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "unauthorized_client", "A public client cannot use the client credentials grant.", cancellationToken).ConfigureAwait(false);
                    return;
                }

                await WriteTokensAsync(context, new Grant(null, client.ClientId, SplitScopes(form["scope"])), refresh: false, nonce: null, cancellationToken).ConfigureAwait(false);
                break;
            default:
                await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "unsupported_grant_type", $"grant_type '{grantType}' is not supported.", cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    private async Task AuthorizationCodeGrantAsync(HttpContext context, TestOAuthClient client, IFormCollection form, CancellationToken cancellationToken)
    {
        string code = form["code"].FirstOrDefault() ?? string.Empty;
        CodeRecord? record;
        lock (_lock)
        {
            if (_codes.Remove(code, out record) && (record.ExpiresOn <= _time.GetUtcNow() || record.ClientId != client.ClientId))
            {
                record = null;
            }
        }

        if (record is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_grant", "The authorization code is invalid, expired or already used.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (record.RedirectUri is not null && !string.Equals(record.RedirectUri, form["redirect_uri"], StringComparison.Ordinal))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_grant", "redirect_uri does not match the one in the authorization request.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (record.CodeChallenge is not null)
        {
            string? verifier = form["code_verifier"];
            string? computed = verifier is null ? null : WebEncoders.Base64UrlEncode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
            if (computed is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(computed), Encoding.ASCII.GetBytes(record.CodeChallenge)))
            {
                await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_grant", "PKCE verification failed: code_verifier does not match code_challenge.", cancellationToken).ConfigureAwait(false);
                return;
            }
        }

        await WriteTokensAsync(context, new Grant(record.UserName, client.ClientId, record.Scopes), refresh: true, record.Nonce, cancellationToken).ConfigureAwait(false);
    }

    private async Task RefreshTokenGrantAsync(HttpContext context, TestOAuthClient client, IFormCollection form, CancellationToken cancellationToken)
    {
        string presented = form["refresh_token"].FirstOrDefault() ?? string.Empty;
        Grant? grant = null;
        string? newRefresh = null;
        string? error = null;
        lock (_lock)
        {
            if (!_refreshTokens.TryGetValue(presented, out RefreshTokenRecord? record) || record.Grant.ClientId != client.ClientId)
            {
                error = "The refresh token is invalid.";
            }
            else if (record.Grant.Revoked)
            {
                error = "The refresh token has been revoked.";
            }
            else if (record.ExpiresOn <= _time.GetUtcNow())
            {
                error = "The refresh token has expired.";
            }
            else if (record.Used)
            {
                // Re-use of a rotated refresh token: treat as stolen and revoke the whole grant (RFC 9700 §4.14.2).
                record.Grant.Revoked = true;
                error = "The refresh token was already used; the grant has been revoked.";
            }
            else
            {
                grant = record.Grant;
                if (_options.RotateRefreshTokens)
                {
                    record.Used = true;
                    newRefresh = NewRefreshToken(grant);
                }
                else
                {
                    newRefresh = presented;
                }
            }
        }

        if (grant is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_grant", error, cancellationToken).ConfigureAwait(false);
            return;
        }

        await WriteTokensAsync(context, grant, refresh: false, nonce: null, cancellationToken, refreshToken: newRefresh).ConfigureAwait(false);
    }

    private async Task WriteTokensAsync(HttpContext context, Grant grant, bool refresh, string? nonce, CancellationToken cancellationToken, string? refreshToken = null)
    {
        string accessToken;
        lock (_lock)
        {
            accessToken = NewAccessToken(grant, _options.AccessTokenLifetime);
            if (refresh && grant.UserName is not null)
            {
                refreshToken = NewRefreshToken(grant);
            }
        }

        string? idToken = grant.UserName is not null && grant.Scopes.Contains("openid") ? CreateIdToken(grant, nonce) : null;
        await WriteJsonAsync(
            context,
            StatusCodes.Status200OK,
            json =>
            {
                json.WriteString("access_token", accessToken);
                json.WriteString("token_type", "Bearer");
                json.WriteNumber("expires_in", (long)_options.AccessTokenLifetime.TotalSeconds);
                json.WriteString("scope", string.Join(' ', grant.Scopes));
                if (refreshToken is not null)
                {
                    json.WriteString("refresh_token", refreshToken);
                }

                if (idToken is not null)
                {
                    json.WriteString("id_token", idToken);
                }
            },
            cancellationToken).ConfigureAwait(false);
    }

    private string CreateIdToken(Grant grant, string? nonce)
    {
        DateTimeOffset now = _time.GetUtcNow();
        string header = WebEncoders.Base64UrlEncode(Json(json =>
        {
            json.WriteString("alg", "ES256");
            json.WriteString("typ", "JWT");
            json.WriteString("kid", _keyId);
        }));
        string payload = WebEncoders.Base64UrlEncode(Json(json =>
        {
            json.WriteString("iss", Issuer.ToString().TrimEnd('/'));
            json.WriteString("sub", grant.UserName);
            json.WriteString("aud", grant.ClientId);
            json.WriteNumber("iat", now.ToUnixTimeSeconds());
            json.WriteNumber("exp", (now + _options.AccessTokenLifetime).ToUnixTimeSeconds());
            json.WriteString("email", grant.UserName);
            json.WriteBoolean("email_verified", true);
            json.WriteString("preferred_username", grant.UserName);
            if (nonce is not null)
            {
                json.WriteString("nonce", nonce);
            }
        }));
        byte[] signature = _signingKey.SignData(Encoding.ASCII.GetBytes(header + "." + payload), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return header + "." + payload + "." + WebEncoders.Base64UrlEncode(signature);
    }

    private TestOAuthFailure? TakeFailure(string grantType)
    {
        lock (_lock)
        {
            if (_failure is null || (_failure.GrantType is not null && _failure.GrantType != grantType))
            {
                return null;
            }

            TestOAuthFailure failure = _failure.Failure;
            if (_failure.Remaining != int.MaxValue && --_failure.Remaining <= 0)
            {
                _failure = null;
            }

            return failure;
        }
    }

    private async Task WriteFailureAsync(HttpContext context, TestOAuthFailure failure, CancellationToken cancellationToken)
    {
        switch (failure)
        {
            case TestOAuthFailure.InvalidGrantMicrosoft:
                DateTimeOffset now = _time.GetUtcNow();
                string trace = Guid.NewGuid().ToString();
                string correlation = Guid.NewGuid().ToString();
                string timestamp = now.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
                string issued = now.AddDays(-91).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
                await WriteJsonAsync(
                    context,
                    StatusCodes.Status400BadRequest,
                    json =>
                    {
                        json.WriteString("error", "invalid_grant");
                        json.WriteString(
                            "error_description",
                            $"AADSTS700082: The refresh token has expired due to inactivity. The token was issued on {issued} and was inactive for 90.00:00:00. Trace ID: {trace} Correlation ID: {correlation} Timestamp: {timestamp}");
                        json.WriteStartArray("error_codes");
                        json.WriteNumberValue(700082);
                        json.WriteEndArray();
                        json.WriteString("timestamp", timestamp);
                        json.WriteString("trace_id", trace);
                        json.WriteString("correlation_id", correlation);
                        json.WriteString("error_uri", "https://login.microsoftonline.com/error?code=700082");
                    },
                    cancellationToken).ConfigureAwait(false);
                break;
            case TestOAuthFailure.InvalidGrantGoogle:
                await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_grant", "Token has been expired or revoked.", cancellationToken).ConfigureAwait(false);
                break;
            case TestOAuthFailure.InvalidClient:
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"token\"";
                await WriteErrorAsync(context, StatusCodes.Status401Unauthorized, "invalid_client", "Client authentication failed.", cancellationToken).ConfigureAwait(false);
                break;
            case TestOAuthFailure.TooManyRequests:
                long seconds = Math.Max(0, (long)Math.Ceiling(RetryAfter.TotalSeconds));
                context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, "temporarily_unavailable", $"Too many requests. Retry after {seconds} seconds.", cancellationToken).ConfigureAwait(false);
                break;
            case TestOAuthFailure.ServerError:
                await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, "server_error", "The authorization server encountered an unexpected condition.", cancellationToken).ConfigureAwait(false);
                break;
            default:
                context.Response.ContentType = "text/html";
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                await context.Response.WriteAsync("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>", cancellationToken).ConfigureAwait(false);
                break;
        }
    }
}
