using System.Collections.Concurrent;

namespace FTGate.OAuth.Tests.TestSupport;

/// <summary>The SDK's HTTP seam in tests: every named client sends through one fake handler; the names asked for are recorded.</summary>
public sealed class TestHttpClientFactory(HttpMessageHandler handler, TimeSpan? timeout = null) : IHttpClientFactory
{
    public ConcurrentQueue<string> Names { get; } = new();

    public HttpClient CreateClient(string name)
    {
        Names.Enqueue(name);
        return new HttpClient(handler, disposeHandler: false) { Timeout = timeout ?? TimeSpan.FromSeconds(100) };
    }
}
