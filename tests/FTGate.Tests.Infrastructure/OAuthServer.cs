using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace FTGate.Tests.Infrastructure;

/// <summary>
/// The real OAuth2/OIDC authorization server of the integration tests (npm oidc-provider, tests/infra/oauth-server),
/// started on a free loopback port. See tests/infra/README.md for its users, clients and test-control endpoints.
/// </summary>
public sealed class OAuthServer : IAsyncDisposable
{
    /// <summary>Public native client (PKCE required).</summary>
    public const string NativeClientId = "ftgate-native";

    /// <summary>Confidential client (client_secret_basic), also allowed client credentials (mailbox alice).</summary>
    public const string WebClientId = "ftgate-web";

    /// <summary>Secret of <see cref="WebClientId"/> and <see cref="WebPostClientId"/>.</summary>
    public const string WebClientSecret = "ftgate-web-secret";

    /// <summary>Confidential client using client_secret_post.</summary>
    public const string WebPostClientId = "ftgate-web-post";

    /// <summary>Native client whose access tokens live 5 seconds.</summary>
    public const string ShortLivedClientId = "ftgate-short";

    private readonly Process _process;
    private readonly string _directory;
    private readonly HttpClient _http = new();

    private OAuthServer(Process process, string directory, JsonElement state)
    {
        _process = process;
        _directory = directory;
        Issuer = new Uri(state.GetProperty("issuer").GetString()!);
        AuthorizationEndpoint = new Uri(state.GetProperty("authorizationEndpoint").GetString()!);
        TokenEndpoint = new Uri(state.GetProperty("tokenEndpoint").GetString()!);
        IntrospectionEndpoint = new Uri(state.GetProperty("introspectionEndpoint").GetString()!);
        RevocationEndpoint = new Uri(state.GetProperty("revocationEndpoint").GetString()!);
        DeviceAuthorizationEndpoint = new Uri(state.GetProperty("deviceAuthorizationEndpoint").GetString()!);
        StateFile = Path.Combine(directory, "oauth.json");
        Version = "oidc-provider " + ReadPackageVersion();
    }

    /// <summary>The issuer (<c>http://127.0.0.1:PORT</c>); discovery is at <c>/.well-known/openid-configuration</c>.</summary>
    public Uri Issuer { get; }

    /// <summary>The authorization endpoint.</summary>
    public Uri AuthorizationEndpoint { get; }

    /// <summary>The token endpoint.</summary>
    public Uri TokenEndpoint { get; }

    /// <summary>The introspection endpoint (Dovecot uses it).</summary>
    public Uri IntrospectionEndpoint { get; }

    /// <summary>The revocation endpoint.</summary>
    public Uri RevocationEndpoint { get; }

    /// <summary>The device authorization endpoint.</summary>
    public Uri DeviceAuthorizationEndpoint { get; }

    /// <summary>The server's state file (Dovecot's start script reads it).</summary>
    public string StateFile { get; }

    /// <summary>The server's version, for test logs.</summary>
    public string Version { get; }

    /// <summary>Why the server cannot run here, or null when it can.</summary>
    public static string? UnavailableReason()
    {
        if (!ProcessRunner.OnPath("node"))
        {
            return "Node.js ('node') is not installed.";
        }

        return Directory.Exists(Path.Combine(Infra.InfraDirectory, "oauth-server", "node_modules", "oidc-provider"))
            ? null
            : "tests/infra/oauth-server/node_modules is missing (npm ci not run).";
    }

    /// <summary>Starts a server on a free port.</summary>
    public static async Task<OAuthServer> StartAsync(int accessTokenTtlSeconds = 3600, CancellationToken cancellationToken = default)
    {
        string directory = Infra.NewTempDirectory("ftg-oa");
        string stateFile = Path.Combine(directory, "oauth.json");
        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = Path.Combine(Infra.InfraDirectory, "oauth-server"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "server.mjs", "--port", "0", "--state-file", stateFile, "--access-token-ttl", accessTokenTtlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "--quiet" })
        {
            info.ArgumentList.Add(arg);
        }

