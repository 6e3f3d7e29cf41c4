using System.Net;
using System.Net.Sockets;
using System.Text;
using CsCheck;

namespace FTGate.Testing.Tests;

/// <summary>
/// Issue 17, item 8: the test servers parse what clients send. Random POP3 command lines and random OAuth requests, for a
/// bounded time: every one is answered (never a 500, never a dropped session without a reply), and the servers keep serving.
/// </summary>
public sealed class ParserPropertyTests : IAsyncLifetime
{
    private const int Seconds = 2;
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;
    private TestOAuthAuthority _authority = null!;
    private TestPop3Server _server = null!;

    public async ValueTask InitializeAsync()
    {
        _authority = await TestOAuthAuthority.StartAsync(cancellationToken: _ct);
        _authority.RegisterClient("fuzz", "fuzz-secret");
        _server = await TestPop3Server.StartAsync(_authority, cancellationToken: _ct);
        _server.AddUser("user@example.test", "password").Add("Subject: x\r\n\r\ny\r\n");
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        await _authority.DisposeAsync();
    }

    [Fact]
    public void Pop3Server_RandomCommandLines_AreEachAnswered_AndTheServerKeepsServing()
    {
        Gen<string> line = Gen.OneOf(
            Gen.String[0, 100],
            Gen.Select(
                Gen.OneOf(Gen.Const("USER"), Gen.Const("PASS"), Gen.Const("AUTH"), Gen.Const("RETR"), Gen.Const("TOP"), Gen.Const("LIST"), Gen.Const("UIDL"), Gen.Const("DELE"), Gen.Const("CAPA"), Gen.Const("STLS"), Gen.Const("NOOP"), Gen.Const("RSET"), Gen.Const("STAT")),
                Gen.String[0, 60],
                (verb, rest) => verb + " " + rest));
        line.Array[1, 8].Sample(
            lines =>
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, _server.Port);
                client.ReceiveTimeout = 5000;
                using NetworkStream stream = client.GetStream();
                using var reader = new StreamReader(stream, Encoding.Latin1);
                Assert.StartsWith("+OK", reader.ReadLine(), StringComparison.Ordinal);
                foreach (string command in lines)
                {
                    string clean = command.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal);
                    stream.Write(Encoding.UTF8.GetBytes(clean + "\r\n"));
                    string? reply = reader.ReadLine();
                    if (reply is null)
                    {
                        return; // the server may end a session it finds hostile: that is an answer too
                    }

                    Assert.True(reply.StartsWith('+') || reply.StartsWith('-'), $"'{reply}' after '{clean}'");
                    if (reply.StartsWith("+OK", StringComparison.Ordinal) && IsMultiline(clean))
                    {
                        while (reader.ReadLine() is { } body && body != ".")
                        {
                        }
                    }

                    if (clean.StartsWith("STLS", StringComparison.OrdinalIgnoreCase) && reply.StartsWith("+OK", StringComparison.Ordinal))
                    {
                        return; // the server now expects a TLS handshake
                    }
                }
            },
            iter: 100_000,
            time: Seconds,
            threads: 1);

        // Still serving: a fresh session gets its greeting.
        using var after = new TcpClient();
        after.Connect(IPAddress.Loopback, _server.Port);
        using var afterReader = new StreamReader(after.GetStream(), Encoding.Latin1);
        Assert.StartsWith("+OK", afterReader.ReadLine(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OAuthAuthority_RandomTokenAndAuthorizeRequests_NeverAnswer500_AndKeepServing()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(10) };
        Gen<(string Key, string Value)> pair = Gen.Select(
            Gen.OneOf(Gen.Const("grant_type"), Gen.Const("code"), Gen.Const("refresh_token"), Gen.Const("client_id"), Gen.Const("client_secret"), Gen.Const("redirect_uri"), Gen.Const("code_verifier"), Gen.Const("scope"), Gen.Const("device_code"), Gen.Const("response_type"), Gen.Const("state"), Gen.Const("code_challenge"), Gen.String[0, 10]),
            Gen.OneOf(Gen.String[0, 40], Gen.Const("authorization_code"), Gen.Const("refresh_token"), Gen.Const("client_credentials"), Gen.Const("fuzz"), Gen.Const("code"), Gen.Const("S256")));
        Gen.Select(pair.Array[0, 8], Gen.Int[0, 3], (pairs, endpoint) => (pairs, endpoint)).Sample(
            t =>
            {
                HttpResponseMessage response;
                if (t.endpoint == 3)
                {
                    string query = string.Join("&", t.pairs.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
                    response = http.GetAsync(new Uri(_authority.AuthorizationEndpoint + "?" + query), _ct).GetAwaiter().GetResult();
                }
                else
                {
                    Uri target = t.endpoint switch { 0 => _authority.TokenEndpoint, 1 => _authority.IntrospectionEndpoint, _ => _authority.RevocationEndpoint };
                    using var form = new FormUrlEncodedContent(t.pairs.Select(p => new KeyValuePair<string, string>(p.Key, p.Value)));
                    response = http.PostAsync(target, form, _ct).GetAwaiter().GetResult();
                }

                using (response)
                {
                    Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode} for endpoint {t.endpoint}");
                }
            },
            iter: 100_000,
            time: Seconds,
            threads: 1);

        using HttpResponseMessage discovery = await http.GetAsync(_authority.DiscoveryEndpoint, _ct);
        Assert.Equal(HttpStatusCode.OK, discovery.StatusCode);
    }

    private static bool IsMultiline(string command)
    {
        string[] parts = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            return false;
        }

        string verb = parts[0].ToUpperInvariant();
        return verb is "CAPA" or "RETR" or "TOP" || (verb is "LIST" or "UIDL" or "AUTH" && parts.Length == 1);
    }
}
