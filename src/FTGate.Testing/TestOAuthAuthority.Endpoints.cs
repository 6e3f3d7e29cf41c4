using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace FTGate.Testing;

/// <content>The HTTP endpoints.</content>
public sealed partial class TestOAuthAuthority
{
    private async Task HandleAsync(HttpContext context)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        CancellationToken cancellationToken = linked.Token;
        try
        {
            TimeSpan delay = ResponseDelay;
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }

            string path = context.Request.Path.Value ?? "/";
            bool get = HttpMethods.IsGet(context.Request.Method);
            bool post = HttpMethods.IsPost(context.Request.Method);
            switch (path)
            {
                case "/.well-known/openid-configuration" or "/.well-known/oauth-authorization-server" when get:
                    Counters.Discovery();
                    await WriteJsonAsync(context, StatusCodes.Status200OK, Discovery, cancellationToken).ConfigureAwait(false);
                    break;
                case "/jwks" when get:
                    await WriteJsonAsync(context, StatusCodes.Status200OK, Jwks, cancellationToken).ConfigureAwait(false);
                    break;
                case "/authorize" when get:
                    await AuthorizeAsync(context, cancellationToken).ConfigureAwait(false);
                    break;
                case "/token" when post:
                    await TokenAsync(context, cancellationToken).ConfigureAwait(false);
                    break;
                case "/device_authorization" when post:
                    await DeviceAuthorizationAsync(context, cancellationToken).ConfigureAwait(false);
                    break;
                case "/device" when get:
                    await DeviceVerificationAsync(context, cancellationToken).ConfigureAwait(false);
                    break;
                case "/introspect" when post:
                    await IntrospectAsync(context, cancellationToken).ConfigureAwait(false);
                    break;
                case "/revoke" when post:
                    await RevokeAsync(context, cancellationToken).ConfigureAwait(false);
                    break;
                case "/userinfo" when get:
                    await UserInfoAsync(context, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    break;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            context.Abort();
        }
    }

    private void Discovery(Utf8JsonWriter json)
    {
        string issuer = Issuer.ToString().TrimEnd('/');
        json.WriteString("issuer", issuer);
        json.WriteString("authorization_endpoint", AuthorizationEndpoint.ToString());
        json.WriteString("token_endpoint", TokenEndpoint.ToString());
        json.WriteString("device_authorization_endpoint", DeviceAuthorizationEndpoint.ToString());
        json.WriteString("introspection_endpoint", IntrospectionEndpoint.ToString());
        json.WriteString("revocation_endpoint", RevocationEndpoint.ToString());
        json.WriteString("userinfo_endpoint", new Uri(Issuer, "/userinfo").ToString());
        json.WriteString("jwks_uri", new Uri(Issuer, "/jwks").ToString());
        WriteArray(json, "response_types_supported", ["code"]);
        WriteArray(json, "grant_types_supported", ["authorization_code", "refresh_token", DeviceCodeGrantType, "client_credentials"]);
        WriteArray(json, "code_challenge_methods_supported", ["S256"]);
        WriteArray(json, "token_endpoint_auth_methods_supported", ["client_secret_basic", "client_secret_post", "none"]);
        WriteArray(json, "scopes_supported", ["openid", "email", "profile", "offline_access", MailScope]);
        WriteArray(json, "subject_types_supported", ["public"]);
        WriteArray(json, "id_token_signing_alg_values_supported", ["ES256"]);
        json.WriteBoolean("authorization_response_iss_parameter_supported", true);
    }

