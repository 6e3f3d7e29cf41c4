using System.Net;
using System.Net.Sockets;
using FTGate.OAuth;

namespace FTGate.SmartPop.Internal;

/// <summary>
/// Runs <see cref="SmartPopClient.TestAsync"/>: one method per step, each timed; a failing step records its cause and fix and
/// stops the run. Every failure stays inside the step table: nothing but the caller's cancellation leaves this class.
/// </summary>
internal sealed class ConnectionTester(SmartPopClient client, SmartPopAccount account)
{
    private readonly List<TestStep> _steps = [];
    private IPop3Connection? _connection;
    private SaslMechanismKind _mechanism;
    private AccessToken? _token;
    private string? _password;
    private JwtFindings? _findings;
    private string _tokenUser = account.UserName;
    private bool _otherMailbox;
    private bool _appOnly;

    public async Task<TestReport> RunAsync(CancellationToken cancellationToken)
    {
        long start = client.Timestamp();
        try
        {
            _ = ValidateAccount()
                && await ResolveHostAsync(cancellationToken).ConfigureAwait(false)
                && await ConnectAsync(cancellationToken).ConfigureAwait(false)
                && CheckCapabilities()
                && await AcquireTokenAsync(cancellationToken).ConfigureAwait(false)
                && InspectToken()
                && await LoginAsync(cancellationToken).ConfigureAwait(false)
                && await StatAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await CloseAsync().ConfigureAwait(false);
        }

        foreach (TestStepKind kind in Enum.GetValues<TestStepKind>())
        {
            if (!_steps.Any(s => s.Kind == kind))
            {
                _steps.Add(new TestStep { Kind = kind, Status = TestStepStatus.Skipped, Detail = "Not run: an earlier step failed." });
            }
        }

        _steps.Sort((a, b) => a.Kind.CompareTo(b.Kind));
        return new TestReport { AccountName = account.Name, Steps = _steps, Duration = client.Elapsed(start) };
    }

    private bool ValidateAccount()
    {
        try
        {
            SmartPopAccountValidator.ThrowIfInvalid(account);
            return true;
        }
        catch (FTGateConfigurationException ex)
        {
            Fail(TestStepKind.ResolveHost, 0, ex.Message, ex.Remedy, ex.ErrorCode);
            return false;
        }
    }

    private async Task<bool> ResolveHostAsync(CancellationToken cancellationToken)
    {
        long t = client.Timestamp();
        try
        {
            IPAddress[] addresses = await client.ResolveHost(account.Host, cancellationToken).ConfigureAwait(false);
            Add(TestStepKind.ResolveHost, TestStepStatus.Passed, t, string.Join(", ", addresses.Select(a => a.ToString())));
            return true;
        }
        catch (SocketException ex)
        {
            Fail(TestStepKind.ResolveHost, t, $"The host name '{account.Host}' does not resolve ({ex.SocketErrorCode}).", "Check the spelling of Host and the machine's DNS settings.", SmartPopErrorCodes.HostNotFound);
            return false;
        }
    }

