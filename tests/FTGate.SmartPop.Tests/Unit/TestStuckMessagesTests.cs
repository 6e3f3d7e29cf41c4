using System.Net;
using FTGate.SmartPop.Internal;

namespace FTGate.SmartPop.Tests.Unit;

/// <summary>The connection Test reports the messages earlier fetches left stuck (issue 14 item 2), read from the UIDL store's failure records.</summary>
public sealed class TestStuckMessagesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TestAsync_StoreHoldsAStuckMessage_StatWarnsWithNumberUidlServerWordsCountAndFix()
    {
        var store = new InMemoryUidlStore();
        await ((IFailureLog)store).SaveFailuresAsync(
            "acct",
            [
                new FailureRecord("bad-key", "bad", 3, SmartPopErrorCodes.CommandFailed, "The server refused RETR 2: -ERR [SYS/PERM] Message 2 is corrupted on disk; the message stays on the server and is retried in the next poll.", 42, false, 50 << 20, 2, "-ERR [SYS/PERM] Message 2 is corrupted on disk"),
                new FailureRecord("once-key", "once", 1, SmartPopErrorCodes.TransferBroken, "The transfer of message 4 broke after 10 bytes.", 99, false, 50 << 20, 4),
                new FailureRecord("sink-key", "sink", 4, SmartPopErrorCodes.DeliveryFailed, "The sink failed (IOException: disk full); the message stays on the server and unseen.", 7, false, 50 << 20, 5),
            ],
            Ct);

        TestReport report = await RunTestAsync(store);

        Assert.True(report.Succeeded);
        TestStep stat = report.Steps.Single(s => s.Kind == TestStepKind.Stat);
        Assert.Equal(TestStepStatus.Warning, stat.Status);
        Assert.Equal(SmartPopErrorCodes.MessageStuck, stat.ErrorCode);
        Assert.StartsWith("3 message(s), ", stat.Detail, StringComparison.Ordinal);
        Assert.Contains("2 message(s) stuck", stat.Detail, StringComparison.Ordinal);
        Assert.Contains("message 2 (UIDL 'bad') failed in 3 fetches in a row [pop3_command_failed], the server said: -ERR [SYS/PERM] Message 2 is corrupted on disk", stat.Detail, StringComparison.Ordinal);
        Assert.Contains("message 5 (UIDL 'sink') failed in 4 fetches in a row [smartpop_delivery_failed], reason: The sink failed (IOException: disk full)", stat.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("'once'", stat.Detail, StringComparison.Ordinal); // failed once: not stuck yet
        Assert.Contains("stays on the server", stat.Cause, StringComparison.Ordinal);
        Assert.Contains("message 2 (UIDL 'bad'): the server refuses to hand it out: open the message in the mailbox's webmail; if it is damaged or unwanted, delete it on the server", stat.Remedy, StringComparison.Ordinal);
        Assert.Contains("message 5 (UIDL 'sink'): the host refused to store it", stat.Remedy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TestAsync_NoStuckMessage_StatPassesWithoutNoise()
    {
        var store = new InMemoryUidlStore();
        await ((IFailureLog)store).SaveFailuresAsync(
            "acct",
            [
                new FailureRecord("twice-key", "twice", 2, SmartPopErrorCodes.CommandFailed, "The server refused RETR 1: -ERR busy.", 10, false, 50 << 20, 1, "-ERR busy"),
                new FailureRecord("big-key", "big", 5, SmartPopErrorCodes.MessageTooLarge, "More than MaxMessageSize bytes arrived.", 10, true, 50 << 20, 2),
            ],
            Ct);
        await ((IFailureLog)store).SaveFailuresAsync("other-account", [new FailureRecord("k", "elsewhere", 9, SmartPopErrorCodes.CommandFailed, "refused", 1, false, 1, 1, "-ERR no")], Ct);

        TestReport report = await RunTestAsync(store);

        Assert.True(report.Succeeded);
        Assert.All(report.Steps, s => Assert.NotEqual(TestStepStatus.Warning, s.Status));
        TestStep stat = report.Steps.Single(s => s.Kind == TestStepKind.Stat);
        Assert.Equal((TestStepStatus.Passed, "3 message(s), 9 bytes.", null, null, null), (stat.Status, stat.Detail, stat.Cause, stat.Remedy, stat.ErrorCode));
    }

    [Fact]
    public async Task TestAsync_ManyStuckMessages_NamesTheFirstTenAndCountsTheRest()
    {
        var store = new InMemoryUidlStore();
        FailureRecord[] records = [.. Enumerable.Range(1, 12).Select(i => new FailureRecord($"k{i}", $"u{i}", 3, SmartPopErrorCodes.TransferBroken, $"The transfer of message {i} broke.", 1, false, 1, i))];
        await ((IFailureLog)store).SaveFailuresAsync("acct", records, Ct);

        TestStep stat = (await RunTestAsync(store)).Steps.Single(s => s.Kind == TestStepKind.Stat);

        Assert.Equal(TestStepStatus.Warning, stat.Status);
        Assert.Contains("12 message(s) stuck", stat.Detail, StringComparison.Ordinal);
        Assert.Equal(10, stat.Detail!.Split("fetches in a row [").Length - 1);
        Assert.Contains("and 2 more (ftgate status lists them all)", stat.Detail, StringComparison.Ordinal);
        Assert.Contains("its download breaks every time", stat.Remedy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FileUidlStore_FailureRecordsWrittenBeforeNumberAndReplyWereKept_StillRead_AndNewOnesKeepThem()
    {
        string dir = FTGate.Tests.Infrastructure.Infra.NewTempDirectory("sp-failures");
        using var store = new FileUidlStore(dir);
        string path = Path.ChangeExtension(store.GetFilePath("acct"), ".failures.json");
        await File.WriteAllTextAsync(path, """[{"Key":"k","Uidl":"old","Fetches":3,"ErrorCode":"pop3_command_failed","Message":"The server refused RETR 2: -ERR gone.","Size":5,"TooLarge":false,"Limit":100}]""", Ct);

        MessageFailure old = Assert.Single(await store.GetFailingMessagesAsync("acct", Ct));
        Assert.Equal(("old", 3, 0, null), (old.Uidl, old.FailedFetches, old.MessageNumber, old.ServerReply));

        await ((IFailureLog)store).SaveFailuresAsync("acct", [new FailureRecord("k", "new", 4, SmartPopErrorCodes.CommandFailed, "refused", 5, false, 100, 7, "-ERR no")], Ct);
        MessageFailure kept = Assert.Single(await store.GetFailingMessagesAsync("acct", Ct));
        Assert.Equal(("new", 4, 7, "-ERR no"), (kept.Uidl, kept.FailedFetches, kept.MessageNumber, kept.ServerReply));
    }

    private static async Task<TestReport> RunTestAsync(InMemoryUidlStore store)
    {
        var mailbox = new FakeMailbox().Add("u1", "one").Add("u2", "two").Add("u3", "six");
        var (_, registry) = TestAccounts.Provider();
        SmartPopClient client = TestAccounts.Client(registry.Object, store, new FakeFactory(() => new FakePop3Connection(mailbox)));
        client.ResolveHost = (_, _) => Task.FromResult(new[] { IPAddress.Loopback });
        return await client.TestAsync(TestAccounts.OAuth(), Ct);
    }
}
