namespace FTGate.OAuth;

/// <summary>
/// Supplies the <see cref="HttpClient"/> the generic OAuth2 provider talks to its authorization server with. Register one
/// to add a proxy, custom certificate validation or test handlers; without one, a shared client is used.
/// </summary>
/// <remarks>
/// A host that already uses <c>IHttpClientFactory</c> adapts it in one line:
/// <c>sealed class Adapter(IHttpClientFactory f) : IOAuthHttpClientFactory { public HttpClient CreateClient(string p) =&gt; f.CreateClient("FTGate.OAuth2"); }</c>.
/// The returned client is not disposed by the provider.
/// </remarks>
public interface IOAuthHttpClientFactory
{
    /// <summary>Returns the client to use for the named provider.</summary>
    /// <param name="providerName">The provider's name.</param>
    /// <returns>A client; the provider keeps it for its lifetime and never disposes it.</returns>
    HttpClient CreateClient(string providerName);
}
