using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace FTGate.OAuth.Tests.TestSupport;

/// <summary>A scripted HTTP handler: each request is recorded and answered by the responder.</summary>
public sealed class FakeHttpHandler : HttpMessageHandler
{
    private readonly Func<RecordedRequest, HttpResponseMessage> _responder;

    public FakeHttpHandler(Func<RecordedRequest, HttpResponseMessage> responder) => _responder = responder;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public static HttpResponseMessage Json(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        string body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
        var recorded = new RecordedRequest(request.Method, request.RequestUri!, body, request.Headers.Authorization?.ToString());
        Requests.Enqueue(recorded);
        return _responder(recorded);
    }
}

public sealed record RecordedRequest(HttpMethod Method, Uri Uri, string Body, string? Authorization)
{
    public IReadOnlyDictionary<string, string> Form =>
        System.Web.HttpUtility.ParseQueryString(Body) is var nv
            ? nv.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => nv[k]!)
            : new Dictionary<string, string>();
}
