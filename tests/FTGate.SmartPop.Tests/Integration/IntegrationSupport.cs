using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using FTGate.OAuth;
using FTGate.SmartPop.Tests.Unit;
using FTGate.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moq;

[assembly: AssemblyFixture(typeof(IntegrationServers))]

namespace FTGate.SmartPop.Tests.Integration;

/// <summary>
/// An <see cref="IAuthProvider"/> over REAL tokens from the loopback OAuth server: the first call returns the token as
/// freshly issued, later calls as cached; a forced refresh runs the real refresh_token grant, and invalid_grant becomes
/// <see cref="ReauthorizationRequiredException"/> (what the SDK's providers do).
/// </summary>
internal sealed class RealTokenProvider(OAuthServer server, string user, TokenSet tokens) : IAuthProvider
{
    private TokenSet _tokens = tokens;
    private bool _handedOut;

    public int Refreshes { get; private set; }

    public string CurrentAccessToken => _tokens.AccessToken;

    public string? CurrentRefreshToken => _tokens.RefreshToken;

    public string Name => "test-oauth";

    public AuthProviderKind Kind => AuthProviderKind.OAuth2;

    public string? UserName => user;

    public Task<AccessToken> GetAccessTokenAsync(string userName, CancellationToken cancellationToken = default)
    {
        bool cached = _handedOut;
        _handedOut = true;
        return Task.FromResult(new AccessToken(_tokens.AccessToken, DateTimeOffset.UtcNow.AddSeconds(_tokens.ExpiresIn), user, fromCache: cached));
    }

    public async Task<AccessToken> RefreshAccessTokenAsync(string userName, CancellationToken cancellationToken = default)
    {
        Refreshes++;
        try
        {
            _tokens = await server.TokenRequestAsync(
                new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = _tokens.RefreshToken ?? "", ["client_id"] = OAuthServer.NativeClientId },
                cancellationToken);
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains("invalid_grant", StringComparison.Ordinal))
        {
            throw new ReauthorizationRequiredException(FTGateErrorCodes.ReauthorizationRequired, "The grant is revoked or expired.", "Run Authorize Now again.", Name, user, "invalid_grant", null, ex);
        }

        return new AccessToken(_tokens.AccessToken, DateTimeOffset.UtcNow.AddSeconds(_tokens.ExpiresIn), user);
    }

    public Task<AuthorizationChallenge> BeginAuthorizationAsync(AuthorizationRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<AuthorizationResult> CompleteAuthorizationAsync(AuthorizationCallback callback, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<AuthorizationResult> AuthorizeWithDeviceCodeAsync(Func<DeviceCodeInfo, CancellationToken, Task> onDeviceCode, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<AuthorizationStatus> GetStatusAsync(string userName, CancellationToken cancellationToken = default) => Task.FromResult(new AuthorizationStatus(Name, user, AuthorizationState.Authorized));

    public Task SignOutAsync(string userName, CancellationToken cancellationToken = default) => Task.CompletedTask;
}

/// <summary>Builds clients and accounts against the fixture's Dovecot, with the protocol log captured.</summary>
internal sealed class Harness : IDisposable
{
    private readonly ILoggerFactory _loggers;

    public Harness(IntegrationServers servers, IAuthProvider? provider = null, long budget = 64L * 1024 * 1024)
    {
        Servers = servers;
        Provider = provider;
        _loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(new ListLoggerProvider(Log)));
        var registry = new Mock<IAuthProviderRegistry>();
        if (provider is not null)
        {
            registry.Setup(r => r.Get("test-oauth")).Returns(provider);
        }

        Client = new SmartPopClient(registry.Object, Store, Options.Create(new SmartPopOptions { MemoryBudgetBytes = budget }), TimeProvider.System, _loggers);
    }

    public IntegrationServers Servers { get; }

    public IAuthProvider? Provider { get; }

    public List<string> Log { get; } = [];

    public InMemoryUidlStore Store { get; } = new();

    public SmartPopClient Client { get; }

    public string AllLog
    {
        get
        {
            lock (Log)
            {
                return string.Join("\n", Log);
            }
        }
    }

    public SmartPopAccount Account(string user = "alice@example.test", Action<SmartPopAccount>? configure = null)
    {
        var account = new SmartPopAccount
        {
            Name = "it-" + user.Split('@')[0],
            Host = Servers.Dovecot.Host,
            Port = Servers.Dovecot.Pop3sPort,
            Security = Pop3Security.SslOnConnect,
            UserName = user,
            AuthProvider = "test-oauth",
            TrustedRootCertificates = [Servers.Dovecot.CaCertificate],
            CheckCertificateRevocation = false, // the test CA publishes no CRL
            ProtocolLog = true,
        };
        configure?.Invoke(account);
        return account;
    }

    public void Dispose() => _loggers.Dispose();

    private sealed class ListLoggerProvider(List<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(lines);

        public void Dispose()
        {
        }
    }
}

/// <summary>A TCP relay that cuts both directions after <c>cutAfter</c> bytes from the server.</summary>
internal sealed class CuttingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;

    public CuttingProxy(int targetPort, long cutAfter)
    {
        _listener.Start();
        _accept = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                _ = RelayAsync(client, targetPort, cutAfter);
            }
        });
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public long CutAfter { get; set; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accept;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task RelayAsync(TcpClient client, int targetPort, long cutAfter)
    {
        using (client)
        using (var server = new TcpClient())
        {
            await server.ConnectAsync(IPAddress.Loopback, targetPort);
            NetworkStream c = client.GetStream();
            NetworkStream s = server.GetStream();
            using var cut = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            Task up = CopyAsync(c, s, long.MaxValue, cut);
            Task down = CopyAsync(s, c, cutAfter, cut);
            await Task.WhenAny(up, down);
            await cut.CancelAsync();
            client.Client.LingerState = new LingerOption(true, 0); // RST: a hard drop
        }
    }

    private static async Task CopyAsync(Stream from, Stream to, long limit, CancellationTokenSource cut)
    {
        byte[] buffer = new byte[16 * 1024];
        long total = 0;
        try
        {
            while (total < limit)
            {
                int n = await from.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, limit - total)), cut.Token);
                if (n == 0)
                {
                    return;
                }

                await to.WriteAsync(buffer.AsMemory(0, n), cut.Token);
                total += n;
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}

