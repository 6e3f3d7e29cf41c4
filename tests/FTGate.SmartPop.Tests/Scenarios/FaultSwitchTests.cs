using FTGate.SmartPop.Tests.Integration;
using FTGate.Testing;
using FTGate.Tests.Infrastructure;

namespace FTGate.SmartPop.Tests.Scenarios;

/// <summary>
/// One test (or two) per fault switch of <see cref="TestPop3Server"/>, each showing how SmartPop reacts. These faults exist only
/// on the in-process server (a real Dovecot cannot be told to misbehave like Exchange or Gmail).
/// </summary>
public sealed class FaultSwitchTests : IAsyncDisposable
{
    private const string ExchangeReply = "-ERR Authentication failure: unknown user name or bad password.";
    private const string GmailReply = "-ERR [AUTH] Invalid credentials.";
    private const string PopDisabledReply = "-ERR [SYS/PERM] Your account is not enabled for POP access.";
    private readonly List<IAsyncDisposable> _targets = [];
    private readonly List<IDisposable> _harnesses = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // ---- Exchange: "-ERR Authentication failure: unknown user name or bad password." ----
    [Fact]
    public async Task Fetch_ExchangeRejectsTheCachedTokenOnce_ForcedRefreshOnANewConnectionSucceeds()
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync(Pop3ServerStyle.Exchange);
        target.AddMessage(target.OAuthUser, "Subject: x\n\nx\n"u8.ToArray());
        target.Server.Faults.RejectAuthentications(1);

        FetchResult result = await h.Client.FetchAsync(h.Account(), Sink(), cancellationToken: Ct);

        Assert.True(result.Completed, result.Error?.Message);
        Assert.Equal(1, result.Delivered);
        Assert.Equal(1, h.Refreshes);
        Assert.Equal((1, 1, 2), (target.Server.Counters.FailedLogins, target.Server.Counters.SuccessfulLogins, target.Server.Counters.Sessions));
        Assert.Contains(ExchangeReply, h.AllLog, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_ExchangeKeepsRejecting_AuthenticationRejectedAfterOneForcedRefresh_WithExchangesWordsAndRemedies()
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync(Pop3ServerStyle.Exchange);
        target.Server.Faults.RejectAuthentications(int.MaxValue);

        Pop3CommandException ex = await Assert.ThrowsAsync<Pop3CommandException>(() => h.Client.FetchAsync(h.Account(), Sink(), cancellationToken: Ct));

        Assert.Equal(SmartPopErrorCodes.AuthenticationRejected, ex.ErrorCode);
        Assert.False(ex.IsFatal);
        Assert.Equal(ExchangeReply, ex.ServerReply);
        Assert.Contains("unknown user name or bad password", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Set-CASMailbox -Identity alice@example.test -PopEnabled $true", ex.Remedy, StringComparison.Ordinal);
        Assert.Equal(1, h.Refreshes);
        Assert.Equal((2, 0), (target.Server.Counters.FailedLogins, target.Server.Counters.SuccessfulLogins));
    }

    [Fact]
    public async Task TestAsync_ExchangeRejects_LoginStepNamesTheExchangeCausesAndRemedies()
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync(Pop3ServerStyle.Exchange);
        target.Server.Faults.RejectAuthentications(int.MaxValue);

        TestReport report = await h.Client.TestAsync(h.Account(), Ct);

        TestStep login = Assert.IsType<TestStep>(report.FailedStep);
        Assert.Equal(TestStepKind.Login, login.Kind);
        Assert.Equal(SmartPopErrorCodes.AuthenticationRejected, login.ErrorCode);
        Assert.Equal(ExchangeReply, login.ServerReply);
        Assert.Contains("POP is disabled for the mailbox", login.Cause, StringComparison.Ordinal);
        Assert.Contains("Set-CASMailbox", login.Remedy, StringComparison.Ordinal);
        Assert.Contains("-PopEnabled $true", login.Remedy, StringComparison.Ordinal);
        Assert.DoesNotContain("New-ServicePrincipal", login.Remedy, StringComparison.Ordinal); // a delegated provider: app-only steps are not listed (issue 16)
        Assert.Contains("issued to another user", login.Cause, StringComparison.Ordinal); // an opaque token proves nothing about its user
        Assert.Equal(TestStepStatus.Skipped, report.Steps.Single(s => s.Kind == TestStepKind.Stat).Status);
        Assert.Equal(1, h.Refreshes);
    }

