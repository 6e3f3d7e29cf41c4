using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FTGate.OAuth.Internal;
using FTGate.OAuth.Tests.MicrosoftProvider;
using FTGate.OAuth.Tests.OAuth2;
using FTGate.Tests.Infrastructure;

namespace FTGate.OAuth.Tests.Grants;

/// <summary>
/// Issue 16 item 5: several real processes share one <see cref="FileTokenStore"/> and ask for a token when it is due, against
/// the real OAuth server, which rotates refresh tokens and revokes the whole grant when a used one comes back.
/// </summary>
[Collection(nameof(OAuthServerExclusive))]
public sealed class CrossProcessRefreshTests(IntegrationServers servers) : IDisposable
{
    private const string Alice = "alice@example.test";
    private const int Processes = 4;
    private const int Rounds = 2;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "ftg-xproc-" + Guid.NewGuid().ToString("N"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GetAccessTokenAsync_FourProcessesPerExpiry_OneRefreshPerExpiryAndGrantStaysValid()
    {
        servers.Require();
        var store = new FileTokenStore(_directory);
        // The grant as the workers' provider (same options) would have stored it, bound to its client and token endpoint.
        var options = new OAuth2AuthOptions { TokenEndpoint = servers.OAuth.TokenEndpoint.ToString(), ClientId = OAuthServer.NativeClientId, UserName = Alice, AllowInsecureHttp = true };
        var workerShaped = new OAuth2AuthProvider("shared", new StaticOptionsMonitor<OAuth2AuthOptions>("shared", options), store, TimeProvider.System);
        var grants = new GrantStore(store, "shared", () => workerShaped.Binding);
        TokenSet tokens = await servers.OAuth.GetUserTokensAsync(Alice, "alice-password", cancellationToken: Ct);
        await grants.SaveAuthorizationAsync(
            new StoredGrant { UserName = Alice, AccessToken = tokens.AccessToken, AccessTokenExpiresOn = DateTimeOffset.UtcNow, RefreshToken = tokens.RefreshToken },
            Ct);

        // The server is shared by the whole test run: earlier tests' deliberate invalid_grant answers are counted too, so
        // only an increase during this test is a failed refresh.
        int refreshErrorsBefore = RefreshErrors(await servers.OAuth.GetStatsAsync(Ct));
        for (int round = 1; round <= Rounds; round++)
        {
            await ExpireAsync(grants);
            int refreshesBefore = await servers.OAuth.CountTokenRequestsAsync("refresh_token", Ct);

            string[] outputs = await RunWorkersAsync();

            int refreshes = await servers.OAuth.CountTokenRequestsAsync("refresh_token", Ct) - refreshesBefore;
            Assert.True(outputs.All(o => o.StartsWith("token ", StringComparison.Ordinal)), "worker outputs: " + string.Join(" | ", outputs));
            Assert.Single(outputs.Distinct(StringComparer.Ordinal));
            Assert.Equal(1, refreshes);
            TestContext.Current.TestOutputHelper?.WriteLine($"cross-process refresh, round {round}: {Processes} processes, {refreshes} refresh request(s), one token shared");
        }

        JsonElement stats = await servers.OAuth.GetStatsAsync(Ct);
        Assert.True(RefreshErrors(stats) == refreshErrorsBefore, "refresh errors during the test: " + stats);
        StoredGrant? last = await grants.GetAsync(Alice, Ct);
        Assert.NotEqual(tokens.RefreshToken, last?.RefreshToken);
        TokenSet after = await servers.OAuth.TokenRequestAsync(
            new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = last?.RefreshToken ?? "", ["client_id"] = OAuthServer.NativeClientId },
            Ct);
        Assert.NotNull(after.RefreshToken);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private static int RefreshErrors(JsonElement stats)
    {
        int count = 0;
        if (stats.TryGetProperty("tokenErrors", out JsonElement errors) && errors.TryGetProperty("refresh_token", out JsonElement byError))
        {
            foreach (JsonProperty error in byError.EnumerateObject())
            {
                count += error.Value.GetInt32();
            }
        }

        return count;
    }

    private static async Task ExpireAsync(GrantStore grants)
    {
        StoredGrant grant = await grants.GetAsync(Alice, Ct) ?? throw new InvalidOperationException("no grant");
        grant.AccessTokenExpiresOn = DateTimeOffset.UtcNow - TimeSpan.FromMinutes(1);
        await grants.SaveAuthorizationAsync(grant, Ct);
    }

    private async Task<string[]> RunWorkersAsync()
    {
        string worker = Path.Combine(AppContext.BaseDirectory, "FTGate.OAuth.Tests.Worker.dll");
        var processes = new List<(Process Process, TaskCompletionSource Ready, List<string> Lines)>();
        for (int i = 0; i < Processes; i++)
        {
            processes.Add(Start(worker));
        }

        // Every worker is up and waiting: release them together so their refreshes really race.
        // (Upper bounds here and below only fire on a real failure: a worker that never starts or never answers.)
        await Task.WhenAll(processes.Select(p => p.Ready.Task)).WaitAsync(TimeSpan.FromSeconds(120), Ct);
        foreach ((Process process, _, _) in processes)
        {
            await process.StandardInput.WriteLineAsync("go".AsMemory(), Ct);
            await process.StandardInput.FlushAsync(Ct);
        }

        var outputs = new List<string>();
        foreach ((Process process, _, List<string> lines) in processes)
        {
            await process.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(120), Ct);
            process.WaitForExit(); // drains the asynchronous output readers
            lock (lines)
            {
                outputs.Add(lines.LastOrDefault() ?? "(no output)");
            }

            process.Dispose();
        }

        return [.. outputs];
    }

    private (Process, TaskCompletionSource, List<string>) Start(string worker)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[] { worker, "refresh", _directory, servers.OAuth.TokenEndpoint.ToString(), OAuthServer.NativeClientId, Alice })
        {
            info.ArgumentList.Add(arg);
        }

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lines = new List<string>();
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (lines)
            {
                lines.Add(e.Data);
            }

            if (e.Data == "ready")
            {
                ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (lines)
                {
                    lines.Add("stderr: " + e.Data);
                }
            }
        };
        process.Exited += (_, _) => ready.TrySetResult();
        process.EnableRaisingEvents = true;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, ready, lines);
    }
}
