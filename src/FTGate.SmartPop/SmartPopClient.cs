using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using FTGate.OAuth;
using FTGate.SmartPop.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FTGate.SmartPop;

/// <summary>
/// The POP3 collector (on MailKit). Exactly-once by construction: UIDL + LIST minus the seen set; a message is recorded
/// as seen only after the sink returns (for an <see cref="IBatchingMessageSink"/>, after its batch is committed), DELE
/// only after that, QUIT at the end. Memory is bounded by the account's size limit and by a byte budget shared by every
/// fetch in the process: each RETR (or pipelined batch of small messages) waits for budget first, because MailKit buffers
/// retrieved messages whole.
/// </summary>
public sealed class SmartPopClient : ISmartPopClient
{
    private const long PerMessageOverhead = 8 * 1024;
    private readonly IAuthProviderRegistry _providers;
    private readonly IUidlStore _uidls;
    private readonly SmartPopOptions _options;
    private readonly IPop3ConnectionFactory _connections;
    private readonly ByteBudget _budget;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

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
            new MailKitPop3ConnectionFactory(loggerFactory ?? NullLoggerFactory.Instance),
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

    /// <inheritdoc/>
    public async Task<FetchResult> FetchAsync(SmartPopAccount account, IMessageSink sink, IProgress<FetchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(sink);
        SmartPopAccountValidator.ThrowIfInvalid(account);
        string name = account.Name;
        DateTimeOffset startedAt = _time.GetUtcNow();
        long start = _time.GetTimestamp();
        Log.FetchStarted(_logger, name, account.Host, account.EffectivePort);
        Report(progress, name, FetchStage.Connecting);

        IPop3Connection connection;
        try
        {
            (connection, _) = await ConnectAndLoginAsync(account, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FTGateException)
        {
            SmartPopMetrics.Failures.Add(1, SmartPopMetrics.Account(name), SmartPopMetrics.Kind("login"));
            throw;
        }

        var warnings = new List<string>();
        var failures = new List<MessageFailure>();
        int listed = 0, @new = 0, delivered = 0, deleted = 0, tooLarge = 0, deferred = 0, pruned = 0, pendingDeletes = 0, handled = 0;
        long bytes = 0;
        FetchError? error = null;
        bool completed = false;
        bool cancelled = false;
        try
        {
            Report(progress, name, FetchStage.Listing);
            IReadOnlyList<long> sizes = await connection.GetSizesAsync(cancellationToken).ConfigureAwait(false);
            (IReadOnlyList<string> uidls, bool synthetic) = await ListUidlsAsync(connection, account, sizes, warnings, cancellationToken).ConfigureAwait(false);
            var messages = new List<ListedMessage>(sizes.Count);
            for (int i = 0; i < Math.Min(sizes.Count, uidls.Count); i++)
            {
                messages.Add(new ListedMessage(i, uidls[i], sizes[i]));
            }

            listed = messages.Count;
            var onServer = new HashSet<string>(uidls, StringComparer.Ordinal);
            pruned = await _uidls.PruneAsync(name, onServer, cancellationToken).ConfigureAwait(false);
            IReadOnlyDictionary<string, DateTimeOffset> seen = await _uidls.GetSeenAsync(name, cancellationToken).ConfigureAwait(false);
            DateTimeOffset now = _time.GetUtcNow();
            FetchPlan plan = FetchPlanner.Plan(messages, seen, account, now);
            @new = plan.New;
            deferred = plan.Deferred;
            tooLarge = plan.TooLarge.Count;
            Log.Listed(_logger, name, listed, plan.New, plan.Download.Count, plan.TooLarge.Count, plan.Deferred, plan.DeleteSeen.Count);
            foreach (ListedMessage big in plan.TooLarge)
            {
                Log.MessageTooLarge(_logger, name, big.Uidl, big.Size, account.MaxMessageSize);
                failures.Add(new MessageFailure { Uidl = big.Uidl, Size = big.Size, ErrorCode = "message_too_large", Message = $"{big.Size} bytes is more than MaxMessageSize {account.MaxMessageSize}; skipped and left on the server." });
                SmartPopMetrics.Skipped.Add(1, SmartPopMetrics.Account(name));
            }

            if (plan.Deferred > 0)
            {
                warnings.Add($"{plan.Deferred} new message(s) left for the next poll (MaxMessagesPerPoll {account.MaxMessagesPerPoll}).");
            }

            Report(progress, name, FetchStage.Downloading, plan.Download.Count);
            IReadOnlyList<IReadOnlyList<ListedMessage>> batches = FetchPlanner.Batch(plan.Download, connection.Server.SupportsPipelining, _options, _budget.Capacity);

            // The next batch is downloaded while the current one is delivered, so the network and the sink (which fsyncs)
            // overlap instead of taking turns. Each batch holds its own budget lease (a pipelined batch is at most half the
            // budget), and delivery never waits for budget, so two leases per fetch cannot deadlock. Because a download may be
            // in flight on the connection during delivery, DELEs are sent after the downloads, before QUIT: POP3 commits
            // DELE only at QUIT, so what the server ends up deleting is the same.
            var deletes = new List<int>();
            void DeliveryFailed(Exception ex, ListedMessage m)
            {
                Log.DeliveryFailed(_logger, ex, name, m.Uidl);
                SmartPopMetrics.Failures.Add(1, SmartPopMetrics.Account(name), SmartPopMetrics.Kind("delivery"));
                failures.Add(new MessageFailure { Uidl = m.Uidl, Size = m.Size, ErrorCode = SmartPopErrorCodes.DeliveryFailed, Message = $"The sink failed ({ex.GetType().Name}: {ex.Message}); the message stays on the server and unseen." });
            }

            Task<BatchDownload>? next = batches.Count > 0 ? DownloadAsync(connection, name, batches[0], cancellationToken) : null;
            try
            {
                for (int b = 0; b < batches.Count; b++)
                {
                    BatchDownload current = await next!.ConfigureAwait(false);
                    next = null;
                    IReadOnlyList<ListedMessage> batch = current.Batch;
                    if (current.Cancelled)
                    {
                        cancelled = true;
                        break;
                    }

                    if (current.ConnectionError is { } lost)
                    {
                        error = ToError(lost);
                        break;
                    }

                    if (b + 1 < batches.Count && !cancellationToken.IsCancellationRequested)
                    {
                        next = DownloadAsync(connection, name, batches[b + 1], cancellationToken);
                    }

                    if (current.CommandError is { } refused)
                    {
                        foreach (ListedMessage m in batch)
                        {
                            failures.Add(new MessageFailure { Uidl = m.Uidl, Size = m.Size, ErrorCode = refused.ErrorCode, Message = refused.Message });
                        }

                        continue;
                    }

                    IReadOnlyList<Stream> streams = current.Streams!;
                    using (current.Lease)
                    {
                        // A batching sink (the Maildir sink) gets every message of the batch, then one commit; otherwise each
                        // message is delivered (durably) on its own. Either way the seen records follow in one write, and
                        // only then may the messages be deleted from the server.
                        IMessageSinkBatch? sinkBatch = (sink as IBatchingMessageSink)?.BeginBatch(name);
                        var accepted = new List<(ListedMessage Message, MessageMetadata Metadata)>(batch.Count);
                        int i = 0;
                        try
                        {
                            for (; i < batch.Count; i++)
                            {
                                ListedMessage m = batch[i];
                                Stream stream = streams[i];
                                var metadata = new MessageMetadata(name, m.Uidl, m.Size, _time.GetUtcNow(), synthetic);
                                try
                                {
                                    if (sinkBatch is not null)
                                    {
                                        await sinkBatch.AddAsync(stream, metadata, cancellationToken).ConfigureAwait(false);
                                    }
                                    else
                                    {
                                        await sink.DeliverAsync(stream, metadata, cancellationToken).ConfigureAwait(false);
                                    }

                                    accepted.Add((m, metadata));
                                }
                                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                                {
                                    cancelled = true;
                                }
                                catch (Exception ex)
                                {
                                    DeliveryFailed(ex, m);
                                }
                                finally
                                {
                                    await stream.DisposeAsync().ConfigureAwait(false);
                                }

                                if (cancelled)
                                {
                                    i++;
                                    break;
                                }
                            }

                            if (sinkBatch is not null && accepted.Count > 0)
                            {
                                try
                                {
                                    // Also when cancelled: what was written completely is committed (graceful shutdown).
                                    await sinkBatch.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                                }
                                catch (Exception ex)
                                {
                                    foreach ((ListedMessage m, _) in accepted)
                                    {
                                        DeliveryFailed(ex, m);
                                    }

                                    accepted.Clear();
                                }
                            }

                            if (accepted.Count > 0)
                            {
                                // Durable first: the seen records must not be lost to a shutdown that begins now.
                                await _uidls.MarkSeenAsync(name, accepted.ConvertAll(a => a.Message.Uidl), accepted[0].Metadata.CollectedAt, CancellationToken.None).ConfigureAwait(false);
                            }

                            foreach ((ListedMessage m, MessageMetadata metadata) in accepted)
                            {
                                delivered++;
                                bytes += m.Size;
                                SmartPopMetrics.Messages.Add(1, SmartPopMetrics.Account(name));
                                SmartPopMetrics.Bytes.Add(m.Size, SmartPopMetrics.Account(name));
                                Log.MessageDelivered(_logger, name, m.Uidl, m.Size);
                                if (FetchPlanner.ShouldDelete(metadata.CollectedAt, account, metadata.CollectedAt))
                                {
                                    deletes.Add(m.Index);
                                }
                            }

                            int processed = cancelled ? i - 1 : i;
                            if (processed > 0)
                            {
                                handled += processed;
                                Report(progress, name, FetchStage.Downloading, plan.Download.Count, handled, bytes, batch[processed - 1].Uidl);
                            }
                        }
                        finally
                        {
                            for (; i < streams.Count; i++)
                            {
                                await streams[i].DisposeAsync().ConfigureAwait(false);
                            }

                            if (sinkBatch is not null)
                            {
                                await sinkBatch.DisposeAsync().ConfigureAwait(false);
                            }
                        }
                    }
                    if (cancelled)
                    {
                        break;
                    }
                }
            }
            finally
            {
                if (next is not null)
                {
                    // A download still under way (cancellation, a broken connection, or an unexpected failure): let it end
                    // and give its streams and budget back.
                    try
                    {
                        (await next.ConfigureAwait(false)).Release();
                    }
                    catch (Exception ex) when (ex is Pop3Exception or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
                    {
                    }
                }
            }

            if (error is null && deletes.Count > 0)
            {
                // Even when cancelled: QUIT then commits the deletions of the messages that were delivered.
                using var deleteTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), _time);
                CancellationToken deleteToken = cancelled ? deleteTimeout.Token : cancellationToken;
                foreach (int index in deletes)
                {
                    await connection.DeleteAsync(index, deleteToken).ConfigureAwait(false);
                    pendingDeletes++;
                }
            }

            if (!cancelled && error is null)
            {
                foreach (ListedMessage m in plan.DeleteSeen)
                {
                    await connection.DeleteAsync(m.Index, cancellationToken).ConfigureAwait(false);
                    pendingDeletes++;
                }
            }
        }
        catch (Pop3ConnectionException ex)
        {
            error = ToError(ex);
        }
        catch (Pop3CommandException ex) when (ex.ErrorCode != SmartPopErrorCodes.UidlNotSupported && ex.Command == "DELE")
        {
            warnings.Add($"DELE failed: {ex.ServerReply ?? ex.Message}; the message(s) will be deleted in a later poll.");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cancelled = true;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        Report(progress, name, FetchStage.Finishing, handled: handled, bytes: bytes);
        if (error is null)
        {
            // QUIT even when cancelled (graceful shutdown): it commits the DELEs of delivered messages.
            using var quitTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), _time);
            try
            {
                await connection.QuitAsync(quitTimeout.Token).ConfigureAwait(false);
                deleted = pendingDeletes;
                completed = !cancelled;
            }
            catch (Exception ex) when (ex is Pop3Exception or OperationCanceledException)
            {
                Log.QuitFailed(_logger, ex, name, pendingDeletes);
                if (pendingDeletes > 0)
                {
                    warnings.Add($"QUIT failed, so {pendingDeletes} deletion(s) were not committed; they are retried in the next poll.");
                }

                error = ex is Pop3Exception pop ? ToError(pop) : new FetchError { ErrorCode = SmartPopErrorCodes.ConnectionLost, Message = "QUIT timed out." };
            }
        }
        else
        {
            Log.FetchAborted(_logger, name, error.Message);
            SmartPopMetrics.Failures.Add(1, SmartPopMetrics.Account(name), SmartPopMetrics.Kind("connection"));
            if (pendingDeletes > 0)
            {
                warnings.Add($"The connection broke before QUIT, so {pendingDeletes} deletion(s) were not committed; they are retried in the next poll.");
            }
        }

