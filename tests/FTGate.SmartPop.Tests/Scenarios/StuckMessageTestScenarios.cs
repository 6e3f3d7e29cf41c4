using FTGate.Testing;
using FTGate.Tests.Infrastructure;

namespace FTGate.SmartPop.Tests.Scenarios;

/// <summary>
/// End to end over TestPop3Server's scripted faults and the durable file UIDL store: a message the server refuses in three fetches
/// in a row is named by the connection Test (issue 14 item 2), and disappears from it once it is collected.
/// </summary>
public sealed class StuckMessageTestScenarios : IAsyncDisposable
{
    private const string Refusal = "-ERR [SYS/PERM] Message 2 is corrupted on disk";
    private readonly List<IAsyncDisposable> _targets = [];
    private readonly List<IDisposable> _disposables = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Test_AfterRetrRefusedInThreeFetchesInARow_NamesTheStuckMessageWithTheServersWordsAndTheFix_UntilItIsCollected()
    {
        TestServerTarget target = await TestServerTarget.StartAsync(o => o.Style = Pop3ServerStyle.Dovecot, Ct);
        _targets.Add(target);
        var store = new FileUidlStore(Infra.NewTempDirectory("sp-stuck-test"));
        _disposables.Add(store);
        ScenarioHarness h = await ScenarioHarness.AuthorizeAsync(target, store: store);
        _disposables.Add(h);
        TestMailbox mailbox = target.Server.GetMailbox(target.OAuthUser);
        mailbox.Add("Subject: a\n\n1\n");
        TestMessage bad = mailbox.Add("Subject: bad\n\n2\n");
        mailbox.Add("Subject: c\n\n3\n");
        target.Server.Faults.RefuseRetr(bad.Uid, Refusal);
        SmartPopAccount account = h.Account();
        var sink = new MaildirMessageSink(Infra.NewTempDirectory("sp-stuck-md"));

        TestReport beforeStuck = await FetchAndTestAsync(h, account, sink, fetches: 2);
        Assert.Equal(TestStepStatus.Passed, Stat(beforeStuck).Status); // two failed fetches: not stuck yet, no noise

        TestReport stuck = await FetchAndTestAsync(h, account, sink, fetches: 1);
        Assert.True(stuck.Succeeded);
        TestStep stat = Stat(stuck);
        Assert.Equal((TestStepStatus.Warning, SmartPopErrorCodes.MessageStuck), (stat.Status, stat.ErrorCode));
        Assert.Contains($"message 2 (UIDL '{bad.Uid}') failed in 3 fetches in a row [{SmartPopErrorCodes.CommandFailed}], the server said: {Refusal}", stat.Detail, StringComparison.Ordinal);
        Assert.Contains("delete it on the server", stat.Remedy, StringComparison.Ordinal);
        Assert.Equal(stat.Detail, Stat(await h.Client.TestAsync(account, Ct)).Detail); // a Test changes no count

        target.Server.Faults.Reset();
        TestReport healed = await FetchAndTestAsync(h, account, sink, fetches: 1);
        Assert.Equal(TestStepStatus.Passed, Stat(healed).Status);
        Assert.DoesNotContain("stuck", Stat(healed).Detail, StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (IDisposable disposable in _disposables)
        {
            disposable.Dispose();
        }

        foreach (IAsyncDisposable target in _targets)
        {
            await target.DisposeAsync();
        }
    }

    private static TestStep Stat(TestReport report) => report.Steps.Single(s => s.Kind == TestStepKind.Stat);

    private static async Task<TestReport> FetchAndTestAsync(ScenarioHarness h, SmartPopAccount account, IMessageSink sink, int fetches)
    {
        for (int i = 0; i < fetches; i++)
        {
            FetchResult result = await h.Client.FetchAsync(account, sink, cancellationToken: Ct);
            Assert.Null(result.Error);
        }

        return await h.Client.TestAsync(account, Ct);
    }
}
