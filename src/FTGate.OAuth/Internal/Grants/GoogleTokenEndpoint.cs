using System.Net;
using Google.Apis.Auth.OAuth2.Flows;
using Google.Apis.Auth.OAuth2.Responses;

namespace FTGate.OAuth.Internal;

/// <summary>
/// Google's token endpoint through Google.Apis.Auth's own flow (it builds and parses the requests). What the library throws
/// becomes a <see cref="TokenEndpointFailure"/>, with the Retry-After it does not report read by <see cref="GoogleRetryAfterRecorder"/>.
/// </summary>
internal sealed class GoogleTokenEndpoint : ITokenEndpoint
{
    // Google's flow keys its data store by a user id; the SDK's data store keeps nothing, so one constant id is enough.
    private const string FlowUserId = "ftgate";
    private readonly Func<PkceGoogleAuthorizationCodeFlow> _flow;
    private readonly GoogleRetryAfterRecorder _recorder;

    public GoogleTokenEndpoint(Func<PkceGoogleAuthorizationCodeFlow> flow, GoogleRetryAfterRecorder recorder)
    {
        _flow = flow;
        _recorder = recorder;
    }

    public Task<TokenEndpointResult> RefreshAsync(string refreshToken, CancellationToken cancellationToken) =>
        CallAsync(ct => _flow().RefreshTokenAsync(FlowUserId, refreshToken, ct), cancellationToken);

    public Task<TokenEndpointResult> RedeemCodeAsync(CodeRedemption redemption, CancellationToken cancellationToken) =>
        CallAsync(ct => _flow().ExchangeCodeForTokenAsync(FlowUserId, redemption.Code, redemption.CodeVerifier, redemption.RedirectUri, ct), cancellationToken);

    /// <summary>Maps what Google.Apis.Auth throws to a neutral failure; <see langword="null"/> for anything else (including the caller's cancellation).</summary>
    public static TokenEndpointFailure? ToFailure(Exception ex, TimeSpan timeout, CancellationToken cancellationToken) => ex switch
    {
        TokenResponseException tre => new TokenEndpointFailure
        {
            Error = tre.Error?.Error,
            ErrorDescription = tre.Error?.ErrorDescription,
            StatusCode = tre.StatusCode,
            RetryAfter = GoogleRetryAfterRecorder.Current,
            Inner = tre,
        },
        HttpRequestException hre => new TokenEndpointFailure { Network = true, StatusCode = hre.StatusCode, Inner = hre },
        OperationCanceledException oce when !cancellationToken.IsCancellationRequested => new TokenEndpointFailure { TimedOutAfter = timeout, Inner = oce },
        Newtonsoft.Json.JsonException or System.Text.Json.JsonException => new TokenEndpointFailure { InvalidResponse = true, StatusCode = HttpStatusCode.OK, Inner = ex },
        _ => null,
    };

    private async Task<TokenEndpointResult> CallAsync(Func<CancellationToken, Task<TokenResponse>> call, CancellationToken cancellationToken)
    {
        GoogleRetryAfterRecorder.Begin();
        TokenResponse token;
        try
        {
            token = await call(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ToFailure(ex, _recorder.Timeout, cancellationToken) is { } failure)
        {
            return failure;
        }

        if (string.IsNullOrEmpty(token.AccessToken))
        {
            return new TokenEndpointFailure { InvalidResponse = true, StatusCode = HttpStatusCode.OK };
        }

        return new TokenGrantResponse(
            token.AccessToken,
            token.RefreshToken,
            token.ExpiresInSeconds is > 0 and { } seconds ? TimeSpan.FromSeconds(seconds) : null,
            token.Scope,
            token.TokenType,
            token.IdToken);
    }
}
