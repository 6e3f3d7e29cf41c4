using System.Text;
using FTGate.Testing;
using FTGate.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace FTGate.SmartPop.Tests.Scenarios;

/// <summary>
/// SmartPop against broken and hostile POP3 servers (TestPop3Server's scripted faults): every class of fault, with and
/// without delete, over three consecutive fetches, counting what was delivered, deleted and duplicated, byte for byte.
/// </summary>
public sealed class HostileServerTests : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _targets = [];
    private readonly List<IDisposable> _harnesses = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // ---- 1. Message identity ----
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DuplicateUidls_EachMessageDeliveredOnce_OverThreeFetches_DeletedOnlyAfterItsOwnDelivery(bool leaveOnServer)
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync();
        TestMessage a = Add(target, "Subject: a\n\nfirst\n");
        TestMessage b = Add(target, "Subject: b\n\nsecond\n");
        TestMessage c = Add(target, "Subject: c\n\nthird\n");
        target.Server.Faults.OverrideUidl(a.Uid, "dup");
        target.Server.Faults.OverrideUidl(b.Uid, "dup");
        var sink = new ContentSink();

        FetchResult[] fetches = await FetchThriceAsync(h, h.Account(x => x.LeaveOnServer = leaveOnServer), sink);

        sink.AssertEachOnce(a, b, c);
        Assert.Equal(3, fetches[0].Delivered);
        Assert.Equal((0, 0), (fetches[1].Delivered, fetches[2].Delivered));
        Assert.Single(fetches[0].Warnings, w => w.Contains("share a UIDL", StringComparison.Ordinal) && w.Contains("'dup'", StringComparison.Ordinal));
        Assert.Equal(leaveOnServer ? 3 : 0, target.Server.GetMailbox(target.OAuthUser).Count);
        Assert.Equal(leaveOnServer ? 0 : 3, fetches.Sum(f => f.Deleted));
    }

    [Fact]
    public async Task UidlsWithSpacesControlCharactersAndOverAThousandChars_StoredEscaped_EachOnce()
    {
        string dir = Infra.NewTempDirectory("sp-uidl");
        using var store = new FileUidlStore(dir);
        (TestServerTarget target, ScenarioHarness h) = await StartAsync(store: store);
        TestMessage a = Add(target, "Subject: a\n\none\n");
        TestMessage b = Add(target, "Subject: b\n\ntwo\n");
        TestMessage c = Add(target, "Subject: c\n\nthree\n");
        TestMessage d = Add(target, "Subject: d\n\nfour\n");
        target.Server.Faults.OverrideUidl(a.Uid, "abc def"); // MailKit would cut both at the space
        target.Server.Faults.OverrideUidl(b.Uid, "abc xyz");
        target.Server.Faults.OverrideUidl(c.Uid, "ctl\u0001\u007f\u00e9%41");
        target.Server.Faults.OverrideUidl(d.Uid, new string('L', 1500));
        var sink = new ContentSink();

        FetchResult[] fetches = await FetchThriceAsync(h, h.Account(), sink);

        sink.AssertEachOnce(a, b, c, d);
        Assert.All(fetches, f => Assert.Null(f.Error));
        Assert.Contains(fetches[0].Warnings, w => w.Contains("break RFC 1939", StringComparison.Ordinal));
        using var reopened = new FileUidlStore(dir); // what a restart reads back
        IReadOnlyDictionary<string, DateTimeOffset> seen = await reopened.GetSeenAsync(h.Account().Name, Ct);
        Assert.Contains("abc def", seen.Keys);
        Assert.Contains("ctl\u0001\u007f\u00e9%41", seen.Keys);
        Assert.Contains(new string('L', 1500), seen.Keys);
        Assert.All(await File.ReadAllLinesAsync(reopened.GetFilePath(h.Account().Name), Ct), l => Assert.DoesNotContain(l, ch => ch < ' ' || ch > '~'));
    }

    [Fact]
    public async Task LongAndControlCharacterUidls_IntoAMaildir_OneFileEach_OverThreeFetches()
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync();
        TestMessage a = Add(target, "Subject: a\n\none\n");
        TestMessage b = Add(target, "Subject: b\n\ntwo\n");
        TestMessage c = Add(target, "Subject: c\n\nthree\n");
        target.Server.Faults.OverrideUidl(a.Uid, new string('L', 1500) + "a");
        target.Server.Faults.OverrideUidl(b.Uid, new string('L', 1500) + "b"); // differs only at the end
        target.Server.Faults.OverrideUidl(c.Uid, "x/y:z\u0001 \u00ff");
        string maildir = Infra.NewTempDirectory("sp-md");

        FetchResult[] fetches = await FetchThriceAsync(h, h.Account(), new MaildirMessageSink(maildir));

        Assert.Equal([3, 0, 0], fetches.Select(f => f.Delivered));
        string[] files = Directory.GetFiles(Path.Combine(maildir, "new"));
        Assert.Equal(3, files.Length);
        Assert.All(files, f => Assert.True(Path.GetFileName(f).Length <= 200, f));
        Assert.Equal( // the Maildir stores LF line ends (its default)
            new[] { a, b, c }.Select(m => Encoding.ASCII.GetString(m.GetClientBytes()).Replace("\r\n", "\n", StringComparison.Ordinal)).Order(StringComparer.Ordinal),
            files.Select(f => File.ReadAllText(f, Encoding.ASCII)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AUidlReusedByANewMessageLater_TheNewOneIsDelivered_TheOldOneNotAgain()
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync();
        TestMessage a = Add(target, "Subject: same\n\nold\n");
        target.Server.Faults.OverrideUidl(a.Uid, "hash-of-headers");
        var sink = new ContentSink();
        FetchResult first = await h.Client.FetchAsync(h.Account(), sink, cancellationToken: Ct);

        TestMessage b = Add(target, "Subject: same\n\nnew\n");
        target.Server.Faults.OverrideUidl(b.Uid, "hash-of-headers");
        FetchResult second = await h.Client.FetchAsync(h.Account(), sink, cancellationToken: Ct);
        FetchResult third = await h.Client.FetchAsync(h.Account(), sink, cancellationToken: Ct);

        Assert.Equal((1, 1, 0), (first.Delivered, second.Delivered, third.Delivered));
        sink.AssertEachOnce(a, b);
    }

    // ---- 2. Failure isolation ----
    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public async Task ErrOnOneRetr_TheOthersDeliveredInTheSameFetch_WithTheServersWords_StuckAfterThreeFetches(bool pipelining, bool leaveOnServer)
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync(pipelining ? null : new SmartPopOptions { PipelineMessageMaxBytes = 0 });
        TestMessage a = Add(target, "Subject: a\n\n1\n");
        TestMessage bad = Add(target, "Subject: bad\n\n2\n");
        TestMessage c = Add(target, "Subject: c\n\n3\n");
        target.Server.Faults.RefuseRetr(bad.Uid, "-ERR [SYS/PERM] Message 2 is corrupted on disk");
        var sink = new ContentSink();
        SmartPopAccount account = h.Account(x => x.LeaveOnServer = leaveOnServer);

        FetchResult[] fetches = await FetchThriceAsync(h, account, sink);

        sink.AssertEachOnce(a, c);
        Assert.Equal(2, fetches[0].Delivered);
        MessageFailure failure = Assert.Single(fetches[0].Failures);
        Assert.Equal((bad.Uid, 2, "-ERR [SYS/PERM] Message 2 is corrupted on disk"), (failure.Uidl, failure.MessageNumber, failure.ServerReply));
        Assert.Contains("corrupted on disk", failure.Message, StringComparison.Ordinal);
        Assert.Equal([1, 2, 3], fetches.Select(f => f.Failures.Single().FailedFetches));
        Assert.Empty(fetches[1].StuckMessages);
        MessageFailure stuck = Assert.Single(fetches[2].StuckMessages);
        Assert.Equal((bad.Uid, 3), (stuck.Uidl, stuck.FailedFetches));
        Assert.Contains(fetches[2].Warnings, w => w.Contains(SmartPopErrorCodes.MessageStuck, StringComparison.Ordinal));

        target.Server.Faults.Reset();
        FetchResult healed = await h.Client.FetchAsync(account, sink, cancellationToken: Ct);
        Assert.Equal(1, healed.Delivered);
        Assert.Empty(healed.StuckMessages);
        sink.AssertEachOnce(a, bad, c);
        Assert.Equal(leaveOnServer ? 3 : 0, target.Server.GetMailbox(target.OAuthUser).Count);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AMessageLargerThanListSaid_AbandonedAtMaxMessageSize_OthersDelivered_SkippedWithoutDownloadingNextTime(bool leaveOnServer)
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync();
        TestMessage a = Add(target, "Subject: a\n\n1\n");
        TestMessage liar = Add(target, "Subject: big\n\n" + new string('x', 300_000) + "\n");
        TestMessage c = Add(target, "Subject: c\n\n3\n");
        target.Server.Faults.OverrideListSize(liar.Uid, "1000");
        var sink = new ContentSink();
        SmartPopAccount account = h.Account(x => { x.MaxMessageSize = 100_000; x.LeaveOnServer = leaveOnServer; });

        var fetches = new FetchResult[3];
        fetches[0] = await h.Client.FetchAsync(account, sink, cancellationToken: Ct);
        int retrs = target.Server.Counters.RetrCount;
        fetches[1] = await h.Client.FetchAsync(account, sink, cancellationToken: Ct);
        fetches[2] = await h.Client.FetchAsync(account, sink, cancellationToken: Ct);

        sink.AssertEachOnce(a, c);
        Assert.Equal(2, fetches[0].Delivered); // the others came on a new connection in the same fetch
        Assert.All(fetches, f => Assert.Equal(SmartPopErrorCodes.MessageTooLarge, Assert.Single(f.Failures).ErrorCode));
        Assert.Equal([1, 1, 1], fetches.Select(f => f.SkippedTooLarge));
        Assert.Contains("arrived", fetches[1].Failures[0].Message, StringComparison.Ordinal);
        Assert.Equal(retrs, target.Server.Counters.RetrCount); // later fetches skip the liar without downloading it
        Assert.Equal(leaveOnServer ? 3 : 1, target.Server.GetMailbox(target.OAuthUser).Count);
    }

    [Fact]
    public async Task AnEndlessLine_IsAbandonedAtMaxMessageSize_NotStored_TheOthersDelivered()
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync();
        TestMessage a = Add(target, "Subject: a\n\n1\n");
        TestMessage endless = Add(target, "Subject: endless\n\nx\n");
        TestMessage c = Add(target, "Subject: c\n\n3\n");
        target.Server.Faults.EndlessRetr(endless.Uid);
        var sink = new ContentSink();

        FetchResult result = await h.Client.FetchAsync(h.Account(x => x.MaxMessageSize = 2 * 1024 * 1024), sink, cancellationToken: Ct);

        sink.AssertEachOnce(a, c);
        Assert.Equal(SmartPopErrorCodes.MessageTooLarge, Assert.Single(result.Failures).ErrorCode);
        Assert.All(sink.Delivered, d => Assert.True(d.Bytes.Length < 100));
    }

    [Fact]
    public async Task InconsistentListings_NeverThrow_ConsistentMessagesDelivered_TheRestWarned_ThreeFetches()
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync();
        TestMessage ok1 = Add(target, "Subject: ok1\n\n1\n");
        TestMessage negative = Add(target, "Subject: neg\n\n2\n");
        TestMessage huge = Add(target, "Subject: huge\n\n3\n");
        TestMessage noUidl = Add(target, "Subject: nouidl\n\n4\n");
        TestMessage ok2 = Add(target, "Subject: ok2\n\n5\n");
        target.Server.Faults.OverrideListSize(negative.Uid, "-5");
        target.Server.Faults.OverrideListSize(huge.Uid, "99999999999999999999");
        target.Server.Faults.OverrideUidl(noUidl.Uid, null);
        target.Server.Faults.StatCountOffset = 3;
        target.Server.Faults.RewriteListing = (command, lines) => command == "UIDL" ? [.. lines, "99 ghost", "garbage"] : [.. lines, "0 12", "7 x"];
        var sink = new ContentSink();

        FetchResult[] fetches = await FetchThriceAsync(h, h.Account(x => x.LeaveOnServer = false), sink);

        sink.AssertEachOnce(ok1, ok2);
        Assert.All(fetches, f => Assert.Null(f.Error));
        string warnings = string.Join("\n", fetches[0].Warnings);
        Assert.Contains("STAT counts 8", warnings, StringComparison.Ordinal);
        Assert.Contains("LIST has", warnings, StringComparison.Ordinal);
        Assert.Contains("'99 ghost'", warnings, StringComparison.Ordinal);
        Assert.Contains("without a UIDL", warnings, StringComparison.Ordinal);
        Assert.Equal(3, target.Server.GetMailbox(target.OAuthUser).Count); // the unidentifiable ones stay on the server
    }

    // ---- Honest reports ----
    [Fact]
    public async Task ErrOnQuit_NoDeletionCounted_Warned_RetriedNextFetchWithoutRedelivery()
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync();
        TestMessage a = Add(target, "Subject: a\n\n1\n");
        TestMessage b = Add(target, "Subject: b\n\n2\n");
        target.Server.Faults.RefuseQuit = true;
        var sink = new ContentSink();
        SmartPopAccount account = h.Account(x => x.LeaveOnServer = false);

        FetchResult refused = await h.Client.FetchAsync(account, sink, cancellationToken: Ct);

        Assert.Equal((2, 0), (refused.Delivered, refused.Deleted));
        Assert.False(refused.Completed);
        Assert.Equal(SmartPopErrorCodes.QuitFailed, refused.Error?.ErrorCode);
        Assert.Contains(refused.Warnings, w => w.Contains("committed none of the 2 deletion(s)", StringComparison.Ordinal) && w.Contains("Unable to commit", StringComparison.Ordinal));
        Assert.Equal(2, target.Server.GetMailbox(target.OAuthUser).Count);

        target.Server.Faults.RefuseQuit = false;
        FetchResult[] later = await FetchThriceAsync(h, account, sink);
        Assert.Equal((0, 2), (later[0].Delivered, later[0].Deleted));
        sink.AssertEachOnce(a, b);
        Assert.Equal(0, target.Server.GetMailbox(target.OAuthUser).Count);
    }

    [Fact]
    public async Task AGreetingOver64KiB_IsAProtocolViolation()
    {
        (TestServerTarget target, ScenarioHarness h) = await StartAsync();
        target.Server.Faults.GreetingPadding = 200 * 1024;

        Pop3ConnectionException ex = await Assert.ThrowsAsync<Pop3ConnectionException>(() => h.Client.FetchAsync(h.Account(), new ContentSink(), cancellationToken: Ct));

        Assert.Equal(SmartPopErrorCodes.ProtocolViolation, ex.ErrorCode);
        Assert.Contains("64 KiB", ex.Message, StringComparison.Ordinal);
    }

    // ---- 3. Bounded time (fake clock: CommandTimeout 5 s, FetchTimeout 20 s) ----
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ADripAtOneBytePerSecond_StopsAtFetchTimeout_ReportsNOfM_DeliveredNotFetchedAgain(bool leaveOnServer)
    {
        var clock = new ReadCountingClock(TimeSpan.FromSeconds(5));
        (TestServerTarget target, ScenarioHarness h) = await StartAsync(new SmartPopOptions { PipelineMessageMaxBytes = 0 }, clock);
        TestMessage a = Add(target, "Subject: a\n\n1\n");
        TestMessage drip = Add(target, "Subject: drip\n\n" + new string('d', 200) + "\n");
        target.Server.Faults.DripRetr(drip.Uid);
        var sink = new ContentSink();
        SmartPopAccount account = h.Account(x => { x.CommandTimeout = TimeSpan.FromSeconds(5); x.FetchTimeout = TimeSpan.FromSeconds(20); x.LeaveOnServer = leaveOnServer; });
        DateTimeOffset start = clock.GetUtcNow();

        Task<FetchResult> fetch = h.Client.FetchAsync(account, sink, cancellationToken: Ct);
        await target.Server.Faults.WaitForStallAsync(Ct);
        while (!fetch.IsCompleted && clock.GetUtcNow() - start < account.FetchTimeout)
        {
            int reads = clock.Reads;
            await target.Server.Faults.TickAsync(Ct).WaitAsync(Ct); // one byte ...
            await clock.WhenReadsExceedAsync(reads).WaitAsync(Ct); // (the client took it and waits for the next) ...
            clock.Advance(TimeSpan.FromSeconds(1)); // ... per second
        }

        FetchResult stopped = await fetch;
        Assert.True(clock.GetUtcNow() - start <= TimeSpan.FromSeconds(35), $"took {clock.GetUtcNow() - start}: delivered {stopped.Delivered}, error {stopped.Error?.Message}, failures {string.Join("; ", stopped.Failures.Select(f => f.Message))}");
        Assert.True(stopped.Error is not null, $"delivered {stopped.Delivered}, failures {string.Join("; ", stopped.Failures.Select(f => f.Message))}");
        Assert.Equal(SmartPopErrorCodes.FetchTimeout, stopped.Error?.ErrorCode);
        Assert.Contains("stopped at FetchTimeout", stopped.Error!.Message, StringComparison.Ordinal);
        Assert.Contains("1 of 2 delivered; the rest next time", stopped.Error.Message, StringComparison.Ordinal);
        Assert.Equal(leaveOnServer ? 0 : 1, stopped.Deleted); // committed on a short second connection

        target.Server.Faults.Reset();
        FetchResult next = await h.Client.FetchAsync(account, sink, cancellationToken: Ct);
        Assert.Equal(1, next.Delivered);
        sink.AssertEachOnce(a, drip);
    }

    [Fact]
    public async Task AStalledRetr_EndsAtTheCommandTimeout_TheOthersDeliveredInTheSameFetch()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        (TestServerTarget target, ScenarioHarness h) = await StartAsync(new SmartPopOptions { PipelineMessageMaxBytes = 0 }, clock);
        TestMessage a = Add(target, "Subject: a\n\n1\n");
        TestMessage stall = Add(target, "Subject: stall\n\n" + new string('s', 500) + "\n");
        TestMessage c = Add(target, "Subject: c\n\n3\n");
        target.Server.Faults.StallRetr(stall.Uid, afterBytes: 100);
        var sink = new ContentSink();
        SmartPopAccount account = h.Account(x => { x.CommandTimeout = TimeSpan.FromSeconds(5); x.FetchTimeout = TimeSpan.FromSeconds(20); });

        FetchResult result = await DriveClockAsync(h.Client.FetchAsync(account, sink, cancellationToken: Ct), target, clock);

        sink.AssertEachOnce(a, c);
        MessageFailure failure = Assert.Single(result.Failures);
        Assert.Equal((SmartPopErrorCodes.Timeout, stall.Uid), (failure.ErrorCode, failure.Uidl));
        Assert.Null(result.Error);
    }

    [Fact]
    public async Task AGreetingThatNeverComes_EndsAtTheCommandTimeout_AsATimeout()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        (TestServerTarget target, ScenarioHarness h) = await StartAsync(time: clock);
        target.Server.Faults.SuppressGreeting = true;
        SmartPopAccount account = h.Account(x => { x.CommandTimeout = TimeSpan.FromSeconds(5); x.FetchTimeout = TimeSpan.FromSeconds(20); });

        Task<FetchResult> fetch = h.Client.FetchAsync(account, new ContentSink(), cancellationToken: Ct);
        Pop3ConnectionException ex = await Assert.ThrowsAsync<Pop3ConnectionException>(() => DriveClockAsync(fetch, target, clock));

        Assert.Equal(SmartPopErrorCodes.Timeout, ex.ErrorCode);
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

    /// <summary>Once the server stalls, moves the fake clock a second at a time (the client's reads wait on it) until the fetch ends.</summary>
    private static async Task<FetchResult> DriveClockAsync(Task<FetchResult> fetch, TestServerTarget target, FakeTimeProvider clock)
    {
        await Task.WhenAny(fetch, target.Server.Faults.WaitForStallAsync(Ct)).WaitAsync(Ct);
        for (int i = 0; i < 120 && !fetch.IsCompleted; i++)
        {
            // Fixed delay kept on purpose (2 of the suite's 2): lets the client reach its next read before the clock moves
            // (a stalled read arms no new timer, so there is no signal to wait for).
            await Task.WhenAny(fetch, Task.Delay(25, Ct));
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        return await fetch;
    }

    private static async Task<FetchResult[]> FetchThriceAsync(ScenarioHarness h, SmartPopAccount account, IMessageSink sink)
    {
        var results = new FetchResult[3];
        for (int i = 0; i < 3; i++)
        {
            results[i] = await h.Client.FetchAsync(account, sink, cancellationToken: Ct);
        }

        return results;
    }

    private static TestMessage Add(TestServerTarget target, string content) => target.Server.GetMailbox(target.OAuthUser).Add(content);

    private async Task<(TestServerTarget Target, ScenarioHarness Harness)> StartAsync(SmartPopOptions? options = null, TimeProvider? time = null, IUidlStore? store = null)
    {
        TestServerTarget target = await TestServerTarget.StartAsync(o => o.Style = Pop3ServerStyle.Dovecot, Ct);
        _targets.Add(target);
        ScenarioHarness harness = await ScenarioHarness.AuthorizeAsync(target, options, time, store);
        _harnesses.Add(harness);
        return (target, harness);
    }

    /// <summary>A fake clock that counts the client's reads (each read starts a CommandTimeout timer): a signal that a byte was taken.</summary>
    private sealed class ReadCountingClock(TimeSpan commandTimeout) : FakeTimeProvider(DateTimeOffset.UtcNow)
    {
        private int _reads;
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Reads => Volatile.Read(ref _reads);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            ITimer timer = base.CreateTimer(callback, state, dueTime, period);
            if (dueTime == commandTimeout)
            {
                Interlocked.Increment(ref _reads);
                Interlocked.Exchange(ref _changed, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }

            return timer;
        }

        public async Task WhenReadsExceedAsync(int reads)
        {
            while (true)
            {
                Task changed = Volatile.Read(ref _changed).Task;
                if (Reads > reads)
                {
                    return;
                }

                await changed;
            }
        }
    }

    /// <summary>Keeps every delivered message's bytes.</summary>
    private sealed class ContentSink : IMessageSink
    {
        public List<(string Uidl, byte[] Bytes)> Delivered { get; } = [];

        public async Task DeliverAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default)
        {
            using var copy = new MemoryStream();
            await message.CopyToAsync(copy, cancellationToken);
            lock (Delivered)
            {
                Delivered.Add((metadata.Uidl, copy.ToArray()));
            }
        }

        /// <summary>Exactly these messages were delivered, each once, byte for byte (nothing lost, nothing duplicated).</summary>
        public void AssertEachOnce(params TestMessage[] expected)
        {
            var want = expected.Select(m => Convert.ToBase64String(m.GetClientBytes())).Order(StringComparer.Ordinal).ToList();
            var got = Delivered.Select(d => Convert.ToBase64String(d.Bytes)).Order(StringComparer.Ordinal).ToList();
            Assert.True(want.SequenceEqual(got), $"delivered {Delivered.Count}: {string.Join(" | ", Delivered.Select(d => Encoding.ASCII.GetString(d.Bytes).ReplaceLineEndings(" ")))}");
        }
    }
}
