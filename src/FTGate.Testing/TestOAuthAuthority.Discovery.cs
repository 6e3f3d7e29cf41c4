using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace FTGate.Testing;

/// <content>The discovery document, the JWKS and the userinfo endpoint.</content>
public sealed partial class TestOAuthAuthority
{
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
        json.WriteString("x", WebEncoders.Base64UrlEncode(key.Q.X!)); // An exported P-256 public key always has both coordinates.
        json.WriteString("y", WebEncoders.Base64UrlEncode(key.Q.Y!)); // (ECPoint types them nullable for other key kinds.)
        json.WriteEndObject();
        json.WriteEndArray();
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
}
