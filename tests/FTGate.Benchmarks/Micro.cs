using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using FTGate.OAuth;
using FTGate.SmartPop;
using FTGate.SmartPop.Internal;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;

namespace FTGate.Benchmarks;

/// <summary>BenchmarkDotNet configuration: memory diagnoser on; in-process toolchain (no generated project to build).</summary>
internal static class MicroConfig
{
    public static IConfig Create() => DefaultConfig.Instance
        .AddDiagnoser(MemoryDiagnoser.Default)
        .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(12).WithId("inproc"))
        .WithOptions(ConfigOptions.DisableOptimizationsValidator)
        .WithArtifactsPath(Path.Combine(FTGate.Tests.Infrastructure.Infra.RepositoryRoot, "artifacts", "benchmarks", "micro"));
}

/// <summary>A cached <c>GetAccessTokenAsync</c> hit on the generic OAuth2 provider (public API).</summary>
[MemoryDiagnoser]
public class TokenCacheBenchmarks
{
    private TokenEndpoint? _endpoint;
    private ServiceProvider? _services;
    private IAuthProvider? _provider;

    [GlobalSetup]
    public void Setup()
    {
        _endpoint = new TokenEndpoint(initialExpiresIn: 3600);
        (_services, _provider) = _endpoint.AuthorizedProviderAsync(["alice@example.test"]).GetAwaiter().GetResult();
        _ = _provider.GetAccessTokenAsync("alice@example.test").GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _services?.Dispose();
        _endpoint?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark]
    public AccessToken CachedGetAccessToken() => _provider!.GetAccessTokenAsync("alice@example.test").GetAwaiter().GetResult();
}

/// <summary>Building the SASL initial response (internal OAuthSaslMechanism; MailKit's own XOAUTH2 as the baseline).</summary>
[MemoryDiagnoser]
public class SaslBenchmarks
{
    private const string User = "alice@example.test";
    private const string Token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.opaque-access-token-of-a-realistic-length-0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz-1234567890";

    [Benchmark(Baseline = true)]
    public string MailKitXOAuth2() => new SaslMechanismOAuth2(User, Token).Challenge(null, CancellationToken.None);

    [Benchmark]
    public string SmartPopXOAuth2() => new OAuthSaslMechanism(SaslMechanismKind.XOAuth2, User, Token, "outlook.office365.com", 995).Challenge(null, CancellationToken.None);

    [Benchmark]
    public string SmartPopOAuthBearer() => new OAuthSaslMechanism(SaslMechanismKind.OAuthBearer, User, Token, "outlook.office365.com", 995).Challenge(null, CancellationToken.None);
}

/// <summary>The seen-UIDL diff of a poll for a 100,000-message mailbox (1,000 new).</summary>
[MemoryDiagnoser]
public class UidlDiffBenchmarks
{
    private const int Count = 100_000;
    private List<ListedMessage> _listed = [];
    private List<string> _uidls = [];
    private Dictionary<string, DateTimeOffset> _seen = [];
    private InMemoryUidlStore _store = new();
    private readonly SmartPopAccount _account = new() { Name = "bench", MaxMessagesPerPoll = 0 };

    [GlobalSetup]
    public void Setup()
    {
        _uidls = Enumerable.Range(0, Count).Select(i => $"{1_700_000_000 + i}.M{i * 7919 % 1_000_003:x}P{i % 97}.mail.example.test").ToList();
        _listed = _uidls.Select((u, i) => new ListedMessage(i, u, 2048 + (i % 50_000))).ToList();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        _seen = _uidls.Take(Count - 1000).ToDictionary(u => u, _ => now, StringComparer.Ordinal);
        _store = new InMemoryUidlStore();
        foreach (string u in _seen.Keys)
        {
            _store.MarkSeenAsync("bench", u, now).GetAwaiter().GetResult();
        }
    }

    /// <summary>FetchPlanner.Plan alone: listed minus seen.</summary>
    [Benchmark]
    public int Plan() => FetchPlanner.Plan(_listed, _seen, _account, DateTimeOffset.UtcNow).Download.Count;

    /// <summary>What FetchAsync does per poll around it: on-server set, prune, seen snapshot from the store, plan.</summary>
    [Benchmark]
    public async Task<int> PollDiffWithStore()
    {
        var onServer = new HashSet<string>(_uidls, StringComparer.Ordinal);
        await _store.PruneAsync("bench", onServer);
        IReadOnlyDictionary<string, DateTimeOffset> seen = await _store.GetSeenAsync("bench");
        return FetchPlanner.Plan(_listed, seen, _account, DateTimeOffset.UtcNow).Download.Count;
    }
}

/// <summary>FileTokenStore read and write of a typical grant (about 2 KB, AES-GCM, atomic replace).</summary>
[MemoryDiagnoser]
public class FileTokenStoreBenchmarks
{
    private string _dir = "";
    private FileTokenStore? _store;
    private byte[] _value = [];
    private string _version = "";

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "ftg-bench-store-" + Guid.NewGuid().ToString("N")[..8]);
        _store = new FileTokenStore(_dir);
        _value = new byte[2048];
        Random.Shared.NextBytes(_value);
        _version = _store.SetAsync("grant/bench/ALICE@EXAMPLE.TEST", _value, null).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Directory.Delete(_dir, recursive: true);
        File.Delete(_dir + ".key");
    }

    [Benchmark]
    public async Task<int> Read() => (await _store!.GetAsync("grant/bench/ALICE@EXAMPLE.TEST"))!.Value.Length;

    [Benchmark]
    public async Task Write() => _version = await _store!.SetAsync("grant/bench/ALICE@EXAMPLE.TEST", _value, _version);
}
