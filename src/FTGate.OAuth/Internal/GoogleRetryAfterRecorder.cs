using System.Net;
using System.Runtime.CompilerServices;
using Google.Apis.Http;

namespace FTGate.OAuth.Internal;

/// <summary>
/// Google.Apis.Auth's <c>TokenResponseException</c> carries no response headers, so a 429's <c>Retry-After</c> would be lost.
/// This wraps the Google HTTP client factory and records the header of every unsuccessful response into a box that the
/// calling token operation opened with <see cref="Begin"/> (the box flows down the async call, the value is written into it).
/// </summary>
internal sealed class GoogleRetryAfterRecorder : Google.Apis.Http.IHttpClientFactory, IHttpUnsuccessfulResponseHandler
{
    private static readonly AsyncLocal<StrongBox<TimeSpan?>?> s_current = new();
    private readonly Google.Apis.Http.IHttpClientFactory _inner;
    private readonly TimeProvider _time;

    public GoogleRetryAfterRecorder(Google.Apis.Http.IHttpClientFactory? inner, TimeProvider time)
    {
        _inner = inner ?? new HttpClientFactory();
        _time = time;
    }

    /// <summary>The timeout of the HTTP clients Google's flows use (reported as "timed out after N s").</summary>
    public TimeSpan Timeout { get; private set; } = TimeSpan.FromSeconds(100);

    /// <summary>The Retry-After recorded in the current token operation, if any.</summary>
    public static TimeSpan? Current => s_current.Value?.Value;

    /// <summary>Opens a fresh box for the token operation about to run on this async flow.</summary>
    public static void Begin() => s_current.Value = new StrongBox<TimeSpan?>();

    public ConfigurableHttpClient CreateHttpClient(CreateHttpClientArgs args)
    {
        ConfigurableHttpClient client = _inner.CreateHttpClient(args);
        client.MessageHandler.AddUnsuccessfulResponseHandler(this);
        Timeout = client.Timeout;
        return client;
    }

    public Task<bool> HandleResponseAsync(HandleUnsuccessfulResponseArgs args)
    {
        if (s_current.Value is { } box && args.Response.Headers.RetryAfter is { } retryAfter
            && args.Response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)
        {
            box.Value = RetryAfterHeader.Read(retryAfter, _time.GetUtcNow());
        }

        return Task.FromResult(false);
    }
}