        await connection.DisposeAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();

        var result = new FetchResult
        {
            AccountName = name,
            StartedAt = startedAt,
            Duration = _time.GetElapsedTime(start),
            Listed = listed,
            New = @new,
            Delivered = delivered,
            SkippedTooLarge = tooLarge,
            Deferred = deferred,
            Deleted = deleted,
            Bytes = bytes,
            Pruned = pruned,
            Completed = completed,
            Error = error,
            Failures = failures,
            Warnings = warnings,
        };
        Report(progress, name, FetchStage.Done, handled: handled, bytes: bytes);
        Log.FetchCompleted(_logger, name, delivered, bytes, deleted, failures.Count(f => f.ErrorCode != "message_too_large"), tooLarge, (long)result.Duration.TotalMilliseconds);
        return result;
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

    private async Task<(IReadOnlyList<string> Uidls, bool Synthetic)> ListUidlsAsync(IPop3Connection connection, SmartPopAccount account, IReadOnlyList<long> sizes, List<string> warnings, CancellationToken cancellationToken)
    {
        try
        {
            return (await connection.GetUidlsAsync(cancellationToken).ConfigureAwait(false), false);
        }
        catch (Pop3CommandException ex) when (ex.ErrorCode == SmartPopErrorCodes.UidlNotSupported)
        {
            if (connection.Server.SupportsTop)
            {
                string warning = $"{account.Host} does not support UIDL: messages are identified by a SHA-256 of their headers (TOP n 0), one extra command per message each poll. Two messages with identical headers would be taken for one.";
                warnings.Add(warning);
                Log.NoUidl(_logger, account.Name, warning);
                var ids = new List<string>(sizes.Count);
                for (int i = 0; i < sizes.Count; i++)
                {
                    Stream headers = await connection.GetHeadersAsync(i, cancellationToken).ConfigureAwait(false);
                    await using (headers.ConfigureAwait(false))
                    {
                        byte[] hash = await SHA256.HashDataAsync(headers, cancellationToken).ConfigureAwait(false);
                        ids.Add("sha256-" + Convert.ToHexString(hash, 0, 16).ToLowerInvariant());
                    }
                }

                return (ids, true);
            }

            if (!account.LeaveOnServer)
            {
                string warning = $"{account.Host} supports neither UIDL nor TOP: every listed message is downloaded and deleted; a crash between delivery and QUIT can deliver a message twice.";
                warnings.Add(warning);
                Log.NoUidl(_logger, account.Name, warning);
                return (sizes.Select((s, i) => $"msg-{i + 1}-{s}").ToList(), true);
            }

            throw new Pop3CommandException(
                SmartPopErrorCodes.UidlNotSupported,
                $"SmartPop account '{account.Name}': {account.Host} supports neither UIDL nor TOP, so messages left on the server cannot be told apart between polls.",
                "Set LeaveOnServer = false for this account (messages are deleted once delivered).",
                account.Name,
                account.Host,
                "UIDL",
                ex.ServerReply,
                ex);
        }
    }

