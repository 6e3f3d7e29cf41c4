using System.Security.Cryptography;
using System.Text;

namespace FTGate.OAuth;

/// <summary>
/// An OAuth 2.0 access token ready to be presented to a mail server (for example in SASL XOAUTH2).
/// </summary>
/// <remarks>
/// <see cref="ToString"/> never shows the token value: it shows the user, the expiry and a short fingerprint,
/// so an <see cref="AccessToken"/> can be logged safely.
/// </remarks>
public sealed class AccessToken
{
    /// <summary>Creates an access token.</summary>
    /// <param name="value">The bearer token value.</param>
    /// <param name="expiresOn">When the token expires.</param>
    /// <param name="userName">The account the token was issued for (the SASL user for delegated tokens).</param>
    /// <param name="scopes">The scopes granted with the token.</param>
    /// <param name="fromCache"><see langword="true"/> when the token was served from a cache rather than freshly issued.</param>
    public AccessToken(string value, DateTimeOffset expiresOn, string userName, IReadOnlyList<string>? scopes = null, bool fromCache = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        ArgumentNullException.ThrowIfNull(userName);
        Value = value;
        ExpiresOn = expiresOn;
        UserName = userName;
        Scopes = scopes ?? [];
        FromCache = fromCache;
    }

    /// <summary>The bearer token value. Treat it as a secret: never log it.</summary>
    public string Value { get; }

    /// <summary>When the token expires.</summary>
    public DateTimeOffset ExpiresOn { get; }

    /// <summary>The account the token was issued for.</summary>
    public string UserName { get; }

    /// <summary>The scopes granted with the token (may be empty when the server does not report them).</summary>
    public IReadOnlyList<string> Scopes { get; }

    /// <summary>
    /// <see langword="true"/> when the token came from a cache. A mail server that rejects a cached token is a reason to
    /// force one refresh (<see cref="IAuthProvider.RefreshAccessTokenAsync"/>) and try again once.
    /// </summary>
    public bool FromCache { get; }

    /// <summary>Returns a copy of this token marked as served from a cache.</summary>
    /// <returns>The cached copy.</returns>
    internal AccessToken AsCached() => FromCache ? this : new AccessToken(Value, ExpiresOn, UserName, Scopes, fromCache: true);

    /// <summary>A short, non-reversible fingerprint of the token value, for correlating log lines.</summary>
    public string Fingerprint
    {
        get
        {
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(Encoding.UTF8.GetBytes(Value), hash);
            return Convert.ToHexString(hash[..4]).ToLowerInvariant();
        }
    }

    /// <summary>Describes the token without revealing it.</summary>
    /// <returns>User, expiry and fingerprint.</returns>
    public override string ToString() =>
        $"AccessToken(user={UserName}, expires={ExpiresOn:u}, sha256={Fingerprint}…, fromCache={FromCache})";
}
