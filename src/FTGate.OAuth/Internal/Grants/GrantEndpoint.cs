using Microsoft.Extensions.Logging;

namespace FTGate.OAuth.Internal;

/// <summary>Maps a token-endpoint failure to the SDK's exception family, with the provider's codes and remedies.</summary>
internal interface IGrantErrorMapper
{
    /// <summary>A refresh of a stored grant failed (<c>invalid_grant</c> there means the grant is dead).</summary>
    AuthorizationException ForRefresh(TokenEndpointFailure failure, string userName);

    /// <summary>Redeeming an authorization code failed (<c>invalid_grant</c> there means this code is unusable).</summary>
    AuthorizationException ForCode(TokenEndpointFailure failure, string userName);
}

/// <summary>The RFC 6749 mapping with one provider's remedy sentences.</summary>
internal sealed class RemediesErrorMapper(string providerName, ProviderRemedies remedies) : IGrantErrorMapper
{
    public AuthorizationException ForRefresh(TokenEndpointFailure failure, string userName) =>
        TokenErrorClassifier.ForGrant(providerName, userName, failure, remedies);

    public AuthorizationException ForCode(TokenEndpointFailure failure, string userName) =>
        TokenErrorClassifier.ForCode(providerName, failure, remedies);
}

/// <summary>
/// One provider's token endpoint with the rules every grant shares: failures become the SDK's exceptions (never a raw
/// library or network exception), and a <c>Retry-After</c> (seconds or HTTP-date) opens a window in which no request is
/// sent at all.
/// </summary>
internal sealed class GrantEndpoint
{
    private readonly string _provider;
    private readonly ITokenEndpoint _endpoint;
    private readonly IGrantErrorMapper _errors;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private DateTimeOffset _quietUntil;

    public GrantEndpoint(string provider, ITokenEndpoint endpoint, IGrantErrorMapper errors, TimeProvider time, ILogger logger)
    {
        _provider = provider;
        _endpoint = endpoint;
        _errors = errors;
        _time = time;
        _logger = logger;
    }

    /// <summary>Refreshes; throws the mapped exception on failure.</summary>
    public async Task<TokenGrantResponse> RefreshAsync(string refreshToken, string userName, CancellationToken cancellationToken)
    {
        ThrowIfInsideRetryAfter(userName);
        TokenEndpointResult result = await _endpoint.RefreshAsync(refreshToken, cancellationToken).ConfigureAwait(false);
        return result.Response ?? throw Fail(result.Failure, userName, _errors.ForRefresh);
    }

    /// <summary>Redeems an authorization code (PKCE); throws the mapped exception on failure.</summary>
    public async Task<TokenGrantResponse> RedeemCodeAsync(CodeRedemption redemption, string userName, CancellationToken cancellationToken)
    {
        ThrowIfInsideRetryAfter(userName);
        TokenEndpointResult result = await _endpoint.RedeemCodeAsync(redemption, cancellationToken).ConfigureAwait(false);
        return result.Response ?? throw Fail(result.Failure, userName, _errors.ForCode);
    }

    private AuthorizationException Fail(TokenEndpointFailure? failure, string userName, Func<TokenEndpointFailure, string, AuthorizationException> map)
    {
        failure ??= new TokenEndpointFailure { InvalidResponse = true };
        AuthorizationException error = map(failure, userName);
        if (error is TransientAuthorizationException && failure.RetryAfter is { } wait && wait > TimeSpan.Zero)
        {
            _quietUntil = _time.GetUtcNow() + wait;
        }

        switch (error)
        {
            case ReauthorizationRequiredException:
                ProviderLog.GrantReauthorizationRequired(_logger, _provider, userName, failure.Describe(), error.Remedy);
                break;
            case TransientAuthorizationException:
                ProviderLog.GrantTokenEndpointTransient(_logger, _provider, userName, failure.Describe());
                break;
            default:
                ProviderLog.GrantTokenRequestFailed(_logger, _provider, userName, failure.Describe(), error.Remedy);
                break;
        }

        return error;
    }

    private void ThrowIfInsideRetryAfter(string userName)
    {
        DateTimeOffset now = _time.GetUtcNow();
        if (now < _quietUntil)
        {
            TimeSpan left = _quietUntil - now;
            ProviderLog.GrantRetryAfterWindow(_logger, _provider, userName, _quietUntil);
            throw new TransientAuthorizationException(
                FormattableString.Invariant($"Provider '{_provider}': the token endpoint asked for a pause (Retry-After) until {_quietUntil:u}; no request was sent ({left.TotalSeconds:0} s left). The stored authorization is kept."),
                _provider,
                left);
        }
    }
}
