using FTGate.OAuth;
using FTGate.Redis.Internal;
using StackExchange.Redis;

namespace FTGate.Redis;

/// <summary>
/// An <see cref="ITokenStore"/> on Redis for a farm: every entry is encrypted before it leaves the process, with the file
/// token store's envelope (AES-256-GCM, the entry's key and version authenticated with the ciphertext), so Redis never holds
/// a token in plain text; writes are compare-and-set by a Lua script on the entry's version, so a rotated refresh token is
/// never overwritten by a node that read an older one.
/// </summary>
/// <remarks>
/// Pending Authorize Now requests (keys starting with <c>pending/</c>) are stored here too, so the callback may land on any
/// node; Redis deletes them after <see cref="RedisOptions.PendingAuthorizationRetention"/>. Failures to reach Redis raise
/// <see cref="RedisUnavailableException"/>.
/// </remarks>
public sealed class RedisTokenStore : ITokenStore
{
    // KEYS[1] entry; ARGV[1] expected version ('' = expect none), ARGV[2] new envelope, ARGV[3] expiry in ms (0 = none).
    // The version is read from the envelope's header: "FTGT1\n", one length byte, the version.
    private const string VersionFunction =
        "local function ver(v) if not v then return '' end if string.sub(v, 1, 6) ~= 'FTGT1\\n' then return '?' end " +
        "local n = string.byte(v, 7) return string.sub(v, 8, 7 + n) end ";

    private const string SetScript = VersionFunction +
        "local cur = ver(redis.call('GET', KEYS[1])) " +
        "if cur ~= ARGV[1] then return cur end " +
        "if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) else redis.call('SET', KEYS[1], ARGV[2]) end " +
        "return true";

    private const string RemoveScript = VersionFunction +
        "local cur = ver(redis.call('GET', KEYS[1])) " +
        "if ARGV[1] ~= '' and cur ~= ARGV[1] then return cur end " +
        "if cur == '' then return 0 end " +
        "redis.call('DEL', KEYS[1]) return 1";

    private const string PendingPrefix = "pending/";
    private readonly RedisConnection _redis;

    internal RedisTokenStore(RedisConnection redis) => _redis = redis;

    /// <inheritdoc />
    /// <exception cref="RedisUnavailableException">Redis cannot be reached or is not ready.</exception>
    public async Task<TokenStoreEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        RedisKey redisKey = _redis.TokenKey(key);
        RedisValue value = await _redis.RunAsync("reading a token-store entry", db => db.StringGetAsync(redisKey), cancellationToken).ConfigureAwait(false);
        if (value.IsNull)
        {
            return null;
        }

        return TokenEnvelope.Decrypt(_redis.AesKey.Value, key, $"Redis key '{redisKey}'", (byte[])value!); // not null: IsNull was checked above
    }

    /// <inheritdoc />
    /// <exception cref="RedisUnavailableException">Redis cannot be reached or is not ready; nothing was written.</exception>
    public async Task<string> SetAsync(string key, ReadOnlyMemory<byte> value, string? expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        string version = Guid.NewGuid().ToString("N");
        byte[] envelope = TokenEnvelope.Encrypt(_redis.AesKey.Value, key, version, value.Span);
        long expiry = key.StartsWith(PendingPrefix, StringComparison.Ordinal) ? (long)_redis.Options.PendingAuthorizationRetention.TotalMilliseconds : 0;
        RedisKey redisKey = _redis.TokenKey(key);
        RedisResult result = await _redis.RunAsync(
            "writing a token-store entry",
            db => db.ScriptEvaluateAsync(SetScript, [redisKey], [expectedVersion ?? "", envelope, expiry]),
            cancellationToken).ConfigureAwait(false);
        if (result.Resp2Type == ResultType.Integer && (long)result == 1)
        {
            return version;
        }

        throw new TokenStoreConcurrencyException(key, expectedVersion, ActualVersion(result));
    }

    /// <inheritdoc />
    /// <exception cref="RedisUnavailableException">Redis cannot be reached or is not ready; nothing was removed.</exception>
    public async Task<bool> RemoveAsync(string key, string? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        RedisKey redisKey = _redis.TokenKey(key);
        RedisResult result = await _redis.RunAsync(
            "removing a token-store entry",
            db => db.ScriptEvaluateAsync(RemoveScript, [redisKey], [expectedVersion ?? ""]),
            cancellationToken).ConfigureAwait(false);
        if (result.Resp2Type == ResultType.Integer)
        {
            return (long)result == 1;
        }

        throw new TokenStoreConcurrencyException(key, expectedVersion, ActualVersion(result));
    }

    private static string? ActualVersion(RedisResult result)
    {
        string? actual = (string?)result;
        return string.IsNullOrEmpty(actual) ? null : actual;
    }
}