    /// <summary>TCP, TLS and the greeting, all bounded by ConnectTimeout; a failure is named by a raw probe of the port.</summary>
    private async Task<bool> ConnectAsync(CancellationToken cancellationToken)
    {
        if (account.Security != Pop3Security.SslOnConnect && !await ProbeClearTextPortAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        _connection = client.CreateConnection(account);
        long t = client.Timestamp();
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(account.ConnectTimeout);
        Pop3ConnectInfo info;
        try
        {
            info = await _connection.ConnectAsync(bound.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or Pop3Exception && bound.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            await ExplainConnectFailureAsync(null, t, cancellationToken).ConfigureAwait(false);
            return false;
        }
        catch (Pop3Exception ex)
        {
            await ExplainConnectFailureAsync(ex, t, cancellationToken).ConfigureAwait(false);
            return false;
        }

        RecordConnected(info);
        return true;
    }

    /// <summary>For a clear-text start (None, StartTls): a port that speaks TLS, or never greets, is named before MailKit waits on it.</summary>
    private async Task<bool> ProbeClearTextPortAsync(CancellationToken cancellationToken)
    {
        long t = client.Timestamp();
        PortProbe probe = await ConnectionProbe.SpeaksAsync(account, cancellationToken).ConfigureAwait(false);
        if (probe.Speaks is PortSpeaks.PlainPop3 or PortSpeaks.Unreachable)
        {
            return true; // Unreachable: MailKit's connect reports refused / timed out in its own words.
        }

        (string cause, string remedy) = ConnectAdvice.ForPort(account, probe)!.Value; // Tls, Silence and Other on a clear-text start are always named
        Add(TestStepKind.Connect, TestStepStatus.Passed, t, $"TCP connection to {account.Host}:{account.EffectivePort} made.");
        Fail(TestStepKind.TlsHandshake, t, cause, remedy, probe.Speaks == PortSpeaks.Tls ? SmartPopErrorCodes.TlsFailed : SmartPopErrorCodes.ConnectFailed);
        return false;
    }

    private async Task ExplainConnectFailureAsync(Pop3Exception? ex, long since, CancellationToken cancellationToken)
    {
        if (ex?.ErrorCode is SmartPopErrorCodes.ConnectFailed or SmartPopErrorCodes.HostNotFound)
        {
            Fail(TestStepKind.Connect, since, ex.Message, ex.Remedy, ex.ErrorCode, ex.ServerReply);
            return;
        }

        Add(TestStepKind.Connect, TestStepStatus.Passed, since, $"TCP connection to {account.Host}:{account.EffectivePort} made.");
        PortProbe port = await ConnectionProbe.SpeaksAsync(account, cancellationToken).ConfigureAwait(false);
        if (ConnectAdvice.ForPort(account, port) is { } mismatch && (ex is null || port.Speaks != PortSpeaks.Silence))
        {
            Fail(TestStepKind.TlsHandshake, since, mismatch.Cause, mismatch.Remedy, ex?.ErrorCode ?? SmartPopErrorCodes.ConnectFailed, ex?.ServerReply);
            return;
        }

        if (ex is null && port.Speaks == PortSpeaks.PlainPop3)
        {
            Fail(TestStepKind.TlsHandshake, since, $"{account.Host}:{account.EffectivePort} greeted ('{port.FirstLine}') but connecting ({account.Security}, CAPA) did not finish within {account.ConnectTimeout.TotalSeconds:0} s (ConnectTimeout).", "The server is very slow or stalls during STLS/CAPA: check the server's load, or raise ConnectTimeout.", SmartPopErrorCodes.ConnectFailed);
            return;
        }

        if (ex is null)
        {
            (string cause, string remedy) = ConnectAdvice.ForPort(account, new PortProbe(PortSpeaks.Silence, null))!.Value; // Silence is always named
            Fail(TestStepKind.TlsHandshake, since, cause, remedy, SmartPopErrorCodes.ConnectFailed);
            return;
        }

        if (ex.ErrorCode == SmartPopErrorCodes.TlsFailed && await ConnectionProbe.CertificateAsync(account, cancellationToken).ConfigureAwait(false) is { } certificate)
        {
            (string cause, string remedy) = ConnectAdvice.ForCertificate(account, certificate, client.Now());
            Fail(TestStepKind.TlsHandshake, since, cause, remedy, ex.ErrorCode, ex.ServerReply, ex.Message);
            return;
        }

        Fail(TestStepKind.TlsHandshake, since, ex.Message, ex.Remedy, ex.ErrorCode, ex.ServerReply);
    }

    private void RecordConnected(Pop3ConnectInfo info)
    {
        _steps.Add(new TestStep { Kind = TestStepKind.Connect, Status = TestStepStatus.Passed, Duration = info.TcpConnectTime, Detail = $"Connected to {info.RemoteAddress}." });
        _steps.Add(info.IsEncrypted
            ? new TestStep
            {
                Kind = TestStepKind.TlsHandshake,
                Status = TestStepStatus.Passed,
                Duration = info.HandshakeTime,
                Detail = $"{info.TlsProtocol} ({account.Security}); certificate '{info.CertificateSubject}' issued by '{info.CertificateIssuer}', valid until {info.CertificateNotAfter:u}."
                    + (account.TrustedRootCertificates is { Count: > 0 } ? " Trusted through the account's TrustedRootCertificates."
                        : account.TrustedRootCertificateFile is { Length: > 0 } roots ? $" Trusted through the root certificate(s) in {roots} (TrustedRootCertificateFile, the CLI's --ca-cert), not the system's roots."
                        : " Trusted by the system's roots."),
            }
            : new TestStep
            {
                Kind = TestStepKind.TlsHandshake,
                Status = TestStepStatus.Warning,
                Duration = info.HandshakeTime,
                Detail = "The connection is NOT encrypted (Security = None).",
                Cause = "Credentials and mail cross the network in clear text.",
                Remedy = "Use SslOnConnect (995) or StartTls (110).",
            });
    }

    private bool CheckCapabilities()
    {
        Pop3ServerInfo server = Connection.Server;
        string offered = $"SASL: {(server.SaslMechanisms.Count == 0 ? "(none listed)" : string.Join(' ', server.SaslMechanisms.Order(StringComparer.Ordinal)))}; USER: {Yes(server.SupportsUser)}; UIDL: {Yes(server.SupportsUidl)}; PIPELINING: {Yes(server.SupportsPipelining)}; TOP: {Yes(server.SupportsTop)}"
            + (server.LoginDelaySeconds > 0 ? $"; LOGIN-DELAY {server.LoginDelaySeconds}s" : string.Empty)
            + $"; XOAUTH2 offered: {Yes(server.SaslMechanisms.Contains("XOAUTH2"))}; OAUTHBEARER offered: {Yes(server.SaslMechanisms.Contains("OAUTHBEARER"))}.";
        if (account.UsesOAuth)
        {
            try
            {
                _mechanism = SmartPopClient.ChooseMechanism(account, server);
            }
            catch (Pop3CommandException ex)
            {
                Fail(TestStepKind.Capabilities, 0, ex.Message + " " + offered, ex.Remedy, ex.ErrorCode);
                return false;
            }
        }

        bool warnUidl = !server.SupportsUidl;
        _steps.Add(new TestStep
        {
            Kind = TestStepKind.Capabilities,
            Status = warnUidl ? TestStepStatus.Warning : TestStepStatus.Passed,
            Detail = offered + (account.UsesOAuth ? $" Will use {MechanismName}." : string.Empty),
            Cause = warnUidl ? "The server does not list UIDL; SmartPop falls back to header hashes (or needs LeaveOnServer = false)." : null,
        });
        return true;
    }

    private async Task<bool> AcquireTokenAsync(CancellationToken cancellationToken)
    {
        long t = client.Timestamp();
        if (!account.UsesOAuth)
        {
            try
            {
                _password = SmartPopClient.GetPassword(account);
            }
            catch (FTGateException ex)
            {
                Fail(TestStepKind.TokenAcquisition, t, ex.Message, ex.Remedy, ex.ErrorCode);
                return false;
            }

            Add(TestStepKind.TokenAcquisition, TestStepStatus.Passed, t, "Password account: the password is available (" + (string.IsNullOrEmpty(account.Password) ? $"environment variable {account.PasswordEnvironmentVariable}" : "configuration") + ").");
            return true;
        }

        try
        {
            IAuthProvider provider = client.Provider(account);
            _tokenUser = MailboxTokenRule.TokenUser(provider, account);
            _otherMailbox = MailboxTokenRule.IsOtherMailbox(provider, account);
            _appOnly = provider is IAppOnlyAuthProvider { IsAppOnly: true };
            _token = await client.GetTokenAsync(account, forceRefresh: false, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            FailTokenAcquisition(ex, t);
            return false;
        }

        string owner = _appOnly ? $"the application (app-only), mailbox {account.UserName}" : $"{_tokenUser}, mailbox {account.UserName}";
        Add(TestStepKind.TokenAcquisition, TestStepStatus.Passed, t, $"Token from provider '{account.AuthProvider}': token for {owner}; expires {_token.ExpiresOn:u}{(_token.FromCache ? " (from cache)" : " (freshly issued)")}; scopes: {(_token.Scopes.Count == 0 ? "(not reported)" : string.Join(' ', _token.Scopes))}.");
        return true;
    }

    private void FailTokenAcquisition(Exception ex, long since)
    {
        switch (ex)
        {
            case ReauthorizationRequiredException reauth:
                string who = _appOnly ? "the application" : _tokenUser;
                string shared = _otherMailbox ? $" (the token for mailbox {account.UserName} is {_tokenUser}'s: authorize the provider as {_tokenUser}, not as the mailbox)" : string.Empty;
                Fail(TestStepKind.TokenAcquisition, since, reauth.Message + shared, reauth.Remedy ?? $"Run Authorize Now for provider '{account.AuthProvider}' signed in as {who}.", reauth.ErrorCode);
                break;
            case FTGateException known:
                Fail(TestStepKind.TokenAcquisition, since, known.Message, known.Remedy, known.ErrorCode);
                break;
            default:
                Fail(
                    TestStepKind.TokenAcquisition,
                    since,
                    $"Provider '{account.AuthProvider}' failed unexpectedly while getting a token ({ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}).",
                    "Run with --verbose (or the host's logs) for the details, and report it if the provider's configuration is right.",
                    FTGateErrorCodes.ProviderError);
                break;
        }
    }

    private bool InspectToken()
    {
        if (_token is null)
        {
            _steps.Add(new TestStep { Kind = TestStepKind.TokenInspection, Status = TestStepStatus.Skipped, Detail = "Password account: no token." });
            return true;
        }

        _findings = JwtInspector.Inspect(_token.Value, account, _tokenUser);
        bool problems = _findings.Problems.Count > 0;
        _steps.Add(new TestStep
        {
            Kind = TestStepKind.TokenInspection,
            Status = problems ? TestStepStatus.Warning : _findings.IsJwt ? TestStepStatus.Passed : TestStepStatus.Skipped,
            Detail = _findings.Summary + (_otherMailbox ? $"; token for {_tokenUser}, mailbox {account.UserName} (shared mailbox: the server must let {_tokenUser} read it)" : string.Empty),
            Cause = problems ? string.Join("; ", _findings.Problems) : null,
            Remedy = problems ? "Fix the token problems listed: Exchange Online answers only \"Authentication failure\" for each of them." : null,
        });
        return true;
    }

    /// <summary>Logs in; a rejected cached token gets one forced refresh and one new connection, as in a fetch.</summary>
    private async Task<bool> LoginAsync(CancellationToken cancellationToken)
    {
        try
        {
            SmartPopClient.EnsureSafeToAuthenticate(account, Connection);
        }
        catch (Pop3Exception ex)
        {
            Fail(TestStepKind.Login, 0, ex.Message, ex.Remedy, ex.ErrorCode);
            return false;
        }

        long t = client.Timestamp();
        Pop3Exception? first;
        try
        {
            await AuthenticateAsync(cancellationToken).ConfigureAwait(false);
            Add(TestStepKind.Login, TestStepStatus.Passed, t, LoggedIn(string.Empty));
            return true;
        }
        catch (Pop3Exception ex) when (ex.ErrorCode == SmartPopErrorCodes.PopDisabled)
        {
            return PopDisabledAfterLogin(ex, t);
        }
        catch (Pop3Exception ex) when (_token is { FromCache: true } && ex.ErrorCode == SmartPopErrorCodes.AuthenticationRejected)
        {
            first = ex;
        }
        catch (Pop3Exception ex)
        {
            FailLogin(ex, t, string.Empty);
            return false;
        }

        return await RetryWithRefreshedTokenAsync(first, t, cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> RetryWithRefreshedTokenAsync(Pop3Exception first, long since, CancellationToken cancellationToken)
    {
        await Connection.DisposeAsync().ConfigureAwait(false);
        _connection = client.CreateConnection(account);
        try
        {
            _token = await client.GetTokenAsync(account, forceRefresh: true, cancellationToken).ConfigureAwait(false);
        }
        catch (FTGateException again)
        {
            Fail(TestStepKind.Login, since, $"The server rejected the cached token ({first.ServerReply}); the forced refresh then failed: {again.Message}", again.Remedy, again.ErrorCode, first.ServerReply);
            return false;
        }

        try
        {
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bound.CancelAfter(account.ConnectTimeout);
            await _connection.ConnectAsync(bound.Token).ConfigureAwait(false);
            await AuthenticateAsync(cancellationToken).ConfigureAwait(false);
            Add(TestStepKind.Login, TestStepStatus.Passed, since, LoggedIn(" The cached token was rejected; a forced refresh and a new connection succeeded."));
            return true;
        }
        catch (Pop3Exception ex) when (ex.ErrorCode == SmartPopErrorCodes.PopDisabled)
        {
            return PopDisabledAfterLogin(ex, since);
        }
        catch (Pop3Exception ex)
        {
            FailLogin(ex, since, " The cached token was rejected, and so was a freshly refreshed one on a new connection.");
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Fail(TestStepKind.Login, since, $"The server rejected the cached token ({first.ServerReply}); reconnecting with a refreshed token timed out after {account.ConnectTimeout.TotalSeconds:0} s.", "Run the Test again; if it persists, check the server.", SmartPopErrorCodes.ConnectionLost, first.ServerReply);
            return false;
        }
    }

    private Task AuthenticateAsync(CancellationToken cancellationToken) =>
        _token is not null
            ? Connection.AuthenticateOAuthAsync(_mechanism, account.UserName, _token.Value, cancellationToken)
            : Connection.AuthenticatePasswordAsync(account.UserName, _password!, cancellationToken); // set by AcquireTokenAsync for password accounts

    private string LoggedIn(string note) =>
        _token is null
            ? $"Logged in as {account.UserName} with a password.{note}"
            : $"Logged in to mailbox {account.UserName} with {MechanismName} ({(_appOnly ? "app-only token" : $"token for {_tokenUser}")}).{note}";

    /// <summary>Gmail refuses POP on the STAT that follows a successful login.</summary>
    private bool PopDisabledAfterLogin(Pop3Exception ex, long since)
    {
        Add(TestStepKind.Login, TestStepStatus.Passed, since, $"Credentials accepted for {account.UserName}.");
        Fail(TestStepKind.Stat, 0, ex.Message, ex.Remedy, ex.ErrorCode, ex.ServerReply);
        return false;
    }

    private void FailLogin(Pop3Exception ex, long since, string note)
    {
        var context = new ReplyContext(_tokenUser, _otherMailbox, _appOnly, _findings);
        ServerReplyAdvice advice = ServerReplyCatalog.Explain(ex.ServerReply, account, context);
        Fail(TestStepKind.Login, since, (advice.Cause ?? ex.Message) + note, advice.Remedy ?? ex.Remedy, advice.ErrorCode ?? ex.ErrorCode, ex.ServerReply, ex.Message);
    }

    private async Task<bool> StatAsync(CancellationToken cancellationToken)
    {
        long t = client.Timestamp();
        try
        {
            (int count, long size) = await Connection.StatAsync(cancellationToken).ConfigureAwait(false);
            await RecordStatAsync($"{count} message(s), {size} bytes.", t, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Pop3Exception ex)
        {
            ServerReplyAdvice advice = ServerReplyCatalog.Explain(ex.ServerReply, account, new ReplyContext(_tokenUser, _otherMailbox, _appOnly, _findings));
            Fail(TestStepKind.Stat, t, advice.Cause ?? ex.Message, advice.Remedy ?? ex.Remedy, advice.ErrorCode ?? ex.ErrorCode, ex.ServerReply);
            return false;
        }
    }

    /// <summary>
    /// The STAT step; a warning when earlier fetches left stuck messages (the UIDL store's failure records, as in
    /// <c>ftgate status</c>), naming each with its reason and fix. Without stuck messages the step is a plain pass.
    /// </summary>
    private async Task RecordStatAsync(string stat, long since, CancellationToken cancellationToken)
    {
        IReadOnlyList<MessageFailure> stuck;
        try
        {
            stuck = [.. (await FailureRecord.LoadAsync(client.Failures, account.Name, cancellationToken).ConfigureAwait(false)).Where(FailureRecord.IsStuck)];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Add(TestStepKind.Stat, TestStepStatus.Passed, since, $"{stat} (The failure records of earlier fetches could not be read: {ex.Message})");
            return;
        }

        if (stuck.Count == 0)
        {
            Add(TestStepKind.Stat, TestStepStatus.Passed, since, stat);
            return;
        }

        _steps.Add(new TestStep
        {
            Kind = TestStepKind.Stat,
            Status = TestStepStatus.Warning,
            Duration = client.Elapsed(since),
            Detail = stat + " " + StuckMessageAdvice.Describe(stuck),
            Cause = StuckMessageAdvice.Cause,
            Remedy = StuckMessageAdvice.Remedy(stuck),
            ErrorCode = SmartPopErrorCodes.MessageStuck,
        });
    }

    private async Task CloseAsync()
    {
        if (_connection is null)
        {
            return;
        }

        try
        {
            using var quit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _connection.QuitAsync(quit.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is Pop3Exception or OperationCanceledException or InvalidOperationException)
        {
            // The test's verdict is already recorded; a failed QUIT changes nothing in the mailbox.
        }

        await _connection.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The connection the connect step opened (the steps after it run only when it succeeded).</summary>
    private IPop3Connection Connection => _connection ?? throw new InvalidOperationException("The connect step must run before the steps that use the connection.");

    private string MechanismName => _mechanism == SaslMechanismKind.OAuthBearer ? "OAUTHBEARER" : "XOAUTH2";

    private static string Yes(bool value) => value ? "yes" : "no";

    private void Add(TestStepKind kind, TestStepStatus status, long since, string detail) =>
        _steps.Add(new TestStep { Kind = kind, Status = status, Duration = since == 0 ? TimeSpan.Zero : client.Elapsed(since), Detail = detail });

    private void Fail(TestStepKind kind, long since, string cause, string? remedy, string? errorCode, string? serverReply = null, string? detail = null) =>
        _steps.Add(new TestStep
        {
            Kind = kind,
            Status = TestStepStatus.Failed,
            Duration = since == 0 ? TimeSpan.Zero : client.Elapsed(since),
            Cause = cause,
            Remedy = remedy,
            ErrorCode = errorCode,
            ServerReply = serverReply,
            Detail = detail,
        });
}