/// <summary>
/// Counts deliveries per UIDL and forwards to an inner sink. It offers batches (group commit) and passes them to the inner
/// sink's batches when the inner sink has them (the Maildir sink does), so the scenario suites run SmartPop's batch path.
/// </summary>
internal sealed class CountingSink(IMessageSink inner, Func<MessageMetadata, bool>? fail = null) : IBatchingMessageSink
{
    private readonly IMessageSink _inner = inner;
    private readonly Func<MessageMetadata, bool>? _fail = fail;

    public Dictionary<string, int> Count { get; } = [];

    /// <summary>Batches committed (a batch of one per <see cref="DeliverAsync"/> call).</summary>
    public int Commits { get; private set; }

    /// <summary>When set, every batch commit throws it (after the inner sink's files were written, before its commit).</summary>
    public Exception? CommitFailure { get; set; }

    public async Task DeliverAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default)
    {
        await using IMessageSinkBatch batch = BeginBatch(metadata.AccountName);
        await batch.AddAsync(message, metadata, cancellationToken);
        await batch.CommitAsync(cancellationToken);
    }

    public IMessageSinkBatch BeginBatch(string accountName) =>
        new Batch(this, (_inner as IBatchingMessageSink)?.BeginBatch(accountName));

    private sealed class Batch(CountingSink owner, IMessageSinkBatch? innerBatch) : IMessageSinkBatch
    {
        private readonly List<string> _added = [];

        public async Task AddAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default)
        {
            if (owner._fail?.Invoke(metadata) == true)
            {
                throw new IOException("sink refused " + metadata.Uidl);
            }

            if (innerBatch is not null)
            {
                await innerBatch.AddAsync(message, metadata, cancellationToken);
            }
            else
            {
                await owner._inner.DeliverAsync(message, metadata, cancellationToken);
            }

            _added.Add(metadata.Uidl);
        }

        public async Task CommitAsync(CancellationToken cancellationToken = default)
        {
            if (owner.CommitFailure is { } failure)
            {
                throw failure;
            }

            if (innerBatch is not null)
            {
                await innerBatch.CommitAsync(cancellationToken);
            }

            lock (owner.Count)
            {
                foreach (string uidl in _added)
                {
                    owner.Count[uidl] = owner.Count.GetValueOrDefault(uidl) + 1;
                }

                owner.Commits++;
            }

            _added.Clear();
        }

        public ValueTask DisposeAsync() => innerBatch?.DisposeAsync() ?? ValueTask.CompletedTask;
    }
}
