using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;

namespace FTGate.WebAdmin.Security;

/// <summary>
/// Remembers, in an encrypted cookie of the admin's browser, which provider each "Authorize Now" started there belongs to
/// (state → provider). The SDK keeps the pending authorization itself (PKCE verifier, redirect URI, expiry) server-side and
/// validates the state; this cookie only routes the callback to the right provider and binds it to the browser that started it.
/// </summary>
internal sealed class PendingAuthorizations(IDataProtectionProvider dataProtection, TimeProvider time, WebAdminOptions options)
{
    private const string CookieName = "ftgate.authz";
    private const int MaxEntries = 8;
    private readonly IDataProtector _protector = dataProtection.CreateProtector("FTGate.WebAdmin.PendingAuthorizations.v1");

    /// <summary>Records a started authorization.</summary>
    public void Add(HttpContext context, string state, string providerName, DateTimeOffset expiresOn)
    {
        List<Entry> entries = Read(context);
        entries.RemoveAll(e => e.State == state);
        entries.Add(new Entry(state, providerName, expiresOn));
        Write(context, entries);
    }

    /// <summary>
    /// Finds the provider of a state started in this browser. Entries are kept (until they expire) after use, so a replayed
    /// callback reaches the SDK, which reports it as replayed.
    /// </summary>
    public string? FindProvider(HttpContext context, string? state)
    {
        if (string.IsNullOrEmpty(state))
        {
            return null;
        }

        return Read(context).FirstOrDefault(e => e.State == state)?.Provider;
    }

    private List<Entry> Read(HttpContext context)
    {
        if (!context.Request.Cookies.TryGetValue(CookieName, out string? value) || string.IsNullOrEmpty(value))
        {
            return [];
        }

        try
        {
            List<Entry> entries = JsonSerializer.Deserialize<List<Entry>>(_protector.Unprotect(value)) ?? [];
            DateTimeOffset now = time.GetUtcNow();

            // Keep entries a little past the SDK's expiry so that a late callback is reported as expired, not unknown.
            entries.RemoveAll(e => e.ExpiresOn.AddMinutes(30) < now);
            return entries;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private void Write(HttpContext context, List<Entry> entries)
    {
        if (entries.Count > MaxEntries)
        {
            entries.RemoveRange(0, entries.Count - MaxEntries);
        }

        context.Response.Cookies.Append(CookieName, _protector.Protect(JsonSerializer.Serialize(entries)), new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Lax,
            Secure = context.Request.IsHttps || options.SecureCookies,
            Path = "/",
            MaxAge = TimeSpan.FromHours(1),
            IsEssential = true,
        });
    }

    internal sealed record Entry(string State, string Provider, DateTimeOffset ExpiresOn);
}
