using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using FTGate.OAuth;
using FTGate.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Identity.Client;

namespace FTGate.SmartPop.Tests.Diagnosis;

/// <summary>
/// A token endpoint that cannot be reached ends in the TokenAcquisition step with the host, the network cause and the fix, for the
/// Microsoft, Google and generic providers; <c>fetch</c> throws the same words.
/// </summary>
public sealed class TokenEndpointTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Microsoft_DnsFailureThroughTheHttpSeam_TokenStepNamesHostDnsAndProxy_FetchSaysTheSame()
    {
        var http = new ThrowingMsalHttp(new HttpRequestException(HttpRequestError.NameResolutionError, "Name or service not known (login.microsoftonline.com:443)", new SocketException((int)SocketError.HostNotFound)));
        using var host = MicrosoftAppOnly(http);

        (TestStep step, AuthorizationException fetchError) = await TestThenFetchAsync(host, "M365");

        Assert.Contains("the token endpoint login.microsoftonline.com could not be reached: the name does not resolve", step.Cause, StringComparison.Ordinal);
        Assert.Contains("nslookup login.microsoftonline.com", step.Remedy, StringComparison.Ordinal);
        Assert.Contains("HTTPS_PROXY", step.Remedy, StringComparison.Ordinal);
        Assert.Equal(FTGateErrorCodes.ProviderUnavailable, step.ErrorCode);
        Assert.Equal(step.Cause, fetchError.Message);
        Assert.Equal(step.Remedy, fetchError.Remedy);
        Assert.True(http.Calls > 0);
    }

    [Fact]
    public async Task Microsoft_ProxyAnswers502ToTheTunnel_TokenStepNamesTheProxy()
    {
        var http = new ThrowingMsalHttp(new HttpRequestException(HttpRequestError.ProxyTunnelError, "The proxy tunnel request to proxy 'http://proxy.corp.example:3128/' failed with status code '502'."));
        using var host = MicrosoftAppOnly(http);

        (TestStep step, _) = await TestThenFetchAsync(host, "M365");

        Assert.Contains("the HTTPS proxy answered the tunnel request with HTTP 502", step.Cause, StringComparison.Ordinal);
        Assert.Contains("NO_PROXY", step.Remedy, StringComparison.Ordinal);
        Assert.Equal(FTGateErrorCodes.ProviderUnavailable, step.ErrorCode);
    }

    [Fact]
    public async Task Microsoft_ConnectionRefused_TokenStepNamesTheFirewall()
    {
        var http = new ThrowingMsalHttp(new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (login.microsoftonline.com:443)", new SocketException((int)SocketError.ConnectionRefused)));
        using var host = MicrosoftAppOnly(http);

        (TestStep step, _) = await TestThenFetchAsync(host, "M365");

        Assert.Contains("the connection was refused", step.Cause, StringComparison.Ordinal);
        Assert.Contains("Allow outbound HTTPS (TCP 443) to login.microsoftonline.com in the firewall", step.Remedy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Microsoft_TlsInterceptedOrTimedOut_TokenStepNamesTheCauseAndFix()
    {
        var tls = new ThrowingMsalHttp(new HttpRequestException(HttpRequestError.SecureConnectionError, "The SSL connection could not be established, see inner exception. (login.microsoftonline.com:443)", new System.Security.Authentication.AuthenticationException("The remote certificate is invalid because of errors in the certificate chain: UntrustedRoot")));
        var slow = new ThrowingMsalHttp(new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing.", new TimeoutException("The operation was canceled.")));
        using var tlsHost = MicrosoftAppOnly(tls);
        using var slowHost = MicrosoftAppOnly(slow);

        (TestStep intercepted, _) = await TestThenFetchAsync(tlsHost, "M365");
        (TestStep timedOut, _) = await TestThenFetchAsync(slowHost, "M365");

        Assert.Contains("the TLS handshake failed (The remote certificate is invalid because of errors in the certificate chain: UntrustedRoot)", intercepted.Cause, StringComparison.Ordinal);
        Assert.Contains("TLS-inspecting proxy", intercepted.Remedy, StringComparison.Ordinal);
        Assert.Contains("the request timed out", timedOut.Cause, StringComparison.Ordinal);
        Assert.Contains("firewall", timedOut.Remedy, StringComparison.Ordinal);
        Assert.Equal(FTGateErrorCodes.ProviderUnavailable, timedOut.ErrorCode);
    }

    [Fact]
    public async Task Google_ServiceAccountTokenHostDoesNotResolve_TokenStepNamesHostAndDns()
    {
        using var rsa = RSA.Create(2048);
        string key = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["type"] = "service_account",
            ["project_id"] = "ftgate-test",
            ["private_key_id"] = "abc123",
            ["private_key"] = rsa.ExportPkcs8PrivateKeyPem(),
            ["client_email"] = "pop-reader@ftgate-test.iam.gserviceaccount.com",
            ["client_id"] = "112233445566778899",
            ["token_uri"] = "https://oauth2.ftgate-test.invalid/token",
        });
        using var host = new ProviderHost(b => b.AddGoogle("Workspace", o =>
        {
            o.UserName = "mailbox@workspace.example";
            o.ServiceAccountKeyJson = key;
        }));

        (TestStep step, _) = await TestThenFetchAsync(host, "Workspace", "sales@workspace.example");

        Assert.Contains("oauth2.ftgate-test.invalid", step.Cause, StringComparison.Ordinal);
        Assert.Contains("could not be reached", step.Cause, StringComparison.Ordinal);
        Assert.Contains("HTTPS_PROXY", step.Remedy, StringComparison.Ordinal);
        Assert.Equal(FTGateErrorCodes.ProviderUnavailable, step.ErrorCode);
    }

    [Fact]
    public async Task OAuth2_TokenEndpointRefusesConnections_TokenStepNamesHostRefusedAndFirewall()
    {
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        int port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        using var host = new ProviderHost(b => b.AddOAuth2("Corp", o =>
        {
            o.Mode = OAuth2GrantMode.ClientCredentials;
            o.ClientId = "collector";
            o.ClientSecret = "collector-secret";
            o.AuthorizationEndpoint = $"https://localhost:{port}/authorize";
            o.TokenEndpoint = $"https://localhost:{port}/token";
        }));

        (TestStep step, _) = await TestThenFetchAsync(host, "Corp");

        Assert.Contains("could not be reached", step.Cause, StringComparison.Ordinal);
        Assert.Contains("localhost", step.Cause, StringComparison.Ordinal);
        Assert.Contains("refused", step.Cause, StringComparison.Ordinal);
        Assert.Contains("firewall", step.Remedy, StringComparison.Ordinal);
        Assert.Equal(FTGateErrorCodes.ProviderUnavailable, step.ErrorCode);
    }

    private static ProviderHost MicrosoftAppOnly(IHttpClientFactory http) =>
        new(
            b => b.AddMicrosoft("M365", o =>
            {
                o.ClientId = "11111111-2222-3333-4444-555555555555";
                o.TenantId = "contoso.onmicrosoft.com";
                o.Mode = MicrosoftAuthMode.AppOnly;
                o.ClientSecret = "app-secret-value";
                o.Mailbox = "shared@contoso.com";
                o.EnableInstanceDiscovery = false;
            }),
            s => s.AddSingleton(http));

    /// <summary>Runs the Test (POP3 side healthy: a TestPop3Server) and a fetch of the same account; returns the token step and the fetch's error.</summary>
    private static async Task<(TestStep Step, AuthorizationException FetchError)> TestThenFetchAsync(ProviderHost host, string provider, string user = "shared@contoso.com")
    {
        await using TestPop3Server server = await TestPop3Server.StartAsync(cancellationToken: Ct);
        SmartPopAccount account = SharedMailboxTests.Account(server, user, provider);

        TestReport report = await host.Client.TestAsync(account, Ct);
        AuthorizationException fetchError = await Assert.ThrowsAsync<AuthorizationException>(() => host.Client.FetchAsync(account, new CollectingSink(), cancellationToken: Ct));

        TestStep step = report.Step(TestStepKind.TokenAcquisition);
        Assert.True(step.Status == TestStepStatus.Failed, report.Describe());
        Assert.Equal(TestStepStatus.Passed, report.Step(TestStepKind.Connect).Status); // the POP3 side was fine
        Assert.Equal(step.Cause, fetchError.Message);
        Assert.Equal(step.Remedy, fetchError.Remedy);
        return (step, fetchError);
    }

    /// <summary>The SDK's HTTP seam: every request fails the way HttpClient fails on this network.</summary>
    private sealed class ThrowingMsalHttp(Exception failure) : IHttpClientFactory
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public HttpClient CreateClient(string name) => new(new Handler(this, failure));

        private sealed class Handler(ThrowingMsalHttp owner, Exception failure) : HttpMessageHandler
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref owner._calls);
                return Task.FromException<HttpResponseMessage>(failure);
            }
        }
    }
}
