using Google.Apis.Http;
using Microsoft.Identity.Client;

namespace FTGate.OAuth.Internal;

/// <summary>
/// The SDK's one HTTP seam: every provider takes its HttpClients from the host's <see cref="System.Net.Http.IHttpClientFactory"/>,
/// as the named client <c>FTGate.OAuth.&lt;provider name&gt;</c>, so proxies, resilience handlers and telemetry are configured
/// once in the standard way (<c>services.AddHttpClient(...)</c> or <c>ConfigureHttpClientDefaults</c>). MSAL's and Google's
/// own HTTP abstractions are adapted here and never appear in a public signature.
/// </summary>
internal static class OAuthHttp
{
    // One pooled client for providers created without a factory; connections are recycled so DNS changes are seen.
    private static readonly HttpClient s_shared = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = TimeSpan.FromSeconds(100),
    };

    /// <summary>The named client of a provider.</summary>
    public static string ClientName(string providerName) => "FTGate.OAuth." + providerName;

    public static HttpClient Client(System.Net.Http.IHttpClientFactory? factory, string providerName) =>
        factory?.CreateClient(ClientName(providerName)) ?? s_shared;

    public static IMsalHttpClientFactory? ForMsal(System.Net.Http.IHttpClientFactory? factory, string providerName) =>
        factory is null ? null : new MsalAdapter(factory, ClientName(providerName));

    public static Google.Apis.Http.IHttpClientFactory? ForGoogle(System.Net.Http.IHttpClientFactory? factory, string providerName) =>
        factory is null ? null : new GoogleAdapter(factory, ClientName(providerName));

    /// <summary>MSAL asks for a client per request; the factory pools the handlers behind the clients.</summary>
    private sealed class MsalAdapter(System.Net.Http.IHttpClientFactory factory, string name) : IMsalHttpClientFactory
    {
        public HttpClient GetHttpClient() => factory.CreateClient(name);
    }

    /// <summary>Google.Apis builds its own client around a handler: that handler forwards to the host's named client.</summary>
    private sealed class GoogleAdapter(System.Net.Http.IHttpClientFactory factory, string name) : HttpClientFactory
    {
        protected override HttpMessageHandler CreateHandler(CreateHttpClientArgs args) => new ForwardingHandler(factory.CreateClient(name));
    }

    /// <summary>
    /// Sends Google's request through the host's client. An HttpClient refuses a message another HttpClient already sent, so
    /// the message is copied (same content, headers and options; the original owns and disposes the content).
    /// </summary>
    private sealed class ForwardingHandler(HttpClient client) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var copy = new HttpRequestMessage(request.Method, request.RequestUri)
            {
                Content = request.Content,
                Version = request.Version,
                VersionPolicy = request.VersionPolicy,
            };
            foreach (KeyValuePair<string, IEnumerable<string>> header in request.Headers)
            {
                copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            foreach (KeyValuePair<string, object?> option in request.Options)
            {
                ((IDictionary<string, object?>)copy.Options)[option.Key] = option.Value;
            }

            return client.SendAsync(copy, cancellationToken);
        }
    }
}
