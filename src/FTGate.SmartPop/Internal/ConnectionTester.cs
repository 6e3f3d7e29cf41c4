using System.Net;
using System.Net.Sockets;
using FTGate.OAuth;

namespace FTGate.SmartPop.Internal;

/// <summary>Runs <see cref="SmartPopClient.TestAsync"/>: one step after another, each timed, the failing one explained.</summary>
internal sealed class ConnectionTester(SmartPopClient client, SmartPopAccount account)
{
    private readonly List<TestStep> _steps = [];

    public async Task<TestReport> RunAsync(CancellationToken cancellationToken)
    {
        long start = client.Timestamp();
        IPop3Connection? connection = null;
        try
        {
            await RunStepsAsync(c => connection = c, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (connection is not null)
            {
                try
                {
                    using var quit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    await connection.QuitAsync(quit.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is Pop3Exception or OperationCanceledException)
                {
                    // The test's verdict is already recorded; a failed QUIT changes nothing in the mailbox.
                }

                await connection.DisposeAsync().ConfigureAwait(false);
            }
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

    private async Task RunStepsAsync(Action<IPop3Connection> track, CancellationToken cancellationToken)
    {
        try
        {
            SmartPopAccountValidator.ThrowIfInvalid(account);
        }
        catch (FTGateConfigurationException ex)
        {
            Fail(TestStepKind.ResolveHost, 0, ex.Message, ex.Remedy, ex.ErrorCode);
            return;
        }

        // 1. Resolve host
        long t = client.Timestamp();
        try
        {
            IPAddress[] addresses = await client.ResolveHost(account.Host, cancellationToken).ConfigureAwait(false);
            Add(TestStepKind.ResolveHost, TestStepStatus.Passed, t, string.Join(", ", addresses.Select(a => a.ToString())));
        }
        catch (SocketException ex)
        {
            Fail(TestStepKind.ResolveHost, t, $"The host name '{account.Host}' does not resolve ({ex.SocketErrorCode}).", "Check the spelling of Host and the machine's DNS settings.", SmartPopErrorCodes.HostNotFound);
            return;
        }

        // 2-3. Connect, TLS handshake (+ greeting)
        IPop3Connection connection = client.CreateConnection(account);
        track(connection);
        t = client.Timestamp();
        Pop3ConnectInfo info;
        try
        {
            info = await connection.ConnectAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Pop3Exception ex)
        {
            TestStepKind kind = ex.ErrorCode is SmartPopErrorCodes.ConnectFailed or SmartPopErrorCodes.HostNotFound ? TestStepKind.Connect : TestStepKind.TlsHandshake;
            if (kind == TestStepKind.TlsHandshake)
            {
                Add(TestStepKind.Connect, TestStepStatus.Passed, t, $"TCP connection to {account.Host}:{account.EffectivePort} made.");
            }

            Fail(kind, t, ex.Message, ex.Remedy, ex.ErrorCode, ex.ServerReply);
            return;
        }

        _steps.Add(new TestStep { Kind = TestStepKind.Connect, Status = TestStepStatus.Passed, Duration = info.TcpConnectTime, Detail = $"Connected to {info.RemoteAddress}." });
        if (info.IsEncrypted)
        {
            _steps.Add(new TestStep
            {
                Kind = TestStepKind.TlsHandshake,
                Status = TestStepStatus.Passed,
                Duration = info.HandshakeTime,
                Detail = $"{info.TlsProtocol} ({account.Security}); certificate '{info.CertificateSubject}' issued by '{info.CertificateIssuer}', valid until {info.CertificateNotAfter:u}."
                    + (account.TrustedRootCertificates is { Count: > 0 } ? " Trusted through the account's TrustedRootCertificates."
                        : account.TrustedRootCertificateFile is { Length: > 0 } roots ? $" Trusted through the root certificate(s) in {roots} (TrustedRootCertificateFile, the CLI's --ca-cert), not the system's roots."
                        : " Trusted by the system's roots."),
            });
        }
        else
        {
            _steps.Add(new TestStep
            {
                Kind = TestStepKind.TlsHandshake,
                Status = TestStepStatus.Warning,
                Duration = info.HandshakeTime,
                Detail = "The connection is NOT encrypted (Security = None).",
                Cause = "Credentials and mail cross the network in clear text.",
                Remedy = "Use SslOnConnect (995) or StartTls (110).",
            });
        }

        // 4. Capabilities
        Pop3ServerInfo server = connection.Server;
        string offered = $"SASL: {(server.SaslMechanisms.Count == 0 ? "(none listed)" : string.Join(' ', server.SaslMechanisms.Order(StringComparer.Ordinal)))}; USER: {Yes(server.SupportsUser)}; UIDL: {Yes(server.SupportsUidl)}; PIPELINING: {Yes(server.SupportsPipelining)}; TOP: {Yes(server.SupportsTop)}"
            + (server.LoginDelaySeconds > 0 ? $"; LOGIN-DELAY {server.LoginDelaySeconds}s" : string.Empty)
            + $"; XOAUTH2 offered: {Yes(server.SaslMechanisms.Contains("XOAUTH2"))}; OAUTHBEARER offered: {Yes(server.SaslMechanisms.Contains("OAUTHBEARER"))}.";
        SaslMechanismKind mechanism = default;
        if (account.UsesOAuth)
        {
            try
            {
                mechanism = SmartPopClient.ChooseMechanism(account, server);
            }
            catch (Pop3CommandException ex)
            {
                Fail(TestStepKind.Capabilities, 0, ex.Message + " " + offered, ex.Remedy, ex.ErrorCode);
                return;
            }
        }

        bool warnUidl = !server.SupportsUidl;
        _steps.Add(new TestStep
        {
            Kind = TestStepKind.Capabilities,
            Status = warnUidl ? TestStepStatus.Warning : TestStepStatus.Passed,
            Detail = offered + (account.UsesOAuth ? $" Will use {(mechanism == SaslMechanismKind.OAuthBearer ? "OAUTHBEARER" : "XOAUTH2")}." : string.Empty),
            Cause = warnUidl ? "The server does not list UIDL; SmartPop falls back to header hashes (or needs LeaveOnServer = false)." : null,
        });

        // 5. Token acquisition
        t = client.Timestamp();
        AccessToken? token = null;
        string? password = null;
        try
        {
            if (account.UsesOAuth)
            {
                token = await client.GetTokenAsync(account, forceRefresh: false, cancellationToken).ConfigureAwait(false);
                Add(TestStepKind.TokenAcquisition, TestStepStatus.Passed, t, $"Token from provider '{account.AuthProvider}' for {token.UserName}, expires {token.ExpiresOn:u}{(token.FromCache ? " (from cache)" : " (freshly issued)")}; scopes: {(token.Scopes.Count == 0 ? "(not reported)" : string.Join(' ', token.Scopes))}.");
            }
            else
            {
                password = SmartPopClient.GetPassword(account);
                Add(TestStepKind.TokenAcquisition, TestStepStatus.Passed, t, "Password account: the password is available (" + (string.IsNullOrEmpty(account.Password) ? $"environment variable {account.PasswordEnvironmentVariable}" : "configuration") + ").");
            }
        }
        catch (FTGateException ex)
        {
            Fail(TestStepKind.TokenAcquisition, t, ex.Message, ex.Remedy, ex.ErrorCode);
            return;
        }

        // 6. Token inspection (JWT, not validated)
        JwtFindings? findings = null;
        if (token is not null)
        {
            findings = JwtInspector.Inspect(token.Value, account);
            _steps.Add(new TestStep
            {
                Kind = TestStepKind.TokenInspection,
                Status = findings.Problems.Count > 0 ? TestStepStatus.Warning : findings.IsJwt ? TestStepStatus.Passed : TestStepStatus.Skipped,
                Detail = findings.Summary,
                Cause = findings.Problems.Count > 0 ? string.Join("; ", findings.Problems) : null,
                Remedy = findings.Problems.Count > 0 ? "Fix the token problems listed: Exchange Online answers only \"Authentication failure\" for each of them." : null,
            });
        }
        else
        {
            _steps.Add(new TestStep { Kind = TestStepKind.TokenInspection, Status = TestStepStatus.Skipped, Detail = "Password account: no token." });
        }

        // 7. Login
        try
        {
            SmartPopClient.EnsureSafeToAuthenticate(account, connection);
        }
        catch (Pop3Exception ex)
        {
            Fail(TestStepKind.Login, 0, ex.Message, ex.Remedy, ex.ErrorCode);
            return;
        }

        t = client.Timestamp();
        string retried = string.Empty;
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                if (token is not null)
                {
                    await connection.AuthenticateOAuthAsync(mechanism, account.UserName, token.Value, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await connection.AuthenticatePasswordAsync(account.UserName, password!, cancellationToken).ConfigureAwait(false); // set above for password accounts
                }

                Add(TestStepKind.Login, TestStepStatus.Passed, t, $"Logged in as {account.UserName} with {(token is null ? "a password" : mechanism == SaslMechanismKind.OAuthBearer ? "OAUTHBEARER" : "XOAUTH2")}.{retried}");
                break;
            }
            catch (Pop3Exception ex) when (ex.ErrorCode == SmartPopErrorCodes.PopDisabled)
            {
                // Gmail refuses POP on the STAT that follows a successful login.
                Add(TestStepKind.Login, TestStepStatus.Passed, t, $"Credentials accepted for {account.UserName}.");
                Fail(TestStepKind.Stat, 0, ex.Message, ex.Remedy, ex.ErrorCode, ex.ServerReply);
                return;
            }
            catch (Pop3Exception ex) when (attempt == 0 && token is { FromCache: true } && ex.ErrorCode == SmartPopErrorCodes.AuthenticationRejected)
            {
                retried = " (the cached token was rejected; a forced refresh and a new connection succeeded)";
                await connection.DisposeAsync().ConfigureAwait(false);
                connection = client.CreateConnection(account);
                track(connection);
                try
                {
                    token = await client.GetTokenAsync(account, forceRefresh: true, cancellationToken).ConfigureAwait(false);
                    await connection.ConnectAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (FTGateException again)
                {
                    Fail(TestStepKind.Login, t, $"The server rejected the cached token ({ex.ServerReply}); retrying failed: {again.Message}", again.Remedy, again.ErrorCode, ex.ServerReply);
                    return;
                }
            }
            catch (Pop3Exception ex)
            {
                ServerReplyAdvice advice = ServerReplyCatalog.Explain(ex.ServerReply, account);
                var causes = new List<string>();
                if (findings is { Problems.Count: > 0 })
                {
                    causes.Add("Token problems found: " + string.Join("; ", findings.Problems) + ".");
                }

                if (findings is { AppOnly: true })
                {
                    causes.Add("App-only token: Exchange needs a service principal for the app and FullAccess on the mailbox (New-ServicePrincipal, Add-MailboxPermission).");
                }

                if (advice.Cause is not null)
                {
                    causes.Add(advice.Cause);
                }

                Fail(TestStepKind.Login, t, (causes.Count > 0 ? string.Join(" ", causes) : ex.Message) + retried, advice.Remedy ?? ex.Remedy, ex.ErrorCode, ex.ServerReply, ex.Message);
                return;
            }
        }

        // 8. STAT
        t = client.Timestamp();
        try
        {
            (int count, long size) = await connection.StatAsync(cancellationToken).ConfigureAwait(false);
            Add(TestStepKind.Stat, TestStepStatus.Passed, t, $"{count} message(s), {size} bytes.");
        }
        catch (Pop3Exception ex)
        {
            ServerReplyAdvice advice = ServerReplyCatalog.Explain(ex.ServerReply, account);
            Fail(TestStepKind.Stat, t, advice.Cause ?? ex.Message, advice.Remedy ?? ex.Remedy, ex.ErrorCode, ex.ServerReply);
        }
    }

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
