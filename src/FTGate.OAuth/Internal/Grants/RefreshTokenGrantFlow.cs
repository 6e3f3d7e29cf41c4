using Microsoft.Extensions.Logging;

namespace FTGate.OAuth.Internal;

/// <summary>
/// The refresh-token grant every provider that owns its tokens shares (Google, generic OAuth2): single flight in the process,
/// the grant's <see cref="IGrantLock"/> across processes (take the lock, read the grant again, refresh only if still due,
/// persist, release), rotation persisted without ever overwriting a newer grant, and errors mapped once. Providers adapt it
/// through their <see cref="ITokenEndpoint"/>.
/// </summary>
internal sealed class RefreshTokenGrantFlow
{
    private readonly string _provider;
    private readonly GrantStore _grants;
    private readonly GrantEndpoint _endpoint;
    private readonly IGrantLock _lock;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _margin;
    private readonly Func<string, string> _notAuthorizedRemedy;
    private readonly SingleFlightTokenCache _cache;

    public RefreshTokenGrantFlow(
        string provider,
        GrantStore grants,
        GrantEndpoint endpoint,
        IGrantLock grantLock,
        TimeProvider time,
        ILogger logger,
        TimeSpan refreshMargin,
        Func<string, string> notAuthorizedRemedy)
    {
        _provider = provider;
        _grants = grants;
        _endpoint = endpoint;
        _lock = grantLock;
        _time = time;
        _logger = logger;
        _margin = refreshMargin;
        _notAuthorizedRemedy = notAuthorizedRemedy;
        _cache = new SingleFlightTokenCache(time);
    }

    /// <summary>Called after every successful refresh with the grant as persisted (Google's Testing-status warning).</summary>
    public Action<StoredGrant>? Refreshed { get; init; }

    public GrantStore Grants => _grants;

    public GrantEndpoint Endpoint => _endpoint;

    /// <summary>The cached token, or one refresh for every concurrent caller.</summary>
    public Task<AccessToken> GetAccessTokenAsync(string userName, CancellationToken cancellationToken) =>
        _cache.GetAsync(userName, _margin, (Flow: this, User: userName), static (s, _) => s.Flow.AcquireAsync(s.User, force: false), cancellationToken);

    /// <summary>A forced refresh (joins one under way).</summary>
    public Task<AccessToken> RefreshAccessTokenAsync(string userName, CancellationToken cancellationToken) =>
        _cache.RefreshAsync(userName, _ => AcquireAsync(userName, force: true), cancellationToken);

    /// <summary>Stores the grant of a new authorization (replacing any other) and seeds the cache.</summary>
    public async Task<StoredGrant> SaveAuthorizationAsync(string userName, TokenGrantResponse response, IReadOnlyList<string> scopes, DateTimeOffset issuedAt, CancellationToken cancellationToken)
    {
        var grant = new StoredGrant
        {
            UserName = userName,
            AccessToken = response.AccessToken,
            AccessTokenExpiresOn = issuedAt + (response.ExpiresIn ?? TimeSpan.FromHours(1)),
            RefreshToken = response.RefreshToken,
            RefreshTokenIssuedOn = issuedAt,
            AuthorizedOn = issuedAt,
            Scopes = [.. scopes],
            TokenType = response.TokenType,
        };
        await _grants.SaveAuthorizationAsync(grant, cancellationToken).ConfigureAwait(false);
        _cache.Set(userName, ToAccessToken(grant));
        return grant;
    }

    /// <summary>Forgets the cached token (sign-out).</summary>
    public void Invalidate(string userName) => _cache.Invalidate(userName);

    public static AccessToken ToAccessToken(StoredGrant grant) => new(grant.AccessToken, grant.AccessTokenExpiresOn, grant.UserName, grant.Scopes);

    private bool IsFresh(StoredGrant grant) => grant.AccessTokenExpiresOn - _margin > _time.GetUtcNow();

    private async Task<AccessToken> AcquireAsync(string userName, bool force)
    {
        string remedy = _notAuthorizedRemedy(userName);
        StoredGrant seen = await _grants.GetUsableAsync(userName, remedy, CancellationToken.None).ConfigureAwait(false);
        if (!force && IsFresh(seen))
        {
            return ToAccessToken(seen);
        }

        IAsyncDisposable held = await AcquireLockAsync(userName).ConfigureAwait(false);
        await using (held.ConfigureAwait(false))
        {
            // Another holder may have refreshed (or rotated) while this one waited: use its result instead of redeeming again.
            StoredGrant current = await _grants.GetUsableAsync(userName, remedy, CancellationToken.None).ConfigureAwait(false);
            if (IsFresh(current) && (!force || !string.Equals(current.AccessToken, seen.AccessToken, StringComparison.Ordinal)))
            {
                ProviderLog.GrantRefreshedElsewhere(_logger, _provider, userName, current.AccessTokenExpiresOn);
                return ToAccessToken(current);
            }

            return await RefreshHeldAsync(userName, current).ConfigureAwait(false);
        }
    }

    private Task<IAsyncDisposable> AcquireLockAsync(string userName) => GrantLocks.AcquireAsync(_lock, _grants.Key(userName), _provider, userName);

    private async Task<AccessToken> RefreshHeldAsync(string userName, StoredGrant current)
    {
        if (string.IsNullOrEmpty(current.RefreshToken))
        {
            throw _grants.NotAuthorized(userName, _notAuthorizedRemedy(userName));
        }

        DateTimeOffset now = _time.GetUtcNow();
        TokenGrantResponse response;
        try
        {
            response = await _endpoint.RefreshAsync(current.RefreshToken, userName, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ReauthorizationRequiredException error)
        {
            string reason = error.Error is null ? error.Message : error.ErrorDescription is null ? error.Error : $"{error.Error}: {error.ErrorDescription}";
            await _grants.MarkReauthorizationRequiredAsync(userName, error.ErrorCode, reason, error.Remedy, CancellationToken.None)
                .ConfigureAwait(false);
            _cache.Invalidate(userName);
            throw;
        }

        StoredGrant refreshed = current.AfterRefresh(
            response.AccessToken,
            response.ExpiresIn ?? TimeSpan.FromHours(1),
            response.RefreshToken,
            response.Scopes,
            response.TokenType,
            now,
            out bool rotated);
        await _grants.SaveRefreshAsync(userName, current.RefreshToken, refreshed, CancellationToken.None).ConfigureAwait(false);
        ProviderLog.GrantRefreshed(_logger, _provider, userName, refreshed.AccessTokenExpiresOn, rotated);
        Refreshed?.Invoke(refreshed);
        return ToAccessToken(refreshed);
    }
}