    private void Jwks(Utf8JsonWriter json)
    {
        ECParameters key = _signingKey.ExportParameters(includePrivateParameters: false);
        json.WriteStartArray("keys");
        json.WriteStartObject();
        json.WriteString("kty", "EC");
        json.WriteString("crv", "P-256");
        json.WriteString("use", "sig");
        json.WriteString("alg", "ES256");
        json.WriteString("kid", _keyId);
        json.WriteString("x", WebEncoders.Base64UrlEncode(key.Q.X!));
        json.WriteString("y", WebEncoders.Base64UrlEncode(key.Q.Y!));
        json.WriteEndObject();
        json.WriteEndArray();
    }

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
        string method = query["code_challenge_method"].FirstOrDefault() ?? "plain";
        string? user = SignedInUser ?? query["login_hint"].FirstOrDefault();
        string? error = null;
        string? description = null;
        if (!string.Equals(query["response_type"], "code", StringComparison.Ordinal))
        {
            (error, description) = ("unsupported_response_type", "Only response_type=code is supported.");
        }
        else if (challenge is null && client.IsPublic && _options.RequirePkce)
        {
            (error, description) = ("invalid_request", "code_challenge is required (PKCE).");
        }
        else if (challenge is not null && method != "S256")
        {
            (error, description) = ("invalid_request", "code_challenge_method must be S256.");
        }
        else if (DenyConsent)
        {
            (error, description) = ("access_denied", "The user declined to grant access.");
        }
        else if (string.IsNullOrEmpty(user))
        {
            (error, description) = ("login_required", "No user is signed in: set SignedInUser or send login_hint.");
        }

        var parameters = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (error is not null)
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
                    user!, // Checked above: error is set when the user is missing.
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

    private async Task DeviceAuthorizationAsync(HttpContext context, CancellationToken cancellationToken)
    {
        Counters.DeviceAuthorization();
        IFormCollection form = await ReadFormAsync(context, cancellationToken).ConfigureAwait(false);
        (TestOAuthClient? client, string? clientError) = AuthenticateClient(context, form);
        if (client is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status401Unauthorized, "invalid_client", clientError, cancellationToken).ConfigureAwait(false);
            return;
        }

        string deviceCode = NewHandle("dc_");
        string userCode = NewUserCode();
        lock (_lock)
        {
            _deviceCodes[deviceCode] = new DeviceRecord(client.ClientId, userCode, SplitScopes(form["scope"]), _time.GetUtcNow() + _options.CodeLifetime);
        }

