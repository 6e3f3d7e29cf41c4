using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace FTGate.Testing;

/// <content>The device authorization grant (RFC 8628): device authorization, verification and the device code grant.</content>
public sealed partial class TestOAuthAuthority
{
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
        string error = string.Empty; // Set in every branch that leaves grant null.
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
                record.State = DeviceState.Redeemed;
                grant = new Grant(record.UserName, client.ClientId, record.Scopes);
            }
        }

        if (grant is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, error, description, cancellationToken).ConfigureAwait(false);
            return;
        }

        await WriteTokensAsync(context, grant, refresh: true, nonce: null, cancellationToken).ConfigureAwait(false);
    }
}
