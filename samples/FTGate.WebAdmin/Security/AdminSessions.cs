using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace FTGate.WebAdmin.Security;

/// <summary>
/// Server-side admin sessions: the cookie carries a random session id and a stamp of the admin password it was started
/// with; a request is accepted only while that session is live here and the password is still the same. Sign-out ends the
/// session here (a copy of the cookie is refused afterwards); a restart, or a start with another password, ends them all.
/// </summary>
internal sealed class AdminSessions(AdminPassword password, TimeProvider time)
{
    public const string SessionClaim = "ftgate:sid";
    public const string PasswordStampClaim = "ftgate:pwd";
    private static readonly TimeSpan s_lifetime = TimeSpan.FromHours(8);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _live = new(StringComparer.Ordinal);

    /// <summary>Starts a session; returns the principal to put in the cookie.</summary>
    public ClaimsPrincipal Start()
    {
        string id = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        _live[id] = time.GetUtcNow();
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, "admin"), new Claim(SessionClaim, id), new Claim(PasswordStampClaim, password.Stamp)],
            CookieAuthenticationDefaults.AuthenticationScheme);
        return new ClaimsPrincipal(identity);
    }

    /// <summary>Whether a cookie's principal belongs to a live session started with the current password.</summary>
    public bool IsLive(ClaimsPrincipal? principal)
    {
        string? id = principal?.FindFirst(SessionClaim)?.Value;
        string? stamp = principal?.FindFirst(PasswordStampClaim)?.Value;
        if (id is null || stamp is null || !password.StampMatches(stamp) || !_live.TryGetValue(id, out DateTimeOffset started))
        {
            return false;
        }

        if (time.GetUtcNow() - started > s_lifetime)
        {
            _live.TryRemove(id, out _);
            return false;
        }

        return true;
    }

    /// <summary>Ends the session of a principal.</summary>
    public void End(ClaimsPrincipal? principal)
    {
        if (principal?.FindFirst(SessionClaim)?.Value is { } id)
        {
            _live.TryRemove(id, out _);
        }
    }

    /// <summary>Ends every session (after a password change).</summary>
    public void EndAll() => _live.Clear();
}
