using System.Net;
using FTGate.OAuth;
using FTGate.SmartPop.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FTGate.SmartPop;

/// <summary>
/// The POP3 collector (MailKit for the login, SmartPop's own streaming RETR). Exactly-once by construction: every listed
/// message gets an identity (its UIDL, or its content when the UIDL cannot tell it apart), the seen set is subtracted; a
/// message is recorded as seen only after the sink returns (for an <see cref="IBatchingMessageSink"/>, after its batch is
/// committed), DELE only after that, QUIT at the end. Messages stream from the connection into the sink, so memory does
/// not grow with message size; one bad message never stops the others; <see cref="SmartPopAccount.FetchTimeout"/> bounds
/// the whole fetch. The steps live in the internal fetch session type.
/// </summary>
public sealed class SmartPopClient : ISmartPopClient
{
    private readonly IAuthProviderRegistry _providers;
    private readonly IUidlStore _uidls;
    private readonly SmartPopOptions _options;
    private readonly IPop3ConnectionFactory _connections;
    private readonly ByteBudget _budget;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly InMemoryFailureLog _failureLog = new();

    /// <summary>Creates a client with its own memory budget (use the DI registration to share one budget per process).</summary>
    /// <param name="providers">Resolves the accounts' OAuth2 providers.</param>
    /// <param name="uidls">The seen-UIDL store.</param>
    /// <param name="options">Process-wide settings (memory budget, pipelining).</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="loggerFactory">Logging; the protocol log goes to category <c>FTGate.SmartPop.Protocol</c>.</param>
    public SmartPopClient(IAuthProviderRegistry providers, IUidlStore uidls, IOptions<SmartPopOptions> options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
        : this(
            providers,
            uidls,
            options,
            new MailKitPop3ConnectionFactory(loggerFactory ?? NullLoggerFactory.Instance, timeProvider),
            new ByteBudget((options ?? throw new ArgumentNullException(nameof(options))).Value.MemoryBudgetBytes),
            timeProvider ?? TimeProvider.System,
            loggerFactory ?? NullLoggerFactory.Instance)
    {
    }

    internal SmartPopClient(IAuthProviderRegistry providers, IUidlStore uidls, IOptions<SmartPopOptions> options, IPop3ConnectionFactory connections, ByteBudget budget, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(providers);
        ArgumentNullException.ThrowIfNull(uidls);
        ArgumentNullException.ThrowIfNull(options);
        _providers = providers;
        _uidls = uidls;
        _options = options.Value;
        _connections = connections;
        _budget = budget;
        _time = timeProvider;
        _logger = loggerFactory.CreateLogger<SmartPopClient>();
    }

    /// <summary>DNS resolution (a seam for tests).</summary>
    internal Func<string, CancellationToken, Task<IPAddress[]>> ResolveHost { get; set; } = Dns.GetHostAddressesAsync;

    internal ByteBudget Budget => _budget;

    internal IUidlStore Uidls => _uidls;

    internal SmartPopOptions Options => _options;

    internal TimeProvider Time => _time;

    /// <summary>Per-message failure counts: kept by the built-in stores, else in memory for the client's lifetime.</summary>
    internal IFailureLog Failures => _uidls as IFailureLog ?? _failureLog;

    /// <inheritdoc/>
    public async Task<FetchResult> FetchAsync(SmartPopAccount account, IMessageSink sink, IProgress<FetchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(sink);
        SmartPopAccountValidator.ThrowIfInvalid(account);
        using var session = new FetchSession(this, account, sink, progress, cancellationToken);
        return await session.RunAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<TestReport> TestAsync(SmartPopAccount account, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(account);
        var tester = new ConnectionTester(this, account);
        return await tester.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The shared-mailbox rule: the token is asked for the provider's authorized user (app-only: for the mailbox, as the app);
    /// the SASL user stays the account's UserName. A token request that never reached the provider is rethrown with its network
    /// cause and fix (the Test shows the same words).
    /// </summary>
    internal async Task<AccessToken> GetTokenAsync(SmartPopAccount account, bool forceRefresh, CancellationToken cancellationToken)
    {
        IAuthProvider provider = _providers.Get(account.AuthProvider!); // UsesOAuth checked by callers
        string user = MailboxTokenRule.TokenUser(provider, account);
        AuthorizationException? explained = null;
        try
        {
            return forceRefresh
                ? await provider.RefreshAccessTokenAsync(user, cancellationToken).ConfigureAwait(false)
                : await provider.GetAccessTokenAsync(user, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && TokenEndpointDiagnosis.TryExplain(ex, provider.Name, out explained))
        {
            throw explained;
        }
    }

    internal static string GetPassword(SmartPopAccount account) =>
        !string.IsNullOrEmpty(account.Password)
            ? account.Password
            : Environment.GetEnvironmentVariable(account.PasswordEnvironmentVariable ?? string.Empty)
              ?? throw new FTGateConfigurationException(
                  $"SmartPop account '{account.Name}': PasswordEnvironmentVariable '{account.PasswordEnvironmentVariable}' is not set.",
                  "Set the variable in the service's environment.");

    internal IPop3Connection CreateConnection(SmartPopAccount account) => _connections.Create(account);

    internal ILogger Logger => _logger;

    internal IAuthProvider Provider(SmartPopAccount account) => _providers.Get(account.AuthProvider!); // UsesOAuth checked by callers

    internal DateTimeOffset Now() => _time.GetUtcNow();

    internal Func<long> Timestamp => _time.GetTimestamp;

    internal TimeSpan Elapsed(long since) => _time.GetElapsedTime(since);

    /// <summary>Refuses to send a secret over an unencrypted connection unless the account allows it.</summary>
    internal static void EnsureSafeToAuthenticate(SmartPopAccount account, IPop3Connection connection)
    {
        if (!connection.IsEncrypted && !account.AllowInsecureAuthentication)
        {
            throw new Pop3ConnectionException(
                SmartPopErrorCodes.InsecureAuthenticationRefused,
                $"SmartPop account '{account.Name}': the connection to {account.Host} is not encrypted, so the {(account.UsesOAuth ? "access token" : "password")} was not sent.",
                "Use Security = SslOnConnect (995) or StartTls (110). AllowInsecureAuthentication exists for test servers only.",
                account.Name,
                account.Host);
        }
    }

    /// <summary>XOAUTH2 by default; OAUTHBEARER when asked for, or when the server offers only that.</summary>
    internal static SaslMechanismKind ChooseMechanism(SmartPopAccount account, Pop3ServerInfo server)
    {
        IReadOnlySet<string> offered = server.SaslMechanisms;
        bool xoauth2 = offered.Count == 0 || offered.Contains("XOAUTH2");
        bool bearer = offered.Count == 0 || offered.Contains("OAUTHBEARER");
        SaslMechanismKind? choice = account.SaslMechanism switch
        {
            SaslMechanismKind.XOAuth2 => xoauth2 ? SaslMechanismKind.XOAuth2 : null,
            SaslMechanismKind.OAuthBearer => bearer ? SaslMechanismKind.OAuthBearer : null,
            _ => xoauth2 ? SaslMechanismKind.XOAuth2 : bearer ? SaslMechanismKind.OAuthBearer : null,
        };

        return choice ?? throw new Pop3CommandException(
            SmartPopErrorCodes.MechanismNotOffered,
            $"SmartPop account '{account.Name}': {account.Host} does not offer {(account.SaslMechanism is { } m ? m.ToString().ToUpperInvariant() : "XOAUTH2 or OAUTHBEARER")} (it offers SASL {string.Join(' ', offered)}).",
            "Check the host (OAuth2 needs a server with XOAUTH2/OAUTHBEARER, e.g. outlook.office365.com or pop.gmail.com), or use a password account.",
            account.Name,
            account.Host,
            "CAPA");
    }

    /// <summary>Connects and logs in; a cached token the server rejects gets one forced refresh and one retry on a NEW connection.</summary>
    internal async Task<(IPop3Connection Connection, string Mechanism)> ConnectAndLoginAsync(SmartPopAccount account, CancellationToken cancellationToken)
    {
        AccessToken? token = account.UsesOAuth ? await GetTokenAsync(account, forceRefresh: false, cancellationToken).ConfigureAwait(false) : null;
        for (int attempt = 0; ; attempt++)
        {
            IPop3Connection connection = _connections.Create(account);
            try
            {
                Pop3ConnectInfo info = await connection.ConnectAsync(cancellationToken).ConfigureAwait(false);
                Log.Connected(_logger, account.Name, info.RemoteAddress, info.IsEncrypted, info.TlsProtocol, (long)(info.TcpConnectTime + info.HandshakeTime).TotalMilliseconds);
                EnsureSafeToAuthenticate(account, connection);
                string mechanism;
                if (token is not null)
                {
                    SaslMechanismKind kind = ChooseMechanism(account, connection.Server);
                    mechanism = kind == SaslMechanismKind.OAuthBearer ? "OAUTHBEARER" : "XOAUTH2";
                    await connection.AuthenticateOAuthAsync(kind, account.UserName, token.Value, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    mechanism = connection.Server.SaslMechanisms.Contains("PLAIN") ? "PLAIN" : "USER/PASS";
                    await connection.AuthenticatePasswordAsync(account.UserName, GetPassword(account), cancellationToken).ConfigureAwait(false);
                }

                Log.Authenticated(_logger, account.Name, mechanism);
                return (connection, mechanism);
            }
            catch (Pop3Exception ex) when (attempt == 0 && token is { FromCache: true } && ex.ErrorCode == SmartPopErrorCodes.AuthenticationRejected)
            {
                // The session may be out of sync (error challenge): never reuse it. Refresh once, reconnect, retry once.
                Log.RetryWithRefreshedToken(_logger, account.Name, ex.ServerReply);
                await connection.DisposeAsync().ConfigureAwait(false);
                token = await GetTokenAsync(account, forceRefresh: true, cancellationToken).ConfigureAwait(false);
            }
            catch (Pop3Exception ex) when (ex.ErrorCode == SmartPopErrorCodes.AuthenticationRejected)
            {
                Log.AuthenticationFailed(_logger, account.Name, ex.ServerReply);
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }
}
