using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace FTGate.Testing;

/// <content>The HTTP endpoints: the router and the helpers every endpoint uses (client authentication, forms, JSON).</content>
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
