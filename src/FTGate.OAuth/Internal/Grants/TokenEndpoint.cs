using System.Net;
using System.Net.Http.Headers;

namespace FTGate.OAuth.Internal;

/// <summary>A successful token-endpoint answer in library-neutral terms (every string but the scope is a secret).</summary>
internal sealed record TokenGrantResponse(string AccessToken, string? RefreshToken, TimeSpan? ExpiresIn, string? Scope, string? TokenType, string? IdToken)
{
    /// <summary>The granted scopes, or <see langword="null"/> when the answer named none.</summary>
    public IReadOnlyList<string>? Scopes => string.IsNullOrWhiteSpace(Scope) ? null : Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Never shows the tokens.</summary>
    public override string ToString() => $"TokenGrantResponse(expires_in={ExpiresIn}, refresh={(RefreshToken is null ? "no" : "yes")})";
}

/// <summary>Either a <see cref="TokenGrantResponse"/> or a <see cref="TokenEndpointFailure"/>.</summary>
internal readonly record struct TokenEndpointResult(TokenGrantResponse? Response, TokenEndpointFailure? Failure)
{
    public static implicit operator TokenEndpointResult(TokenGrantResponse response) => new(response, null);

    public static implicit operator TokenEndpointResult(TokenEndpointFailure failure) => new(null, failure);
}

/// <summary>What a code redemption needs from the pending authorization.</summary>
internal sealed record CodeRedemption(string Code, string RedirectUri, string CodeVerifier);

/// <summary>
/// One provider's token endpoint, as the <see cref="RefreshTokenGrantFlow"/> sees it: the provider's library (Duende.IdentityModel,
/// Google.Apis.Auth) builds the request and reads the answer. Implementations never throw for what the endpoint or the network
/// did: they return a <see cref="TokenEndpointFailure"/>; only the caller's own cancellation escapes.
/// </summary>
internal interface ITokenEndpoint
{
    /// <summary>The <c>refresh_token</c> grant.</summary>
    Task<TokenEndpointResult> RefreshAsync(string refreshToken, CancellationToken cancellationToken);

    /// <summary>The <c>authorization_code</c> grant with the PKCE verifier.</summary>
    Task<TokenEndpointResult> RedeemCodeAsync(CodeRedemption redemption, CancellationToken cancellationToken);
}

/// <summary>Reads <c>Retry-After</c> as seconds or as an HTTP-date (RFC 9110 §10.2.3).</summary>
internal static class RetryAfterHeader
{
    public static TimeSpan? Read(RetryConditionHeaderValue? value, DateTimeOffset now)
    {
        if (value?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (value?.Date is { } date)
        {
            TimeSpan left = date - now;
            return left < TimeSpan.Zero ? TimeSpan.Zero : left;
        }

        return null;
    }

    public static TimeSpan? Read(HttpResponseHeaders? headers, DateTimeOffset now) => Read(headers?.RetryAfter, now);

    /// <summary>True for the status codes whose Retry-After means "come back later" (429, 503).</summary>
    public static bool Applies(HttpStatusCode? status) => status is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable;
}