        Uri verification = new(Issuer, "/device");
        await WriteJsonAsync(
            context,
            StatusCodes.Status200OK,
            json =>
            {
                json.WriteString("device_code", deviceCode);
                json.WriteString("user_code", userCode);
                json.WriteString("verification_uri", verification.ToString());
                json.WriteString("verification_uri_complete", QueryHelpers.AddQueryString(verification.ToString(), "user_code", userCode));
                json.WriteNumber("expires_in", (long)_options.CodeLifetime.TotalSeconds);
                json.WriteNumber("interval", Math.Max(0, (long)_options.DeviceCodeInterval.TotalSeconds));
                json.WriteString("message", $"To sign in, open {verification} and enter the code {userCode}.");
            },
            cancellationToken).ConfigureAwait(false);
    }

    private static string NewUserCode()
    {
        const string alphabet = "BCDFGHJKLMNPQRSTVWXZ";
        Span<char> code = stackalloc char[9];
        for (int i = 0; i < code.Length; i++)
        {
            code[i] = i == 4 ? '-' : alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        }

        return new string(code);
    }

    private async Task DeviceVerificationAsync(HttpContext context, CancellationToken cancellationToken)
    {
        string? userCode = context.Request.Query["user_code"];
        string? user = SignedInUser ?? context.Request.Query["login_hint"].FirstOrDefault();
        bool approved = userCode is not null && user is not null && SetDeviceState(userCode, DeviceState.Approved, user);
        await WriteTextAsync(
            context,
            approved ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest,
            approved ? "Device approved. You can close this window." : "Unknown or expired code, or no signed-in user.",
            cancellationToken).ConfigureAwait(false);
    }

    private async Task DeviceCodeGrantAsync(HttpContext context, TestOAuthClient client, IFormCollection form, CancellationToken cancellationToken)
    {
        string deviceCode = form["device_code"].FirstOrDefault() ?? string.Empty;
        string? error;
        string? description = null;
        Grant? grant = null;
        lock (_lock)
        {
            if (!_deviceCodes.TryGetValue(deviceCode, out DeviceRecord? record) || record.ClientId != client.ClientId || record.State == DeviceState.Redeemed)
            {
                (error, description) = ("invalid_grant", "The device code is invalid or already used.");
            }
            else if (record.ExpiresOn <= _time.GetUtcNow())
            {
                error = "expired_token";
            }
            else if (record.State == DeviceState.Denied)
            {
                error = "access_denied";
            }
            else if (record.State == DeviceState.Pending)
            {
                error = "authorization_pending";
            }
            else
            {
                error = null;
                record.State = DeviceState.Redeemed;
                grant = new Grant(record.UserName, client.ClientId, record.Scopes);
            }
        }

        if (grant is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, error!, description, cancellationToken).ConfigureAwait(false);
            return;
        }

        await WriteTokensAsync(context, grant, refresh: true, nonce: null, cancellationToken).ConfigureAwait(false);
    }

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

    private async Task UserInfoAsync(HttpContext context, CancellationToken cancellationToken)
    {
        string header = context.Request.Headers.Authorization.ToString();
        TestTokenInfo? info = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? Lookup(header[7..].Trim()) : null;
        if (info?.UserName is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        await WriteJsonAsync(
            context,
            StatusCodes.Status200OK,
            json =>
            {
                json.WriteString("sub", info.UserName);
                json.WriteString("email", info.UserName);
                json.WriteString("preferred_username", info.UserName);
            },
            cancellationToken).ConfigureAwait(false);
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

    private (TestOAuthClient? Client, string? Error) AuthenticateClient(HttpContext context, IFormCollection form)
    {
        string? clientId = form["client_id"];
        string? secret = form["client_secret"];
        string header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                string decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                int colon = decoded.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    // RFC 6749 §2.3.1: both parts are form-url-encoded before Basic encoding.
                    clientId = Uri.UnescapeDataString(decoded[..colon].Replace('+', ' '));
                    secret = Uri.UnescapeDataString(decoded[(colon + 1)..].Replace('+', ' '));
                }
            }
            catch (FormatException)
            {
                return (null, "Malformed Basic authorization header.");
            }
        }

        TestOAuthClient? client = FindClient(clientId);
        if (client is null)
        {
            return (null, $"Unknown client '{clientId}'.");
        }

        if (client.ClientSecret is not null && !string.Equals(client.ClientSecret, secret, StringComparison.Ordinal))
        {
            return (null, secret is null ? "The client secret is missing." : "Invalid client secret provided.");
        }

        return (client, null);
    }

    private TestOAuthClient? FindClient(string? clientId)
    {
        if (clientId is null)
        {
            return null;
        }

        lock (_lock)
        {
            return _clients.GetValueOrDefault(clientId);
        }
    }

    private static string[] SplitScopes(StringValues scope) =>
        (scope.FirstOrDefault() ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static async Task<IFormCollection> ReadFormAsync(HttpContext context, CancellationToken cancellationToken) =>
        context.Request.HasFormContentType
            ? await context.Request.ReadFormAsync(cancellationToken).ConfigureAwait(false)
            : FormCollection.Empty;

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            write(json);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteArray(Utf8JsonWriter json, string name, string[] values)
    {
        json.WriteStartArray(name);
        foreach (string value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
    {
        byte[] body = Json(write);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, cancellationToken).ConfigureAwait(false);
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string error, string? description, CancellationToken cancellationToken) =>
        WriteJsonAsync(
            context,
            status,
            json =>
            {
                json.WriteString("error", error);
                if (description is not null)
                {
                    json.WriteString("error_description", description);
                }
            },
            cancellationToken);

    private static async Task WriteTextAsync(HttpContext context, int status, string text, CancellationToken cancellationToken)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(text, cancellationToken).ConfigureAwait(false);
    }
}
