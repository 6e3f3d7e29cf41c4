using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using FTGate.OAuth;
using FTGate.Testing;
using FTGate.Tests.Infrastructure;

namespace FTGate.Cli.Tests;

/// <summary>
/// Issue 17 (items 1, 5 and 7) through the real <c>ftgate</c> executable: bad config values, status with a broken item,
/// one account's missing variable, control characters from a server, secrets bound to their settings, a wrong state at
/// the loopback listener, and a commented config file.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class HardeningTests
{
    private const string User = "alice@example.test";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("Port", "\"abc\"", "a port number")]
    [InlineData("LeaveOnServer", "\"yes\"", "true or false (Boolean)")]
    [InlineData("Security", "\"Tls\"", "one of SslOnConnect")]
    [InlineData("MaxMessageSize", "[1]", "a whole number of bytes")]
    public async Task ConfigTypeError_Exits2_NamingFileFieldAndType(string field, string value, string expected)
    {
        string config = Config($$"""
            { "FTGate": { "SmartPop": { "Accounts": { "Mail": { "Host": "pop.example.com", "UserName": "u", "PasswordEnvironmentVariable": "X", "{{field}}": {{value}} } } } } }
            """);

        CliRun run = await CliProcess.RunAsync(config, ["status"]);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(config, run.Error, StringComparison.Ordinal);
        Assert.Contains($"FTGate:SmartPop:Accounts:Mail:{field}", run.Error, StringComparison.Ordinal);
        Assert.Contains("expected " + expected, run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal); // no stack trace
    }

    [Fact]
    public async Task ConfigWithABadName_Exits2_NamingIt()
    {
        string config = Config("""{ "FTGate": { "Providers": { "colon:name": { "Type": "OAuth2", "ClientId": "c" } } } }""");

        CliRun run = await CliProcess.RunAsync(config, ["provider", "list"]);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("colon:name", run.Error, StringComparison.Ordinal);
        Assert.Contains("may not contain ':'", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_OneCorruptGrantAndOneUnsetVariable_ListsEverythingAndMarksTheBrokenOnes()
    {
        string config = Config($$"""
            { "FTGate": {
                "Providers": {
                  "Corrupt": { "Type": "OAuth2", "ClientId": "c1", "AuthorizationEndpoint": "http://127.0.0.1:9/a", "TokenEndpoint": "http://127.0.0.1:9/t", "UserName": "{{User}}" },
                  "Fine": { "Type": "OAuth2", "ClientId": "c2", "AuthorizationEndpoint": "http://127.0.0.1:9/a", "TokenEndpoint": "http://127.0.0.1:9/t", "UserName": "{{User}}" } },
                "SmartPop": { "Accounts": {
                  "NoPassword": { "Host": "pop.example.com", "UserName": "u", "PasswordEnvironmentVariable": "FTGATE_TEST_UNSET_{{Guid.NewGuid():N}}" },
                  "ViaFine": { "Host": "pop.example.com", "UserName": "{{User}}", "AuthProvider": "Fine" } } } } }
            """);
        var store = new FileTokenStore(Path.Combine(Path.GetDirectoryName(config)!, "ftgate.tokens"));
        await store.SetAsync("unrelated", "x"u8.ToArray(), null, Ct); // the key and an owner-only folder, as the CLI makes them
        string[] before = System.IO.Directory.GetFiles(store.Directory, "*.tok");
        await store.SetAsync($"grant/Corrupt/{User.ToUpperInvariant()}", "x"u8.ToArray(), null, Ct);
        string grantFile = Assert.Single(System.IO.Directory.GetFiles(store.Directory, "*.tok").Except(before, StringComparer.Ordinal));
        await File.WriteAllTextAsync(grantFile, "not a token file", Ct); // the entry's file, found as the store wrote it

        CliRun run = await CliProcess.RunAsync(config, ["status"]);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("BROKEN Corrupt (", run.Out, StringComparison.Ordinal);
        Assert.Contains("wrong header", run.Out, StringComparison.Ordinal);
        Assert.Contains("  Fine (OAuth2", run.Out, StringComparison.Ordinal);
        Assert.Contains("not authorized", run.Out, StringComparison.Ordinal);
        Assert.Contains("BROKEN NoPassword:", run.Out, StringComparison.Ordinal);
        Assert.Contains("PasswordEnvironmentVariable) is not set", run.Out, StringComparison.Ordinal);
        Assert.Contains("  ViaFine:", run.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("BROKEN ViaFine", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingPasswordVariable_AffectsOnlyItsAccount()
    {
        int closed = ClosedPort();
        string config = Config($$"""
            { "FTGate": { "SmartPop": { "Accounts": {
                "Broken": { "Host": "127.0.0.1", "UserName": "u", "PasswordEnvironmentVariable": "FTGATE_TEST_UNSET_{{Guid.NewGuid():N}}" },
                "Other": { "Host": "127.0.0.1", "Port": {{closed}}, "Security": "None", "AllowInsecureAuthentication": true, "UserName": "u", "PasswordEnvironmentVariable": "FTGATE_TEST_SET" } } } } }
            """);

        CliRun run = await CliProcess.RunAsync(config, ["test", "Other"], new() { ["FTGATE_TEST_SET"] = "pw-for-other" });

        Assert.True(run.ExitCode == 4, run.ToString()); // the connection fails: the other account's variable played no part
        Assert.DoesNotContain("Broken", run.Out + run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerText_WithControlCharacters_IsEscapedOnTheTerminal()
    {
        await using var server = new HostilePop3Server("-ERR [AUTH] bad\u001b[2J\u001b]0;owned\u0007 password\rOVERWRITTEN\u202e");
        string config = Config($$"""
            { "FTGate": { "SmartPop": { "Accounts": {
                "Hostile": { "Host": "127.0.0.1", "Port": {{server.Port}}, "Security": "None", "AllowInsecureAuthentication": true, "UserName": "u", "PasswordEnvironmentVariable": "FTGATE_TEST_SET" } } } } }
            """);

        CliRun run = await CliProcess.RunAsync(config, ["test", "Hostile"], new() { ["FTGATE_TEST_SET"] = "pw" });

        string all = run.Out + run.Error;
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("owned", all, StringComparison.Ordinal); // the reply is shown ...
        Assert.Contains("\\rOVERWRITTEN", all, StringComparison.Ordinal); // ... with its lone CR shown, not obeyed
        Assert.DoesNotContain('\u001b', all);
        Assert.DoesNotContain('\u0007', all);
        Assert.DoesNotContain('\u202e', all);
        Assert.DoesNotContain("\rOVERWRITTEN", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HandEditedEndpointOrPort_SecretsWithheld_StatusSaysWhy_UntilRebind()
    {
        await using var recorder = new HostilePop3Server("+OK"); // records every connection, HTTP or POP3
        string dir = Infra.NewTempDirectory("ftg-cli-bind");
        string config = Path.Combine(dir, "ftgate.json");
        var env = new Dictionary<string, string?> { ["FTGATE_TEST_SECRET"] = "client-secret-bound", ["FTGATE_TEST_PW"] = "pop-password-bound" };
        Assert.Equal(0, (await CliProcess.RunAsync(config, ["provider", "add", "P", "--type", "oauth2", "--client-id", "c", "--client-secret-env", "FTGATE_TEST_SECRET",
            "--authorization-endpoint", "http://127.0.0.1:9/authorize", "--token-endpoint", "http://127.0.0.1:9/token", "--user", User], env)).ExitCode);
        Assert.Equal(0, (await CliProcess.RunAsync(config, ["account", "add", "A", "--host", "127.0.0.1", "--port", "9", "--security", "none", "--allow-insecure-auth",
            "--user", "u", "--password-env", "FTGATE_TEST_PW"], env)).ExitCode);

        JsonNode root = JsonNode.Parse(await File.ReadAllTextAsync(config, Ct))!;
        root["FTGate"]!["Providers"]!["P"]!["TokenEndpoint"] = $"http://127.0.0.1:{recorder.Port}/token";
        root["FTGate"]!["SmartPop"]!["Accounts"]!["A"]!["Port"] = recorder.Port;
        await File.WriteAllTextAsync(config, root.ToJsonString(), Ct);

        CliRun status = await CliProcess.RunAsync(config, ["status"], env);
        Assert.Contains("BROKEN P (", status.Out, StringComparison.Ordinal);
        Assert.Contains("TokenEndpoint ('http://127.0.0.1:9/token' → ", status.Out, StringComparison.Ordinal);
        Assert.Contains("ftgate rebind provider", status.Out, StringComparison.Ordinal);
        Assert.Contains("BROKEN A:", status.Out, StringComparison.Ordinal);

        CliRun authorize = await CliProcess.RunAsync(config, ["authorize", "P", "--no-browser", "--timeout", "5"], env);
        Assert.True(authorize.ExitCode == 2, authorize.ToString());
        Assert.Contains("withheld", authorize.Error, StringComparison.Ordinal);
        CliRun test = await CliProcess.RunAsync(config, ["test", "A"], env);
        Assert.True(test.ExitCode == 2, test.ToString());
        Assert.Contains("Port ('9' → ", test.Error, StringComparison.Ordinal);
        Assert.Empty(recorder.Received);

        // Confirmed by the administrator: from now on the secrets go to the new settings.
        Assert.Equal(0, (await CliProcess.RunAsync(config, ["rebind", "provider", "P"], env)).ExitCode);
        Assert.Equal(0, (await CliProcess.RunAsync(config, ["rebind", "account", "A"], env)).ExitCode);
        CliRun after = await CliProcess.RunAsync(config, ["status"], env);
        Assert.DoesNotContain("BROKEN", after.Out, StringComparison.Ordinal);
        await CliProcess.RunAsync(config, ["test", "A"], env);
        Assert.Contains(recorder.Received, r => r.Contains("pop-password-bound", StringComparison.Ordinal)); // the recorder does record
    }

    [Fact]
    public async Task Authorize_WrongStateAtTheLoopbackListener_IsIgnored_AndTheRealCallbackCompletes()
    {
        await using TestOAuthAuthority authority = await TestOAuthAuthority.StartAsync(new TestOAuthAuthorityOptions { UserName = User }, Ct);
        authority.RegisterClient("cli-public");
        string config = Path.Combine(Infra.NewTempDirectory("ftg-cli-state"), "ftgate.json");
        Assert.Equal(0, (await CliProcess.RunAsync(config, ["provider", "add", "P", "--type", "oauth2", "--client-id", "cli-public",
            "--authorization-endpoint", authority.AuthorizationEndpoint.AbsoluteUri, "--token-endpoint", authority.TokenEndpoint.AbsoluteUri,
            "--scope", "openid", "--scope", "offline_access", "--scope", TestOAuthAuthority.MailScope, "--user", User])).ExitCode);

        await using CliProcess authorize = CliProcess.Start(config, ["authorize", "P", "--no-browser", "--timeout", "60"]);
        string urlLine = await authorize.WaitForLineAsync(l => l.StartsWith("Open this URL to authorize: ", StringComparison.Ordinal)).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        var authorizationUrl = new Uri(urlLine["Open this URL to authorize: ".Length..]);
        Uri callback = await authority.SignInAsync(authorizationUrl, Ct);

        using var http = new HttpClient();
        var forged = new UriBuilder(callback) { Query = "code=forged-code&state=not-the-state" }.Uri;
        using (HttpResponseMessage ignored = await http.GetAsync(forged, Ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, ignored.StatusCode);
        }

        using (HttpResponseMessage real = await http.GetAsync(callback, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, real.StatusCode);
        }

        CliRun run = await authorize.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("ignored a request to the redirect address", run.Error, StringComparison.Ordinal);
        Assert.Contains("Authorization granted for " + User, run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Remove_ProviderAndAccount_LeaveNothingForANewOneOfTheSameName()
    {
        await using TestOAuthAuthority authority = await TestOAuthAuthority.StartAsync(new TestOAuthAuthorityOptions { UserName = User }, Ct);
        authority.RegisterClient("cli-public");
        string dir = Infra.NewTempDirectory("ftg-cli-remove");
        string config = Path.Combine(dir, "ftgate.json");
        string[] addProvider = ["provider", "add", "P", "--type", "oauth2", "--client-id", "cli-public",
            "--authorization-endpoint", authority.AuthorizationEndpoint.AbsoluteUri, "--token-endpoint", authority.TokenEndpoint.AbsoluteUri, "--user", User];
        string[] addAccount = ["account", "add", "A", "--host", "pop.example.com", "--user", "u", "--password-env", "V"];
        Assert.Equal(0, (await CliProcess.RunAsync(config, addProvider)).ExitCode);
        Assert.Equal(0, (await CliProcess.RunAsync(config, addAccount)).ExitCode);

        // A sign-in started and abandoned (a pending authorization is stored), and UIDLs remembered for the account.
        await CliProcess.RunAsync(config, ["authorize", "P", "--no-browser", "--timeout", "1"]);
        string tokens = Path.Combine(dir, "ftgate.tokens");
        Assert.NotEmpty(Directory.GetFiles(tokens, "pending_P_*"));
        var uidls = new FTGate.SmartPop.FileUidlStore(Path.Combine(dir, "ftgate.uidls"));
        await uidls.MarkSeenAsync("A", "uidl-1", DateTimeOffset.UtcNow, Ct);

        Assert.Equal(0, (await CliProcess.RunAsync(config, ["account", "remove", "A"])).ExitCode);
        Assert.Equal(0, (await CliProcess.RunAsync(config, ["provider", "remove", "P"])).ExitCode);

        Assert.Empty(Directory.GetFiles(tokens, "pending_P_*"));
        Assert.Empty(await new FTGate.SmartPop.FileUidlStore(Path.Combine(dir, "ftgate.uidls")).GetSeenAsync("A", Ct));
        Assert.Equal(0, (await CliProcess.RunAsync(config, addProvider)).ExitCode);
        CliRun status = await CliProcess.RunAsync(config, ["status"]);
        Assert.Contains("not authorized", status.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("BROKEN", status.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CommentedConfig_IsNotRewritten_AndTheCliSaysWhy()
    {
        string config = Config("""
            {
              // where the tokens live
              "FTGate": { "TokenStore": { "Directory": "ftgate.tokens" } }
            }
            """);
        byte[] before = await File.ReadAllBytesAsync(config, Ct);

        CliRun run = await CliProcess.RunAsync(config, ["account", "add", "X", "--host", "pop.example.com", "--user", "u", "--password-env", "V"]);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("has comments", run.Error, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(config, Ct));
    }

    private static string Config(string json)
    {
        string path = Path.Combine(Infra.NewTempDirectory("ftg-cli-hard"), "ftgate.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>A POP3 server that greets, accepts USER and answers PASS with a chosen (hostile) reply; records what arrives.</summary>
    private sealed class HostilePop3Server : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _received = new();

        public HostilePop3Server(string passReply)
        {
            _listener.Start();
            _loop = Task.Run(() => LoopAsync(passReply));
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public IReadOnlyCollection<string> Received => _received;

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            try
            {
                await _loop;
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }

            _stop.Dispose();
        }

        private async Task LoopAsync(string passReply)
        {
            while (!_stop.IsCancellationRequested)
            {
                using TcpClient client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _received.Enqueue("connection");
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                try
                {
                    NetworkStream stream = client.GetStream();
                    using var reader = new StreamReader(stream, Encoding.UTF8);
                    await stream.WriteAsync("+OK ready\r\n"u8.ToArray(), timeout.Token);
                    while (await reader.ReadLineAsync(timeout.Token) is { } line)
                    {
                        _received.Enqueue(line);
                        string reply = line.StartsWith("CAPA", StringComparison.OrdinalIgnoreCase) ? "+OK\r\nUSER\r\n."
                            : line.StartsWith("PASS", StringComparison.OrdinalIgnoreCase) ? passReply
                            : line.StartsWith("QUIT", StringComparison.OrdinalIgnoreCase) ? "+OK bye"
                            : "+OK";
                        await stream.WriteAsync(Encoding.UTF8.GetBytes(reply + "\r\n"), timeout.Token);
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
                {
                }
            }
        }
    }
}
