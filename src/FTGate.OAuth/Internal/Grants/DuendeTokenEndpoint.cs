using System.Text.Json;
using Duende.IdentityModel.Client;

namespace FTGate.OAuth.Internal;

/// <summary>The client part of a token request: who the client is and how it authenticates.</summary>
internal sealed record GrantClient(string ClientId, string? ClientSecret, ClientCredentialStyle CredentialStyle);

/// <summary>
/// A token endpoint spoken to through Duende.IdentityModel (generic OAuth2 servers; Microsoft's public-client code redemption,
/// which MSAL has no API for). Duende builds the form and parses the answer; this maps what it reports, and what it lets
/// through (the HTTP client's timeout), to a <see cref="TokenEndpointFailure"/>.
/// </summary>
internal sealed class DuendeTokenEndpoint : ITokenEndpoint
{
    private readonly HttpClient _http;
    private readonly Func<CancellationToken, Task<string>> _address;
    private readonly Func<GrantClient> _client;
    private readonly TimeProvider _time;
    private readonly IReadOnlyDictionary<string, string> _extra;

    /// <param name="http">The HTTP client (its timeout bounds each request).</param>
    /// <param name="address">Resolves the token endpoint (discovery may be involved).</param>
    /// <param name="client">The client id, secret and authentication style.</param>
    /// <param name="time">The clock for an HTTP-date Retry-After.</param>
    /// <param name="extra">Extra form parameters the provider's server wants (Microsoft: scope, client_info).</param>
    public DuendeTokenEndpoint(HttpClient http, Func<CancellationToken, Task<string>> address, Func<GrantClient> client, TimeProvider time, IReadOnlyDictionary<string, string>? extra = null)
    {
        _http = http;
        _address = address;
        _client = client;
        _time = time;
        _extra = extra ?? new Dictionary<string, string>();
    }

    public async Task<TokenEndpointResult> RefreshAsync(string refreshToken, CancellationToken cancellationToken)
    {
        string address = await _address(cancellationToken).ConfigureAwait(false);
        GrantClient client = _client();
        var request = new RefreshTokenRequest { Address = address, RefreshToken = refreshToken };
        return await SendAsync(Prepare(request, client), r => _http.RequestRefreshTokenAsync(r, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    public async Task<TokenEndpointResult> RedeemCodeAsync(CodeRedemption redemption, CancellationToken cancellationToken)
    {
        string address = await _address(cancellationToken).ConfigureAwait(false);
        GrantClient client = _client();
        var request = new AuthorizationCodeTokenRequest
        {
            Address = address,
            Code = redemption.Code,
            RedirectUri = redemption.RedirectUri,
            CodeVerifier = redemption.CodeVerifier,
        };
        return await SendAsync(Prepare(request, client), r => _http.RequestAuthorizationCodeTokenAsync(r, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends one Duende request; the HTTP client's timeout becomes a failure, the caller's cancellation escapes.</summary>
    public static async Task<TokenEndpointResult> SendAsync<TRequest>(TRequest request, Func<TRequest, Task<TokenResponse>> send, HttpClient http, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            return Read(await send(request).ConfigureAwait(false), time.GetUtcNow());
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            return new TokenEndpointFailure { TimedOutAfter = http.Timeout, Inner = ex };
        }
    }

    /// <summary>A Duende token response as a grant or a failure; a 200 that is not a token response is a failure too.</summary>
    public static TokenEndpointResult Read(TokenResponse response, DateTimeOffset now)
    {
        if (response.IsError)
        {
            return ToFailure(response, now);
        }

        string? accessToken = SafeTryGet(response, "access_token");
        if (string.IsNullOrEmpty(accessToken))
        {
            return new TokenEndpointFailure { InvalidResponse = true, StatusCode = response.HttpStatusCode };
        }

        return new TokenGrantResponse(
            accessToken,
            SafeTryGet(response, "refresh_token"),
            response.ExpiresIn > 0 ? TimeSpan.FromSeconds(response.ExpiresIn) : null,
            SafeTryGet(response, "scope"),
            SafeTryGet(response, "token_type"),
            SafeTryGet(response, "id_token"));
    }

    /// <summary>What went wrong, read from whatever Duende has: the RFC 6749 fields from the body (also of a 401), the status, Retry-After.</summary>
    public static TokenEndpointFailure ToFailure(ProtocolResponse response, DateTimeOffset now)
    {
        bool answered = response.HttpResponse is not null;
        bool notJson = response.ErrorType == ResponseErrorType.Exception && answered;
        return new TokenEndpointFailure
        {
            Error = SafeTryGet(response, "error") ?? (response.ErrorType == ResponseErrorType.Protocol ? response.Error : null),
            ErrorDescription = SafeTryGet(response, "error_description"),
            StatusCode = answered ? response.HttpStatusCode : null,
            RetryAfter = RetryAfterHeader.Read(response.HttpResponse?.Headers, now),
            Network = response.ErrorType == ResponseErrorType.Exception && !answered,
            InvalidResponse = notJson && response.Exception is JsonException,
            Inner = response.Exception,
        };
    }

    /// <summary>A string field of the JSON body, or <see langword="null"/> (no body, not an object, not a string).</summary>
    public static string? SafeTryGet(ProtocolResponse response, string name)
    {
        try
        {
            return response.Json is { ValueKind: JsonValueKind.Object } json && json.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private Task<TokenEndpointResult> SendAsync<TRequest>(TRequest request, Func<TRequest, Task<TokenResponse>> send, CancellationToken cancellationToken) =>
        SendAsync(request, send, _http, _time, cancellationToken);

    private TRequest Prepare<TRequest>(TRequest request, GrantClient client)
        where TRequest : ProtocolRequest
    {
        request.ClientId = client.ClientId;
        request.ClientSecret = client.ClientSecret;
        request.ClientCredentialStyle = client.CredentialStyle;
        foreach ((string key, string value) in _extra)
        {
            request.Parameters.Add(key, value);
        }

        return request;
    }
}
