using System.Net;
using System.Text.RegularExpressions;

namespace FTGate.Tests.Infrastructure;

/// <summary>
/// Plays the person at the browser on the test OAuth server's own pages: follows the authorization URL, fills in the
/// sign-in form, presses Allow (or Deny) on the consent page, and returns the final redirect to the client's redirect URI
/// without following it (or follows it when asked, so a loopback listener receives it).
/// </summary>
public sealed partial class HeadlessBrowser : IDisposable
{
    private readonly HttpClient _http;

    /// <summary>Creates a browser with its own cookie jar.</summary>
    public HeadlessBrowser()
    {
        var handler = new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer(), UseCookies = true };
        _http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>
    /// Signs in and consents. Returns the redirect URI with <c>code</c>/<c>state</c> (or <c>error</c>). When
    /// <paramref name="deliverRedirect"/> is set, the browser also requests that final URI (as a real browser would) so that a
    /// listener on the redirect URI gets it; the answer's body is returned in <see cref="LastRedirectResponseBody"/>.
    /// </summary>
    public async Task<Uri> AuthorizeAsync(Uri authorizationUri, string login, string password, bool allow = true, bool deliverRedirect = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(authorizationUri);
        Uri current = authorizationUri;
        HttpResponseMessage response = await _http.GetAsync(current, cancellationToken);
        for (int hop = 0; hop < 20; hop++)
        {
            HttpResponseMessage owned = response;
            using (owned)
            {
                if (IsRedirect(owned.StatusCode))
                {
                    Uri next = new(current, owned.Headers.Location!);
                    if (!IsSameOrigin(next, authorizationUri))
                    {
                        if (deliverRedirect)
                        {
                            using HttpResponseMessage final = await _http.GetAsync(next, cancellationToken);
                            LastRedirectResponseBody = await final.Content.ReadAsStringAsync(cancellationToken);
                        }

                        return next;
                    }

                    current = next;
                    response = await _http.GetAsync(current, cancellationToken);
                    continue;
                }

                string html = await owned.Content.ReadAsStringAsync(cancellationToken);
                if (!owned.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"The authorization server answered {(int)owned.StatusCode} at {current}: {Text(html)}");
                }

                LastPageHtml = html;
                if (html.Contains("device-success", StringComparison.Ordinal))
                {
                    // The device flow ends on the authorization server's own success page, not at a redirect URI.
                    return current;
                }

                if (html.Contains("id=\"login-form\"", StringComparison.Ordinal))
                {
                    if (hop > 0 && html.Contains("id=\"error\"", StringComparison.Ordinal))
                    {
                        throw new InvalidOperationException("Sign-in was refused: " + Text(html));
                    }

                    string action = FormAction(html, "login-form");
                    current = new Uri(current, action);
                    response = await _http.PostAsync(current, new FormUrlEncodedContent(new Dictionary<string, string> { ["login"] = login, ["password"] = password }), cancellationToken);
                    continue;
                }

                if (html.Contains("id=\"consent-form\"", StringComparison.Ordinal))
                {
                    string action = FormAction(html, "consent-form");
                    current = new Uri(current, action);
                    response = await _http.PostAsync(current, new FormUrlEncodedContent(new Dictionary<string, string> { ["decision"] = allow ? "allow" : "deny" }), cancellationToken);
                    continue;
                }

                throw new InvalidOperationException($"Unexpected page at {current}: {Text(html)}");
            }
        }

        throw new InvalidOperationException("Too many redirects while authorizing.");
    }

    /// <summary>The last HTML page the authorization server showed.</summary>
    public string? LastPageHtml { get; private set; }

    /// <summary>The body the redirect URI's listener answered, when <c>deliverRedirect</c> was used.</summary>
    public string? LastRedirectResponseBody { get; private set; }

    /// <summary>Approves a device code: enters the user code, confirms, signs in and consents.</summary>
    public async Task ApproveDeviceCodeAsync(Uri verificationUri, string userCode, string login, string password, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(verificationUri);
        Uri page = new(verificationUri.GetLeftPart(UriPartial.Path));
        string html = await _http.GetStringAsync(page, cancellationToken);
        string xsrf = Hidden(html, "xsrf");
        using HttpResponseMessage confirm = await _http.PostAsync(page, new FormUrlEncodedContent(new Dictionary<string, string> { ["xsrf"] = xsrf, ["user_code"] = userCode }), cancellationToken);
        string confirmHtml = await confirm.Content.ReadAsStringAsync(cancellationToken);
        using HttpResponseMessage confirmed = await _http.PostAsync(page, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["xsrf"] = Hidden(confirmHtml, "xsrf"),
            ["user_code"] = userCode,
            ["confirm"] = "yes",
        }), cancellationToken);
        if (!IsRedirect(confirmed.StatusCode))
        {
            throw new InvalidOperationException("Device code not accepted: " + Text(await confirmed.Content.ReadAsStringAsync(cancellationToken)));
        }

        Uri next = new(page, confirmed.Headers.Location!);
        Uri end = await AuthorizeAsync(next, login, password, cancellationToken: cancellationToken);
        string doneHtml = LastPageHtml ?? "";
        if (!doneHtml.Contains("device-success", StringComparison.Ordinal))
        {
            using HttpResponseMessage done = await _http.GetAsync(end, cancellationToken);
            doneHtml = await done.Content.ReadAsStringAsync(cancellationToken);
        }

        if (!doneHtml.Contains("device-success", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("Device flow did not succeed: " + Text(doneHtml));
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private static bool IsRedirect(HttpStatusCode code) => (int)code is >= 300 and < 400;

    private static bool IsSameOrigin(Uri a, Uri b) => a.Scheme == b.Scheme && a.Host == b.Host && a.Port == b.Port;

    private static string FormAction(string html, string formId)
    {
        Match m = Regex.Match(html, $"<form[^>]*id=\"{formId}\"[^>]*>", RegexOptions.IgnoreCase);
        Match action = ActionRegex().Match(m.Value);
        return WebUtility.HtmlDecode(action.Groups[1].Value);
    }

    private static string Hidden(string html, string name)
    {
        Match m = Regex.Match(html, $"<input[^>]*name=\"{name}\"[^>]*>", RegexOptions.IgnoreCase);
        return WebUtility.HtmlDecode(ValueRegex().Match(m.Value).Groups[1].Value);
    }

    private static string Text(string html)
    {
        string text = TagRegex().Replace(html, " ");
        text = Regex.Replace(text, "\\s+", " ").Trim();
        return text.Length > 400 ? text[..400] : text;
    }

    [GeneratedRegex("action=\"([^\"]*)\"", RegexOptions.IgnoreCase)]
    private static partial Regex ActionRegex();

    [GeneratedRegex("value=\"([^\"]*)\"", RegexOptions.IgnoreCase)]
    private static partial Regex ValueRegex();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex TagRegex();
}
