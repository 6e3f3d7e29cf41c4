using FTGate.OAuth.Internal;

namespace FTGate.OAuth;

/// <summary>
/// Removes what the SDK keeps in an <see cref="ITokenStore"/> for a provider, without any network call: for a host that
/// deletes a provider (so that a new provider of the same name inherits nothing) or whose endpoints changed.
/// </summary>
public static class TokenStoreMaintenance
{
    /// <summary>
    /// Removes a provider's grant (refresh and access token, or the MSAL cache), its last status, and every pending
    /// authorization (state and PKCE verifier) started for it. Nothing is revoked at the provider: call
    /// <see cref="IAuthProvider.SignOutAsync"/> first where the provider's settings are still the ones the grant was made for.
    /// </summary>
    /// <param name="store">The token store.</param>
    /// <param name="providerName">The provider's name.</param>
    /// <param name="userNames">The users whose grants to remove (the provider's user name, shared mailbox, ...).</param>
    /// <param name="cancellationToken">Cancels the removal.</param>
    /// <returns>How many entries were removed.</returns>
    public static async Task<int> RemoveProviderDataAsync(this ITokenStore store, string providerName, IEnumerable<string> userNames, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(providerName);
        ArgumentNullException.ThrowIfNull(userNames);
        int removed = 0;
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (string user in userNames.Where(u => !string.IsNullOrWhiteSpace(u)))
        {
            foreach (string form in new[] { user.ToUpperInvariant(), user.Trim().ToUpperInvariant() })
            {
                keys.Add($"grant/{providerName}/{form}");
                keys.Add($"status/{providerName}/{form}");
                keys.Add($"msal/{providerName}/{form}");
            }
        }

        foreach (string key in keys)
        {
            if (await store.RemoveAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                removed++;
            }
        }

        removed += await PendingAuthorizationStore.RemoveAllAsync(store, providerName, cancellationToken).ConfigureAwait(false);
        return removed;
    }
}
