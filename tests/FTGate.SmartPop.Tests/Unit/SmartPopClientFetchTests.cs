using System.Text.Json;
using FTGate.OAuth;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace FTGate.SmartPop.Tests.Unit;

public sealed class SmartPopClientFetchTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-28T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task FetchAsync_SeenSet_DeliversOnlyNewAndRecordsThemAfterTheSink()
    {
        var mailbox = new FakeMailbox().Add("u1", "one\r\n").Add("u2", "two\r\n").Add("u3", "three\r\n");
        var store = new InMemoryUidlStore();
        await store.MarkSeenAsync("acct", "u2", Now);
        var (_, registry) = TestAccounts.Provider();
        var connection = new FakePop3Connection(mailbox);
        var factory = new FakeFactory(() => connection);
        var seenWhenDelivered = new List<bool>();
        var sink = new RecordingSink
        {
            Failure = m =>
            {
                seenWhenDelivered.Add(store.GetSeenAsync("acct").Result.ContainsKey(m.Uidl));
                return null;
            },
        };
        SmartPopClient client = TestAccounts.Client(registry.Object, store, factory);

        FetchResult result = await client.FetchAsync(TestAccounts.OAuth(), sink);

        Assert.Equal(["u1", "u3"], sink.Delivered.Select(d => d.Uidl));
        Assert.Equal([false, false], seenWhenDelivered);
        Assert.Equal(3, result.Listed);
        Assert.Equal(2, result.New);
        Assert.Equal(2, result.Delivered);
        Assert.True(result.Completed);
        Assert.Equal(0, result.Deleted);
        Assert.DoesNotContain(connection.Journal, j => j.StartsWith("DELE", StringComparison.Ordinal));
        Assert.Equal("QUIT", connection.Journal[^2]);
        Assert.Equal(["u1", "u2", "u3"], (await store.GetSeenAsync("acct")).Keys.Where(k => !k.Contains('\n', StringComparison.Ordinal)).Order());

        FetchResult second = await client.FetchAsync(TestAccounts.OAuth(), sink);
        Assert.Equal(0, second.New);
        Assert.Equal(0, second.Delivered);
        Assert.Equal(2, sink.Delivered.Count);
    }

    [Fact]
    public async Task FetchAsync_SinkThrowsOnOne_ThatOneStaysUnseenAndIsNotDeleted()
    {
        var mailbox = new FakeMailbox().Add("u1", "one").Add("bad", "two").Add("u3", "three");
        var store = new InMemoryUidlStore();
        var (_, registry) = TestAccounts.Provider();
        var connection = new FakePop3Connection(mailbox);
        var sink = new RecordingSink { Failure = m => m.Uidl == "bad" ? new IOException("disk full") : null };
        SmartPopClient client = TestAccounts.Client(registry.Object, store, new FakeFactory(() => connection));

        FetchResult result = await client.FetchAsync(TestAccounts.OAuth(a => a.LeaveOnServer = false), sink);

        Assert.Equal(2, result.Delivered);
        MessageFailure failure = Assert.Single(result.Failures);
        Assert.Equal("bad", failure.Uidl);
        Assert.Equal(SmartPopErrorCodes.DeliveryFailed, failure.ErrorCode);
        Assert.DoesNotContain("bad", (await store.GetSeenAsync("acct")).Keys);
        Assert.Contains("DELE 1", connection.Journal);
        Assert.DoesNotContain("DELE 2", connection.Journal);
        Assert.Contains("DELE 3", connection.Journal);
        Assert.Equal(["bad"], mailbox.Messages.Select(m => m.Uidl));
        Assert.Equal(2, result.Deleted);
    }

    [Fact]
    public async Task FetchAsync_DeleteMode_DeleIsSentOnlyAfterSeenIsRecorded()
    {
        var mailbox = new FakeMailbox().Add("u1", "one");
        var store = new InMemoryUidlStore();
        var (_, registry) = TestAccounts.Provider();
        var connection = new FakePop3Connection(mailbox);
        var order = new List<string>();
        var trackingStore = new Mock<IUidlStore>(MockBehavior.Strict);
        trackingStore.Setup(s => s.PruneAsync("acct", It.IsAny<IReadOnlyCollection<string>>(), It.IsAny<CancellationToken>())).ReturnsAsync(0);
        trackingStore.Setup(s => s.GetSeenAsync("acct", It.IsAny<CancellationToken>())).ReturnsAsync(new Dictionary<string, DateTimeOffset>());
        trackingStore.Setup(s => s.MarkSeenAsync("acct", It.Is<IReadOnlyCollection<string>>(u => u.First() == "u1" && u.Count == 2), It.IsAny<DateTimeOffset>(), It.IsAny<CancellationToken>()))
            .Callback(() => order.Add("seen:" + string.Join(' ', connection.Journal)))
            .Returns(Task.CompletedTask);
        SmartPopClient client = TestAccounts.Client(registry.Object, trackingStore.Object, new FakeFactory(() => connection));

        FetchResult result = await client.FetchAsync(TestAccounts.OAuth(a => a.LeaveOnServer = false), new RecordingSink());

        Assert.Equal(1, result.Deleted);
        Assert.DoesNotContain("DELE", Assert.Single(order), StringComparison.Ordinal);
        Assert.Contains("DELE 1", connection.Journal);
        Assert.True(connection.Journal.IndexOf("DELE 1") < connection.Journal.IndexOf("QUIT"));
    }

    [Fact]
    public async Task FetchAsync_DeleteAfterDays_DeletesOnlySeenMessagesOlderThanTheLimit()
    {
        var mailbox = new FakeMailbox().Add("old", "a").Add("young", "b").Add("new", "c");
        var store = new InMemoryUidlStore();
        await store.MarkSeenAsync("acct", "old", Now.AddDays(-8));
        await store.MarkSeenAsync("acct", "young", Now.AddDays(-2));
        var (_, registry) = TestAccounts.Provider();
        var connection = new FakePop3Connection(mailbox);
        SmartPopClient client = TestAccounts.Client(registry.Object, store, new FakeFactory(() => connection), new FakeTimeProvider(Now));

        FetchResult result = await client.FetchAsync(TestAccounts.OAuth(a => a.DeleteAfterDays = 7), new RecordingSink());

        Assert.Equal(["DELE 1"], connection.Journal.Where(j => j.StartsWith("DELE", StringComparison.Ordinal)));
        Assert.Equal(1, result.Delivered);
        Assert.Equal(1, result.Deleted);
    }

    [Fact]
    public async Task FetchAsync_MessageOverSizeLimit_IsSkippedReportedAndNeverRetrieved()
    {
        var mailbox = new FakeMailbox().Add("small", "tiny").Add("huge", "x", listSize: 10_000_000);
        var (_, registry) = TestAccounts.Provider();
        var connection = new FakePop3Connection(mailbox);
        var store = new InMemoryUidlStore();
        SmartPopClient client = TestAccounts.Client(registry.Object, store, new FakeFactory(() => connection));

        FetchResult result = await client.FetchAsync(TestAccounts.OAuth(a => a.MaxMessageSize = 1_000_000), new RecordingSink());

        Assert.Equal(1, result.SkippedTooLarge);
        Assert.Equal(1, result.Delivered);
        Assert.Contains(result.Failures, f => f.Uidl == "huge" && f.ErrorCode == "message_too_large");
        Assert.DoesNotContain("RETR 2", connection.Journal);
        Assert.DoesNotContain("huge", (await store.GetSeenAsync("acct")).Keys);
    }

    [Fact]
    public async Task FetchAsync_MaxMessagesPerPoll_DefersTheRest()
    {
        var mailbox = new FakeMailbox().Add("a", "1").Add("b", "2").Add("c", "3");
        var (_, registry) = TestAccounts.Provider();
        SmartPopClient client = TestAccounts.Client(registry.Object, new InMemoryUidlStore(), new FakeFactory(() => new FakePop3Connection(mailbox)));

        FetchResult result = await client.FetchAsync(TestAccounts.OAuth(a => a.MaxMessagesPerPoll = 2), new RecordingSink());

        Assert.Equal(2, result.Delivered);
        Assert.Equal(1, result.Deferred);
        Assert.Contains(result.Warnings, w => w.Contains("MaxMessagesPerPoll", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FetchAsync_CachedTokenRejected_RefreshesOnceReconnectsAndRetriesOnce()
    {
        var mailbox = new FakeMailbox().Add("u1", "one");
        var (provider, registry) = TestAccounts.Provider();
        var factory = new FakeFactory(() => new FakePop3Connection(mailbox)
        {
            AuthFailure = token => token == "cached-token-123"
                ? new Pop3ConnectionException(SmartPopErrorCodes.AuthenticationRejected, "rejected", serverReply: "+ eyJzdGF0dXMiOiI0MDEifQ==")
                : null,
        });
        SmartPopClient client = TestAccounts.Client(registry.Object, new InMemoryUidlStore(), factory);

        FetchResult result = await client.FetchAsync(TestAccounts.OAuth(), new RecordingSink());

        Assert.Equal(1, result.Delivered);
        provider.Verify(p => p.RefreshAccessTokenAsync("alice@example.test", It.IsAny<CancellationToken>()), Times.Once);
        Assert.Equal(2, factory.Created.Count);
        var first = (FakePop3Connection)factory.Created[0];
        Assert.Equal("DISPOSE", first.Journal[^1]);
        Assert.DoesNotContain("LIST", first.Journal);
        Assert.Contains("AUTH XOAuth2 alice@example.test fresh-token-456", ((FakePop3Connection)factory.Created[1]).Journal);
    }

    [Fact]
    public async Task FetchAsync_RejectedTwice_ThrowsWithServerWordsAndDoesNotLoop()
    {
        var mailbox = new FakeMailbox();
        var (provider, registry) = TestAccounts.Provider();
        var factory = new FakeFactory(() => new FakePop3Connection(mailbox)
        {
            AuthFailure = _ => new Pop3CommandException(SmartPopErrorCodes.AuthenticationRejected, "rejected", serverReply: "-ERR [AUTH] Authentication failed."),
        });
        SmartPopClient client = TestAccounts.Client(registry.Object, new InMemoryUidlStore(), factory);

        Pop3Exception ex = await Assert.ThrowsAnyAsync<Pop3Exception>(() => client.FetchAsync(TestAccounts.OAuth(), new RecordingSink()));

        Assert.Equal("-ERR [AUTH] Authentication failed.", ex.ServerReply);
        Assert.Equal(2, factory.Created.Count);
        provider.Verify(p => p.RefreshAccessTokenAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public async Task FetchAsync_FreshTokenRejected_NoRefreshNoRetry()
    {
        var (provider, registry) = TestAccounts.Provider(fromCache: false);
        var factory = new FakeFactory(() => new FakePop3Connection(new FakeMailbox())
        {
            AuthFailure = _ => new Pop3CommandException(SmartPopErrorCodes.AuthenticationRejected, "rejected", serverReply: "-ERR [AUTH] Authentication failed."),
        });
        SmartPopClient client = TestAccounts.Client(registry.Object, new InMemoryUidlStore(), factory);

        await Assert.ThrowsAsync<Pop3CommandException>(() => client.FetchAsync(TestAccounts.OAuth(), new RecordingSink()));

        Assert.Single(factory.Created);
        provider.Verify(p => p.RefreshAccessTokenAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task FetchAsync_ReauthorizationRequired_PropagatesWithoutConnecting()
    {
        var (provider, registry) = TestAccounts.Provider();
        provider.Setup(p => p.GetAccessTokenAsync("alice@example.test", It.IsAny<CancellationToken>()))
            .ThrowsAsync(new ReauthorizationRequiredException(FTGateErrorCodes.ReauthorizationRequired, "grant revoked", "Authorize again.", "prov", "alice@example.test", "invalid_grant"));
        var factory = new FakeFactory(() => new FakePop3Connection(new FakeMailbox()));
        SmartPopClient client = TestAccounts.Client(registry.Object, new InMemoryUidlStore(), factory);

        await Assert.ThrowsAsync<ReauthorizationRequiredException>(() => client.FetchAsync(TestAccounts.OAuth(), new RecordingSink()));
        Assert.Empty(factory.Created);
    }

    [Fact]
    public async Task FetchAsync_UnencryptedConnection_RefusesToSendTheTokenUnlessAllowed()
    {
        var (_, registry) = TestAccounts.Provider();
        var connection = new FakePop3Connection(new FakeMailbox(), encrypted: false);
        SmartPopClient client = TestAccounts.Client(registry.Object, new InMemoryUidlStore(), new FakeFactory(() => connection));

        Pop3ConnectionException ex = await Assert.ThrowsAsync<Pop3ConnectionException>(() => client.FetchAsync(TestAccounts.OAuth(a => a.Security = Pop3Security.StartTls), new RecordingSink()));

        Assert.Equal(SmartPopErrorCodes.InsecureAuthenticationRefused, ex.ErrorCode);
        Assert.DoesNotContain(connection.Journal, j => j.StartsWith("AUTH", StringComparison.Ordinal));
        Assert.DoesNotContain("cached-token-123", ex.ToString(), StringComparison.Ordinal);

        var allowed = new FakePop3Connection(new FakeMailbox(), encrypted: false);
        SmartPopClient client2 = TestAccounts.Client(registry.Object, new InMemoryUidlStore(), new FakeFactory(() => allowed));
        FetchResult result = await client2.FetchAsync(TestAccounts.OAuth(a => { a.Security = Pop3Security.None; a.AllowInsecureAuthentication = true; }), new RecordingSink());
        Assert.True(result.Completed);
    }

    [Fact]
    public async Task FetchAsync_ConnectionDropsDuringRetr_FailsThatMessage_TheRestOnANewConnection_RetriedNextPoll()
    {
        var mailbox = new FakeMailbox().Add("u1", "one").Add("u2", "two").Add("u3", "three");
        var store = new InMemoryUidlStore();
        var (_, registry) = TestAccounts.Provider();
        bool broken = true;
        var factory = new FakeFactory(() => new FakePop3Connection(mailbox)
        {
            RetrieveFailure = i => i == 1 && broken ? new Pop3ConnectionException(SmartPopErrorCodes.ConnectionLost, "connection reset") : null,
        });
        SmartPopClient client = TestAccounts.Client(registry.Object, store, factory);
        var sink = new RecordingSink();

        FetchResult result = await client.FetchAsync(TestAccounts.OAuth(a => a.LeaveOnServer = false), sink);

        Assert.Equal(2, factory.Created.Count); // the broken session is dropped without QUIT; a new one delivers the rest
        Assert.DoesNotContain("QUIT", ((FakePop3Connection)factory.Created[0]).Journal);
        Assert.Equal(["u1", "u3"], sink.Delivered.Select(d => d.Uidl));
        MessageFailure failure = Assert.Single(result.Failures);
        Assert.Equal((SmartPopErrorCodes.TransferBroken, 2, "u2"), (failure.ErrorCode, failure.MessageNumber, failure.Uidl));
        Assert.Equal(2, result.Deleted); // u1 and u3, deleted by the second session
        Assert.Equal(["u2"], mailbox.Messages.Select(m => m.Uidl));

        // Next poll: u2 is delivered.
        broken = false;
        FetchResult again = await client.FetchAsync(TestAccounts.OAuth(a => a.LeaveOnServer = false), sink);
        Assert.Equal(["u1", "u3", "u2"], sink.Delivered.Select(d => d.Uidl));
        Assert.Equal(1, again.Deleted);
        Assert.Empty(mailbox.Messages);
        Assert.Empty(again.Failures);
    }

    [Fact]
    public async Task FetchAsync_Pipelining_BatchesSmallMessagesAndRetrievesLargeOnesAlone()
    {
        var mailbox = new FakeMailbox().Add("s1", "a").Add("s2", "b").Add("big", new string('x', 300_000)).Add("s3", "c");
        var (_, registry) = TestAccounts.Provider();
        var connection = new FakePop3Connection(mailbox);
        connection.Server = connection.Server with { SupportsPipelining = true };
        var sink = new RecordingSink();
        SmartPopClient client = TestAccounts.Client(registry.Object, new InMemoryUidlStore(), new FakeFactory(() => connection), options: new SmartPopOptions { PipelineMessageMaxBytes = 256 * 1024 });

        FetchResult result = await client.FetchAsync(TestAccounts.OAuth(), sink);

        Assert.Equal(4, result.Delivered);
        Assert.Contains("PIPELINE 1,2", connection.Journal);
        Assert.Contains("RETR 3", connection.Journal); // over PipelineMessageMaxBytes: alone
        Assert.Equal(["s1", "s2", "big", "s3"], sink.Delivered.Select(d => d.Uidl));
    }

    [Fact]
    public async Task FetchAsync_Pipelining_ByDefault_ALargerMessageSharesTheBatch()
    {
        // Messages stream into the sink, so a 300 KB message costs no memory in a batch: by default (up to 4 MiB) it is
        // pipelined with its neighbours and shares their commit.
        var mailbox = new FakeMailbox().Add("s1", "a").Add("s2", "b").Add("big", new string('x', 300_000)).Add("s3", "c");
        var (_, registry) = TestAccounts.Provider();
        var connection = new FakePop3Connection(mailbox);
        connection.Server = connection.Server with { SupportsPipelining = true };
        var sink = new RecordingSink();
        SmartPopClient client = TestAccounts.Client(registry.Object, new InMemoryUidlStore(), new FakeFactory(() => connection));

        FetchResult result = await client.FetchAsync(TestAccounts.OAuth(), sink);

        Assert.Equal(4, result.Delivered);
        Assert.Contains("PIPELINE 1,2,3,4", connection.Journal);
        Assert.Equal(["s1", "s2", "big", "s3"], sink.Delivered.Select(d => d.Uidl));
    }

    [Fact]
    public async Task FetchAsync_Pipelined_DelesAfterTheDownloadsBeforeQuit()
    {
        var mailbox = new FakeMailbox().Add("s1", "a").Add("s2", "b").Add("big", new string('x', 300_000)).Add("s3", "c");
        var (_, registry) = TestAccounts.Provider();
        var connection = new FakePop3Connection(mailbox);
        connection.Server = connection.Server with { SupportsPipelining = true };
        var sink = new RecordingSink();
        SmartPopClient client = TestAccounts.Client(registry.Object, new InMemoryUidlStore(), new FakeFactory(() => connection));

        FetchResult result = await client.FetchAsync(TestAccounts.OAuth(a => a.LeaveOnServer = false), sink);

        Assert.True(result.Completed);
        Assert.Equal(4, result.Delivered);
        Assert.Equal(4, result.Deleted);
        int lastRetr = connection.Journal.FindLastIndex(j => j.StartsWith("RETR", StringComparison.Ordinal) || j.StartsWith("PIPELINE", StringComparison.Ordinal));
        int firstDele = connection.Journal.FindIndex(j => j.StartsWith("DELE", StringComparison.Ordinal));
        Assert.True(lastRetr < firstDele && firstDele < connection.Journal.IndexOf("QUIT"), string.Join(" | ", connection.Journal));
        Assert.Equal(["s1", "s2", "big", "s3"], sink.Delivered.Select(d => d.Uidl));
        Assert.Equal(["a\r\n", "b\r\n", new string('x', 300_000) + "\r\n", "c\r\n"], sink.Delivered.Select(d => d.Body));
        Assert.Empty(mailbox.Messages);
    }

    [Fact]
    public async Task FetchAsync_PasswordAccount_UsesPasswordAndReportsProgress()
    {
        var mailbox = new FakeMailbox().Add("u1", "one");
        var registry = new Mock<IAuthProviderRegistry>(MockBehavior.Strict);
        var connection = new FakePop3Connection(mailbox);
        var reports = new List<FetchProgress>();
        SmartPopClient client = TestAccounts.Client(registry.Object, new InMemoryUidlStore(), new FakeFactory(() => connection));

        await client.FetchAsync(TestAccounts.Password(), new RecordingSink(), new SyncProgress(reports.Add));

        Assert.Contains("PASS carol@example.test", connection.Journal);
        Assert.Contains(reports, r => r.Stage == FetchStage.Downloading && r.Completed == 1 && r.CurrentUidl == "u1");
        Assert.Equal(FetchStage.Done, reports[^1].Stage);
    }

    [Fact]
    public async Task FetchResult_SerializesToJson()
    {
        var (_, registry) = TestAccounts.Provider();
        SmartPopClient client = TestAccounts.Client(registry.Object, new InMemoryUidlStore(), new FakeFactory(() => new FakePop3Connection(new FakeMailbox().Add("u1", "x"))));
        FetchResult result = await client.FetchAsync(TestAccounts.OAuth(), new RecordingSink());

        string json = JsonSerializer.Serialize(result);

        using JsonDocument doc = JsonDocument.Parse(json);
        Assert.Equal(1, doc.RootElement.GetProperty("Delivered").GetInt32());
        Assert.Equal("acct", doc.RootElement.GetProperty("AccountName").GetString());
        Assert.Equal(JsonValueKind.Array, doc.RootElement.GetProperty("Failures").ValueKind);
    }

    private sealed class SyncProgress(Action<FetchProgress> report) : IProgress<FetchProgress>
    {
        public void Report(FetchProgress value) => report(value);
    }
}