        // The server writes its state file, then prints "READY <issuer>" on stdout: that line is the signal to wait for.
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Process process = new() { StartInfo = info, EnableRaisingEvents = true };
        var log = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { if (log.Length < 200_000) { log.AppendLine(e.Data); } } } };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.StartsWith("READY ", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        };
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("The OAuth test server exited while starting."));
        if (!process.Start())
        {
            throw new InvalidOperationException("could not start node");
        }

        process.StandardInput.Close();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();

        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            using JsonDocument doc = JsonDocument.Parse(await File.ReadAllTextAsync(stateFile, cancellationToken));
            return new OAuthServer(process, directory, doc.RootElement.Clone());
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException or JsonException or IOException)
        {
        }

        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }

        throw new InvalidOperationException("The OAuth test server did not start: " + log);
    }

    /// <summary>Counters of the server (<c>GET /_test/stats</c>).</summary>
    public async Task<JsonElement> GetStatsAsync(CancellationToken cancellationToken = default) =>
        await _http.GetFromJsonAsync<JsonElement>(new Uri(Issuer, "/_test/stats"), cancellationToken);

    /// <summary>How many token requests of a grant type the server has seen (failed ones included).</summary>
    public async Task<int> CountTokenRequestsAsync(string grantType, CancellationToken cancellationToken = default)
    {
        JsonElement stats = await GetStatsAsync(cancellationToken);
        return stats.TryGetProperty("token", out JsonElement token) && token.TryGetProperty(grantType, out JsonElement n) ? n.GetInt32() : 0;
    }

    /// <summary>Zeroes the counters.</summary>
    public Task ResetStatsAsync(CancellationToken cancellationToken = default) => PostAsync("/_test/stats/reset", cancellationToken);

    /// <summary>Revokes every grant and token of a user (a cheap "consent revoked" / "password changed").</summary>
    public Task RevokeUserAsync(string user, CancellationToken cancellationToken = default) =>
        PostAsync("/_test/revoke-user?user=" + Uri.EscapeDataString(user), cancellationToken);

    /// <summary>Marks access tokens expired (all, or one user's): introspection then says inactive.</summary>
    public Task ExpireAccessTokensAsync(string? user = null, CancellationToken cancellationToken = default) =>
        PostAsync("/_test/expire-access-tokens" + (user is null ? "" : "?user=" + Uri.EscapeDataString(user)), cancellationToken);

    /// <summary>Expires refresh tokens (all, or one user's) now: the next refresh answers <c>invalid_grant</c>.</summary>
    public Task ExpireRefreshTokensAsync(string? user = null, CancellationToken cancellationToken = default) =>
        PostAsync("/_test/expire-refresh-tokens" + (user is null ? "" : "?user=" + Uri.EscapeDataString(user)), cancellationToken);

    /// <summary>Makes the next <paramref name="count"/> requests to a route fail with <paramref name="status"/>.</summary>
    public Task FailNextAsync(string route, int status, int count = 1, CancellationToken cancellationToken = default) =>
        PostAsync(FormattableString.Invariant($"/_test/fail-next?route={route}&status={status}&count={count}"), cancellationToken);

    /// <summary>Changes the default token lifetimes for tokens issued from now on.</summary>
    public Task ConfigureAsync(int? accessTokenTtlSeconds = null, int? refreshTokenTtlSeconds = null, CancellationToken cancellationToken = default)
    {
        var query = new List<string>();
        if (accessTokenTtlSeconds is { } a)
        {
            query.Add(FormattableString.Invariant($"accessTokenTTL={a}"));
        }

        if (refreshTokenTtlSeconds is { } r)
        {
            query.Add(FormattableString.Invariant($"refreshTokenTTL={r}"));
        }

        return PostAsync("/_test/config?" + string.Join('&', query), cancellationToken);
    }

    /// <summary>
    /// Gets real tokens for a user through the whole authorization-code + PKCE flow, signing in and consenting like a
    /// person would (no SDK code involved).
    /// </summary>
    public async Task<TokenSet> GetUserTokensAsync(string user, string password, string clientId = NativeClientId, string scope = "openid email offline_access mail", CancellationToken cancellationToken = default)
    {
        string verifier = Pkce.NewVerifier();
        string state = Guid.NewGuid().ToString("N");
        var redirect = new Uri("http://127.0.0.1/callback");
        string url = AuthorizationEndpoint + "?" + string.Join('&', new Dictionary<string, string>
        {
            ["response_type"] = "code",
            ["client_id"] = clientId,
            ["redirect_uri"] = redirect.ToString(),
            ["scope"] = scope,
            ["state"] = state,
            ["code_challenge"] = Pkce.Challenge(verifier),
            ["code_challenge_method"] = "S256",
            ["login_hint"] = user,
        }.Select(kv => $"{kv.Key}={Uri.EscapeDataString(kv.Value)}"));
        using var browser = new HeadlessBrowser();
        Uri callback = await browser.AuthorizeAsync(new Uri(url), user, password, cancellationToken: cancellationToken);
        var query = System.Web.HttpUtility.ParseQueryString(callback.Query);
        if (query["state"] != state || query["code"] is not { } code)
        {
            throw new InvalidOperationException("authorization failed: " + callback);
        }

        return await TokenRequestAsync(
            new Dictionary<string, string>
            {
                ["grant_type"] = "authorization_code",
                ["code"] = code,
                ["redirect_uri"] = redirect.ToString(),
                ["client_id"] = clientId,
                ["code_verifier"] = verifier,
            },
            cancellationToken);
    }

    /// <summary>A client-credentials token (ftgate-web maps to mailbox alice@example.test).</summary>
    public Task<TokenSet> GetClientCredentialsTokenAsync(string clientId = WebClientId, string clientSecret = WebClientSecret, CancellationToken cancellationToken = default) =>
        TokenRequestAsync(
            new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["client_id"] = clientId,
                ["client_secret"] = clientSecret,
                ["scope"] = "mail",
            },
            cancellationToken,
            basic: (clientId, clientSecret));

    /// <summary>Sends a raw token request and returns the parsed response (throws on an error response).</summary>
    public async Task<TokenSet> TokenRequestAsync(Dictionary<string, string> form, CancellationToken cancellationToken = default, (string Id, string Secret)? basic = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, TokenEndpoint);
        if (basic is { } b)
        {
            form.Remove("client_secret");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
                "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(b.Id)}:{Uri.EscapeDataString(b.Secret)}")));
        }

        request.Content = new FormUrlEncodedContent(form);
        using HttpResponseMessage response = await _http.SendAsync(request, cancellationToken);
        string body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"token request failed: {(int)response.StatusCode} {body}");
        }

        using JsonDocument doc = JsonDocument.Parse(body);
        JsonElement root = doc.RootElement;
        return new TokenSet(
            root.GetProperty("access_token").GetString()!,
            root.TryGetProperty("refresh_token", out JsonElement rt) ? rt.GetString() : null,
            root.TryGetProperty("id_token", out JsonElement it) ? it.GetString() : null,
            root.TryGetProperty("expires_in", out JsonElement exp) ? exp.GetInt32() : 0);
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task PostAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await _http.PostAsync(new Uri(Issuer, pathAndQuery), null, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    private static string ReadPackageVersion()
    {
        try
        {
            string json = File.ReadAllText(Path.Combine(Infra.InfraDirectory, "oauth-server", "node_modules", "oidc-provider", "package.json"));
            using JsonDocument doc = JsonDocument.Parse(json);
            return doc.RootElement.GetProperty("version").GetString() ?? "?";
        }
        catch (IOException)
        {
            return "?";
        }
    }
}

/// <summary>Tokens from a token response.</summary>
public sealed record TokenSet(string AccessToken, string? RefreshToken, string? IdToken, int ExpiresIn)
{
    /// <summary>Never shows the tokens.</summary>
    public override string ToString() => $"TokenSet(expires_in={ExpiresIn}, refresh={(RefreshToken is null ? "no" : "yes")})";
}

/// <summary>PKCE helpers for tests that act as a client themselves.</summary>
public static class Pkce
{
    /// <summary>A random verifier.</summary>
    public static string NewVerifier() => Base64Url(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>The S256 challenge of a verifier.</summary>
    public static string Challenge(string verifier) =>
        Base64Url(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(verifier)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