    /// <summary>Waits for budget, then retrieves one batch; the outcome is captured, never thrown (except the unexpected).</summary>
    private async Task<BatchDownload> DownloadAsync(IPop3Connection connection, string name, IReadOnlyList<ListedMessage> batch, CancellationToken cancellationToken)
    {
        long need = batch.Sum(m => m.Size + PerMessageOverhead);
        if (_budget.Available < need)
        {
            Log.WaitingForBudget(_logger, name, need, _budget.Available, _budget.Capacity);
        }

        ByteBudget.Lease lease;
        try
        {
            lease = await _budget.AcquireAsync(need, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new BatchDownload(batch) { Cancelled = true };
        }

        try
        {
            IReadOnlyList<Stream> streams = batch.Count == 1
                ? [await connection.RetrieveAsync(batch[0].Index, cancellationToken).ConfigureAwait(false)]
                : await connection.RetrieveManyAsync(batch.Select(m => m.Index).ToList(), cancellationToken).ConfigureAwait(false);
            return new BatchDownload(batch) { Lease = lease, Streams = streams };
        }
        catch (Pop3CommandException ex)
        {
            lease.Dispose();
            return new BatchDownload(batch) { CommandError = ex };
        }
        catch (Pop3ConnectionException ex)
        {
            lease.Dispose();
            return new BatchDownload(batch) { ConnectionError = ex };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            lease.Dispose();
            return new BatchDownload(batch) { Cancelled = true };
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    /// <summary>A downloaded batch (streams + the budget lease they hold), or why there is none.</summary>
    private sealed class BatchDownload(IReadOnlyList<ListedMessage> batch)
    {
        public IReadOnlyList<ListedMessage> Batch { get; } = batch;

        public ByteBudget.Lease? Lease { get; init; }

        public IReadOnlyList<Stream>? Streams { get; init; }

        public Pop3CommandException? CommandError { get; init; }

        public Pop3ConnectionException? ConnectionError { get; init; }

        public bool Cancelled { get; init; }

        /// <summary>Disposes the streams and returns the budget (a download that will not be delivered).</summary>
        public void Release()
        {
            foreach (Stream stream in Streams ?? [])
            {
                stream.Dispose();
            }

            Lease?.Dispose();
        }
    }

    private static FetchError ToError(Pop3Exception ex) =>
        new() { ErrorCode = ex.ErrorCode, Message = ex.Message, ServerReply = ex.ServerReply, Remedy = ex.Remedy };

    private static void Report(IProgress<FetchProgress>? progress, string account, FetchStage stage, int total = 0, int handled = 0, long bytes = 0, string? uidl = null) =>
        progress?.Report(new FetchProgress { AccountName = account, Stage = stage, Total = total, Completed = handled, Bytes = bytes, CurrentUidl = uidl });
}
