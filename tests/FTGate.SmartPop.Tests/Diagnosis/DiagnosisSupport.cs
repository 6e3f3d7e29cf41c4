using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FTGate.OAuth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FTGate.SmartPop.Tests.Diagnosis;

/// <summary>A SmartPop client over the SDK's real providers, built the way a host builds them (AddFTGate + AddMicrosoft/AddGoogle/AddOAuth2).</summary>
internal sealed class ProviderHost : IDisposable
{
    private readonly ServiceProvider _services;

    public ProviderHost(Action<IFTGateBuilder> configure, Action<IServiceCollection>? services = null)
    {
        var collection = new ServiceCollection();
        services?.Invoke(collection);
        configure(collection.AddFTGate().UseInMemoryTokenStore());
        _services = collection.BuildServiceProvider();
        Registry = _services.GetRequiredService<IAuthProviderRegistry>();
        Client = new SmartPopClient(Registry, new InMemoryUidlStore(), Options.Create(new SmartPopOptions()));
    }

    public IAuthProviderRegistry Registry { get; }

    public SmartPopClient Client { get; }

    public void Dispose() => _services.Dispose();
}

/// <summary>Keeps every delivered message in memory.</summary>
internal sealed class CollectingSink : IMessageSink
{
    public List<string> Messages { get; } = [];

    public async Task DeliverAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default)
    {
        using var reader = new StreamReader(message, Encoding.UTF8);
        Messages.Add(await reader.ReadToEndAsync(cancellationToken));
    }
}

/// <summary>A port that accepts TCP connections and never says a word (a dead backend behind a port forward).</summary>
internal sealed class SilentServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<TcpClient> _clients = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;

    public SilentServer()
    {
        _listener.Start();
        _accept = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    TcpClient client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    lock (_clients)
                    {
                        _clients.Add(client);
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        });
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accept;
        lock (_clients)
        {
            _clients.ForEach(c => c.Dispose());
        }

        _stop.Dispose();
    }
}

/// <summary>
/// A provider handing out a fixed Microsoft-shaped JWT (what Entra issues for Exchange), cached first, fresh after a forced
/// refresh, so the Test's token inspection and Exchange narrowing can be checked without Entra.
/// </summary>
internal sealed class JwtProvider(string user, string payloadJson) : IAuthProvider
{
    public int Refreshes { get; private set; }

    public string Name => "jwt";

    public AuthProviderKind Kind => AuthProviderKind.Microsoft;

    public string? UserName => user;

    public string Token { get; } = "eyJhbGciOiJub25lIn0." + Convert.ToBase64String(Encoding.UTF8.GetBytes(payloadJson)).TrimEnd('=').Replace('+', '-').Replace('/', '_') + ".c2ln";

    public Task<AccessToken> GetAccessTokenAsync(string userName, CancellationToken cancellationToken = default) =>
        Task.FromResult(new AccessToken(Token, DateTimeOffset.UtcNow.AddHours(1), userName, ["https://outlook.office.com/POP.AccessAsUser.All"], fromCache: true));

    public Task<AccessToken> RefreshAccessTokenAsync(string userName, CancellationToken cancellationToken = default)
    {
        Refreshes++;
        return Task.FromResult(new AccessToken(Token, DateTimeOffset.UtcNow.AddHours(1), userName, ["https://outlook.office.com/POP.AccessAsUser.All"]));
    }

    public Task<AuthorizationChallenge> BeginAuthorizationAsync(AuthorizationRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException("Not used by these tests.");

    public Task<AuthorizationResult> CompleteAuthorizationAsync(AuthorizationCallback callback, CancellationToken cancellationToken = default) => throw new NotSupportedException("Not used by these tests.");

    public Task<AuthorizationResult> AuthorizeWithDeviceCodeAsync(Func<DeviceCodeInfo, CancellationToken, Task> onDeviceCode, CancellationToken cancellationToken = default) => throw new NotSupportedException("Not used by these tests.");

    public Task<AuthorizationStatus> GetStatusAsync(string userName, CancellationToken cancellationToken = default) => Task.FromResult(new AuthorizationStatus(Name, userName, AuthorizationState.Authorized));

    public Task SignOutAsync(string userName, CancellationToken cancellationToken = default) => Task.CompletedTask;
}

/// <summary>A registry of exactly one provider.</summary>
internal sealed class OneProviderRegistry(IAuthProvider provider) : IAuthProviderRegistry
{
    public IReadOnlyList<string> Names => [provider.Name];

    public IAuthProvider Get(string name) => TryGet(name, out IAuthProvider? found) ? found : throw new UnknownAuthProviderException(name, [provider.Name]);

    public bool TryGet(string name, [NotNullWhen(true)] out IAuthProvider? found)
    {
        found = name == provider.Name ? provider : null;
        return found is not null;
    }
}

internal static class Steps
{
    public static TestStep Step(this TestReport report, TestStepKind kind) => report.Steps.Single(s => s.Kind == kind);

    public static string Describe(this TestReport report) =>
        string.Join("\n", report.Steps.Select(s => $"{s.Kind} {s.Status}: {s.Detail} | cause: {s.Cause} | fix: {s.Remedy} | reply: {s.ServerReply} | code: {s.ErrorCode}"));
}
