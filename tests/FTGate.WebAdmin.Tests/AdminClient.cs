using System.Net;
using System.Text.RegularExpressions;

namespace FTGate.WebAdmin.Tests;

/// <summary>An HTTP client with its own cookie jar that talks to the admin like a browser with forms would.</summary>
internal sealed partial class AdminClient : IDisposable
{
    private readonly HttpClient _http;

    public AdminClient(Uri baseUri)
    {
        Cookies = new CookieContainer();
        _http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = Cookies, UseCookies = true })
        {
            BaseAddress = baseUri,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public CookieContainer Cookies { get; }

    /// <summary>Headers sent with every request (X-Forwarded-For from a "proxy").</summary>
    public System.Net.Http.Headers.HttpRequestHeaders DefaultHeaders => _http.DefaultRequestHeaders;

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => _http.SendAsync(request, cancellationToken);

    public async Task SignInAsync(string password, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await PostFormAsync("login", "login", new() { ["password"] = password }, cancellationToken);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/providers", response.Headers.Location?.OriginalString);
    }

    public Task<HttpResponseMessage> GetAsync(string relative, CancellationToken cancellationToken) => _http.GetAsync(relative, cancellationToken);

    /// <summary>GETs <paramref name="pageUrl"/> for its antiforgery token, then POSTs the form to <paramref name="actionUrl"/>.</summary>
    public async Task<HttpResponseMessage> PostFormAsync(string pageUrl, string actionUrl, Dictionary<string, string> fields, CancellationToken cancellationToken)
    {
        string html = await _http.GetStringAsync(pageUrl, cancellationToken);
        Match token = AntiforgeryRegex().Match(html);
        Assert.True(token.Success, "no antiforgery token on " + pageUrl);
        fields["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value);
        using var content = new FormUrlEncodedContent(fields);
        return await _http.PostAsync(actionUrl, content, cancellationToken);
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryRegex();
}