    // ---- Gmail: "+ <base64 JSON>" error challenge, then "-ERR [AUTH] Invalid credentials." ----
    [Fact]
    public async Task Fetch_GmailErrorChallengeThenInvalidCredentials_SessionStaysInSync_RetriedOnce_JsonAndWordsReported()
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync(Pop3ServerStyle.Gmail);
        target.Server.Faults.RejectAuthentications(int.MaxValue);

        Pop3CommandException ex = await Assert.ThrowsAsync<Pop3CommandException>(() => h.Client.FetchAsync(h.Account(), Sink(), cancellationToken: Ct));

        Assert.Equal(SmartPopErrorCodes.AuthenticationRejected, ex.ErrorCode);
        Assert.False(ex.IsFatal); // SmartPop answered the challenge, so the server's -ERR arrived on a session in sync
        Assert.StartsWith(GmailReply, ex.ServerReply, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"400\"", ex.ServerReply, StringComparison.Ordinal); // the decoded JSON
        Assert.Contains("https://mail.google.com/", ex.ServerReply, StringComparison.Ordinal);
        Assert.NotNull(ex.Remedy);
        Assert.Equal(1, h.Refreshes);
        Assert.Equal(2, target.Server.Counters.FailedLogins);
        Assert.Empty(target.Server.SessionErrors);
    }

    [Fact]
    public async Task Fetch_GmailRejectsTheCachedTokenOnce_RetryWithRefreshedTokenSucceeds()
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync(Pop3ServerStyle.Gmail);
        target.AddMessage(target.OAuthUser, "Subject: x\n\nx\n"u8.ToArray());
        target.Server.Faults.RejectAuthentications(1);

        FetchResult result = await h.Client.FetchAsync(h.Account(), Sink(), cancellationToken: Ct);

        Assert.True(result.Completed, result.Error?.Message);
        Assert.Equal(1, result.Delivered);
        Assert.Equal(1, h.Refreshes);
        Assert.Contains(GmailReply, h.AllLog, StringComparison.Ordinal);
    }

    // ---- Gmail: "[SYS/PERM] Your account is not enabled for POP access" ----
    [Fact]
    public async Task Fetch_AccountNotEnabledForPop_AccessDisabledWithTheGmailSettingsRemedy_NoRefresh()
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync(Pop3ServerStyle.Gmail);
        target.AddMessage(target.OAuthUser, "Subject: x\n\nx\n"u8.ToArray());
        target.Server.Faults.AccountNotEnabledForPop = true;

        Pop3CommandException ex = await Assert.ThrowsAsync<Pop3CommandException>(() => h.Client.FetchAsync(h.Account(), Sink(), cancellationToken: Ct));

        Assert.Equal(SmartPopErrorCodes.PopDisabled, ex.ErrorCode);
        Assert.StartsWith(PopDisabledReply, ex.ServerReply, StringComparison.Ordinal);
        Assert.Contains("Enable POP", ex.Remedy, StringComparison.Ordinal);
        Assert.Contains("Gmail", ex.Remedy, StringComparison.Ordinal);
        Assert.Equal(0, h.Refreshes); // the credentials were fine: no refresh
        Assert.Equal(0, target.Server.Counters.RetrCount);

        TestReport report = await h.Client.TestAsync(h.Account(), Ct);
        Assert.Equal(TestStepStatus.Passed, report.Steps.Single(s => s.Kind == TestStepKind.Login).Status);
        TestStep stat = Assert.IsType<TestStep>(report.FailedStep);
        Assert.Equal((TestStepKind.Stat, SmartPopErrorCodes.PopDisabled), (stat.Kind, stat.ErrorCode));
        Assert.Contains("Forwarding and POP/IMAP", stat.Remedy, StringComparison.Ordinal);
    }

    // ---- A connection dropped mid-RETR ----
    [Theory]
    [InlineData(false)] // one RETR per message
    [InlineData(true)] // one pipelined batch: the messages before the broken one are still committed
    public async Task Fetch_ConnectionDroppedMidRetr_TheOthersDeliveredOnANewConnection_TheBrokenOneNextFetch_EachOnce(bool pipelining)
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync(Pop3ServerStyle.Dovecot, pipelining ? null : new SmartPopOptions { PipelineMessageMaxBytes = 0 });
        var uidls = Enumerable.Range(1, 3).Select(i => target.AddMessage(target.OAuthUser, System.Text.Encoding.ASCII.GetBytes($"Subject: m{i}\n\n{new string('x', 2000)}\n"))).ToList();
        target.Server.Faults.DropConnectionDuringRetr(messageNumber: 2, afterBytes: 500);
        var sink = new CountingSink(new MaildirMessageSink(Infra.NewTempDirectory("sc-md")));
        SmartPopAccount account = h.Account(a => a.LeaveOnServer = false);

        FetchResult cut = await h.Client.FetchAsync(account, sink, cancellationToken: Ct);

        MessageFailure broken = Assert.Single(cut.Failures);
        Assert.Equal((SmartPopErrorCodes.TransferBroken, 2, uidls[1]), (broken.ErrorCode, broken.MessageNumber, broken.Uidl));
        Assert.Equal((2, 2), (cut.Delivered, cut.Deleted));
        Assert.Equal([uidls[1]], await target.ListUidlsAsync(target.OAuthUser, Ct));

        FetchResult next = await h.Client.FetchAsync(account, sink, cancellationToken: Ct);

        Assert.True(next.Completed, next.Error?.Message);
        Assert.Equal((1, 1), (next.Delivered, next.Deleted));
        Assert.Empty(next.Failures);
        Assert.Equal(uidls.Order(StringComparer.Ordinal), sink.Count.Keys.Order(StringComparer.Ordinal));
        Assert.All(sink.Count.Values, n => Assert.Equal(1, n));
        Assert.Empty(await target.ListUidlsAsync(target.OAuthUser, Ct));
    }

    // ---- A slow server ----
    [Fact]
    public async Task Fetch_SlowServerWithinTheCommandTimeout_Completes()
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync(Pop3ServerStyle.Dovecot);
        for (int i = 0; i < 3; i++)
        {
            target.AddMessage(target.OAuthUser, "Subject: slow\n\nline 1\nline 2\nline 3\n"u8.ToArray());
        }

        target.Server.Faults.ResponseDelay = TimeSpan.FromMilliseconds(30);
        target.Server.Faults.LineDelay = TimeSpan.FromMilliseconds(5);

        FetchResult result = await h.Client.FetchAsync(h.Account(), Sink(), cancellationToken: Ct);

        Assert.True(result.Completed, result.Error?.Message);
        Assert.Equal(3, result.Delivered);
        Assert.True(result.Duration >= TimeSpan.FromMilliseconds(150), $"the server was not slow: {result.Duration}");
    }

    [Fact]
    public async Task Fetch_ServerSlowerThanTheCommandTimeout_StopsWithTimeout_AndLosesNothing()
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync(Pop3ServerStyle.Dovecot);
        target.AddMessage(target.OAuthUser, "Subject: x\n\nx\n"u8.ToArray());
        SmartPopAccount account = h.Account(a => a.CommandTimeout = TimeSpan.FromSeconds(1)); // SmartPop's smallest timeout

        // Logged in: from LIST on, every reply comes after 2 s.
        var progress = new InlineProgress(p =>
        {
            if (p.Stage == FetchStage.Listing)
            {
                target.Server.Faults.ResponseDelay = TimeSpan.FromSeconds(2);
            }
        });
        FetchResult result = await h.Client.FetchAsync(account, Sink(), progress, Ct);

        Assert.False(result.Completed);
        Assert.Equal(SmartPopErrorCodes.Timeout, result.Error?.ErrorCode);
        Assert.Contains("timed out during STAT", result.Error?.Message, StringComparison.Ordinal);
        Assert.Equal(0, result.Delivered);
        Assert.True(result.Duration >= TimeSpan.FromSeconds(0.9), $"ended before the 1 s timeout: {result.Duration}"); // had the 2 s reply arrived, the fetch would have completed
        Assert.Equal(1, target.Server.GetMailbox(target.OAuthUser).Count); // no QUIT was sent: nothing can have been committed
    }

    // ---- No UIDL ----
    [Fact]
    public async Task Fetch_NoUidl_IdentifiedByContentWithAWarning_SameHeadersToo_SecondFetchDeliversNothing()
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync(Pop3ServerStyle.Dovecot);
        target.AddMessage(target.OAuthUser, "Message-ID: <a@example.test>\nSubject: a\n\nx\n"u8.ToArray());
        target.AddMessage(target.OAuthUser, "Message-ID: <a@example.test>\nSubject: a\n\ny\n"u8.ToArray()); // the same headers
        target.Server.Faults.DisableUidl = true;
        var sink = new MetadataSink();

        FetchResult first = await h.Client.FetchAsync(h.Account(), sink, cancellationToken: Ct);
        FetchResult second = await h.Client.FetchAsync(h.Account(), sink, cancellationToken: Ct);

        Assert.True(first.Completed, first.Error?.Message);
        Assert.Equal(2, first.Delivered);
        Assert.Contains(first.Warnings, w => w.Contains("has no UIDL", StringComparison.Ordinal) && w.Contains(SmartPopErrorCodes.UidlUnreliable, StringComparison.Ordinal));
        Assert.Equal(2, sink.Delivered.Count);
        Assert.All(sink.Delivered, m => Assert.True(m.UidlIsSynthetic && m.Uidl.StartsWith("sha256-", StringComparison.Ordinal), m.Uidl));
        Assert.Equal(2, sink.Delivered.Select(m => m.Uidl).Distinct().Count());
        Assert.Equal((2, 0, 0), (second.Listed, second.New, second.Delivered)); // content keys are stable between sessions
        Assert.Equal(6, target.Server.Counters.RetrCount); // probe + delivery, then one probe per message per poll

        TestReport report = await h.Client.TestAsync(h.Account(), Ct);
        Assert.True(report.Succeeded);
        TestStep capabilities = report.Steps.Single(s => s.Kind == TestStepKind.Capabilities);
        Assert.Equal(TestStepStatus.Warning, capabilities.Status);
        Assert.Contains("UIDL: no", capabilities.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_NoUidlAndNoTop_LeaveOnServerAndDeleteMode_EachMessageOnce()
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync(Pop3ServerStyle.Dovecot);
        target.AddMessage(target.OAuthUser, "Message-ID: <a@example.test>\nSubject: a\n\nx\n"u8.ToArray());
        target.AddMessage(target.OAuthUser, "Message-ID: <b@example.test>\nSubject: b\n\nx\n"u8.ToArray());
        target.Server.Faults.DisableUidl = true;
        target.Server.Faults.DisableTop = true;
        var sink = new MetadataSink();

        FetchResult kept = await h.Client.FetchAsync(h.Account(), sink, cancellationToken: Ct);
        FetchResult again = await h.Client.FetchAsync(h.Account(), sink, cancellationToken: Ct);

        Assert.Equal((2, 0, 0), (kept.Delivered, again.Delivered, again.Deleted));
        Assert.Equal(2, (await target.ListUidlsAsync(target.OAuthUser, Ct)).Count);

        FetchResult deleted = await h.Client.FetchAsync(h.Account(a => a.LeaveOnServer = false), sink, cancellationToken: Ct);

        Assert.True(deleted.Completed, deleted.Error?.Message);
        Assert.Equal((0, 2), (deleted.Delivered, deleted.Deleted));
        Assert.Equal(2, sink.Delivered.Count);
        Assert.Empty(await target.ListUidlsAsync(target.OAuthUser, Ct));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (IDisposable harness in _harnesses)
        {
            harness.Dispose();
        }

        foreach (IAsyncDisposable target in _targets)
        {
            await target.DisposeAsync();
        }
    }

    private static CountingSink Sink() => new(new MaildirMessageSink(Infra.NewTempDirectory("sc-md")));

    private async Task<(TestServerTarget Target, ScenarioHarness Harness)> StartAsync(Pop3ServerStyle style, SmartPopOptions? options = null)
    {
        TestServerTarget target = await TestServerTarget.StartAsync(o => o.Style = style, Ct);
        _targets.Add(target);
        ScenarioHarness harness = await ScenarioHarness.AuthorizeAsync(target, options);
        _harnesses.Add(harness);
        return (target, harness);
    }

    /// <summary>Reports synchronously (unlike <see cref="Progress{T}"/>), so a switch flips before the next command.</summary>
    private sealed class InlineProgress(Action<FetchProgress> report) : IProgress<FetchProgress>
    {
        public void Report(FetchProgress value) => report(value);
    }

    private sealed class MetadataSink : IMessageSink
    {
        public List<MessageMetadata> Delivered { get; } = [];

        public async Task DeliverAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default)
        {
            await message.CopyToAsync(Stream.Null, cancellationToken);
            Delivered.Add(metadata);
        }
    }
}
