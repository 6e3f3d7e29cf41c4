using System.Text;

namespace FTGate.SmartPop.Tests.Unit;

/// <summary>
/// Group commit: a batching sink gets every message of a downloaded batch and one commit; the seen records follow in one
/// write; DELE only after both. A failed commit loses nothing.
/// </summary>
public sealed class GroupCommitTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    private static (FakePop3Connection Connection, FakeMailbox Mailbox) PipeliningMailbox(params string[] uidls)
    {
        var mailbox = new FakeMailbox();
        foreach (string uidl in uidls)
        {
            mailbox.Add(uidl, $"Subject: {uidl}\r\n\r\nbody of {uidl}\r\n");
        }

        var connection = new FakePop3Connection(mailbox);
        connection.Server = connection.Server with { SupportsPipelining = true };
        return (connection, mailbox);
    }

    [Fact]
    public async Task FetchAsync_BatchingSink_AddsTheBatch_CommitsOnce_RecordsSeenOnce_ThenDeletes()
    {
        (FakePop3Connection connection, FakeMailbox mailbox) = PipeliningMailbox("u1", "u2", "u3");
        var events = new List<string>();
        var sink = new RecordingBatchSink(events);
        var store = new RecordingUidlStore(events, () => string.Join(' ', connection.Journal));
        var (_, registry) = TestAccounts.Provider();
        SmartPopClient client = TestAccounts.Client(registry.Object, store, new FakeFactory(() => connection));

        FetchResult result = await client.FetchAsync(TestAccounts.OAuth(a => a.LeaveOnServer = false), sink, cancellationToken: TestContext.Current.CancellationToken);

        Assert.True(result.Completed);
        Assert.Equal(3, result.Delivered);
        Assert.Equal(3, result.Deleted);
        Assert.Equal(["begin acct", "add u1", "add u2", "add u3", "commit 3", "seen u1 u2 u3", "dispose"], events.Where(e => !e.StartsWith("journal", StringComparison.Ordinal)));
        Assert.DoesNotContain("DELE", Assert.Single(events, e => e.StartsWith("journal", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Contains("PIPELINE 1,2,3", connection.Journal);
        Assert.Empty(mailbox.Messages);
        Assert.Equal(["u1", "u2", "u3"], sink.Committed.Select(m => m.Uidl));
        Assert.Equal("Subject: u2\r\n\r\nbody of u2\r\n", sink.Committed[1].Body);
    }

    [Fact]
    public async Task FetchAsync_CommitFails_NothingIsSeenOrDeleted_AndEveryMessageIsAFailure()
    {
        (FakePop3Connection connection, FakeMailbox mailbox) = PipeliningMailbox("u1", "u2", "u3");
        var events = new List<string>();
        var sink = new RecordingBatchSink(events) { CommitFailure = new IOException("disk full") };
        var store = new InMemoryUidlStore();
        var (_, registry) = TestAccounts.Provider();
        SmartPopClient client = TestAccounts.Client(registry.Object, store, new FakeFactory(() => connection));

        FetchResult result = await client.FetchAsync(TestAccounts.OAuth(a => a.LeaveOnServer = false), sink, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(0, result.Delivered);
        Assert.Equal(0, result.Deleted);
        Assert.Equal(["u1", "u2", "u3"], result.Failures.Select(f => f.Uidl));
        Assert.All(result.Failures, f => Assert.Equal(SmartPopErrorCodes.DeliveryFailed, f.ErrorCode));
        Assert.All(result.Failures, f => Assert.Contains("disk full", f.Message, StringComparison.Ordinal));
        Assert.Empty(await store.GetSeenAsync("acct", TestContext.Current.CancellationToken));
        Assert.DoesNotContain(connection.Journal, j => j.StartsWith("DELE", StringComparison.Ordinal));
        Assert.Equal(3, mailbox.Messages.Count);
        Assert.Contains("dispose", events); // the uncommitted batch is released
    }

    [Fact]
    public async Task FetchAsync_OneAddFails_TheOthersAreCommittedSeenAndDeleted()
    {
        (FakePop3Connection connection, FakeMailbox mailbox) = PipeliningMailbox("u1", "u2", "u3");
        var sink = new RecordingBatchSink([]) { AddFailure = m => m.Uidl == "u2" ? new InvalidDataException("rejected by the host") : null };
        var store = new InMemoryUidlStore();
        var (_, registry) = TestAccounts.Provider();
        SmartPopClient client = TestAccounts.Client(registry.Object, store, new FakeFactory(() => connection));

        FetchResult result = await client.FetchAsync(TestAccounts.OAuth(a => a.LeaveOnServer = false), sink, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(2, result.Delivered);
        Assert.Equal("u2", Assert.Single(result.Failures).Uidl);
        Assert.Equal(["u1", "u3"], (await store.GetSeenAsync("acct", TestContext.Current.CancellationToken)).Keys.Where(k => !k.Contains('\n', StringComparison.Ordinal)).Order());
        Assert.Equal(["u2"], mailbox.Messages.Select(m => m.Uidl));
    }

    [Fact]
    public async Task MaildirBatch_FilesAppearInNewOnlyAtCommit_AndAnUncommittedBatchLeavesNothing()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sp-gc-" + Guid.NewGuid().ToString("N"));
        CancellationToken ct = TestContext.Current.CancellationToken;
        try
        {
            var sink = new MaildirMessageSink(dir);
            await using (IMessageSinkBatch batch = sink.BeginBatch("acct"))
            {
                await batch.AddAsync(new MemoryStream("a\r\n"u8.ToArray()), new MessageMetadata("acct", "u1", 3, T), ct);
                await batch.AddAsync(new MemoryStream("b\r\n"u8.ToArray()), new MessageMetadata("acct", "u2", 3, T), ct);
                await batch.AddAsync(new MemoryStream("b\r\n"u8.ToArray()), new MessageMetadata("acct", "u2", 3, T), ct); // same UIDL twice: one file
                Assert.Empty(Directory.GetFiles(Path.Combine(dir, "new")));
                Assert.Equal(2, Directory.GetFiles(Path.Combine(dir, "tmp")).Length);
                await batch.CommitAsync(ct);
            }

            Assert.Equal(
                [MaildirMessageSink.GetFileName("acct", "u1"), MaildirMessageSink.GetFileName("acct", "u2")],
                Directory.GetFiles(Path.Combine(dir, "new")).Select(Path.GetFileName).Order());
            Assert.Equal("b\n", await File.ReadAllTextAsync(Path.Combine(dir, "new", MaildirMessageSink.GetFileName("acct", "u2")), ct));
            Assert.Empty(Directory.GetFiles(Path.Combine(dir, "tmp")));

            await using (IMessageSinkBatch batch = sink.BeginBatch("acct"))
            {
                await batch.AddAsync(new MemoryStream("c\r\n"u8.ToArray()), new MessageMetadata("acct", "u3", 3, T), ct);
                await batch.AddAsync(new MemoryStream("a\r\n"u8.ToArray()), new MessageMetadata("acct", "u1", 3, T), ct); // already delivered
                Assert.Single(Directory.GetFiles(Path.Combine(dir, "tmp")));
            }

            // Disposed without a commit (a failure or shutdown before the commit): tmp/ is clean, u3 was not delivered.
            Assert.Empty(Directory.GetFiles(Path.Combine(dir, "tmp")));
            Assert.Equal(2, Directory.GetFiles(Path.Combine(dir, "new")).Length);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task MaildirBatch_CommitFails_Throws_AndDisposeLeavesTmpClean()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sp-gc-" + Guid.NewGuid().ToString("N"));
        CancellationToken ct = TestContext.Current.CancellationToken;
        try
        {
            var sink = new MaildirMessageSink(dir);
            IMessageSinkBatch batch = sink.BeginBatch("acct");
            await using (batch)
            {
                await batch.AddAsync(new MemoryStream("a\r\n"u8.ToArray()), new MessageMetadata("acct", "u1", 3, T), ct);
                await batch.AddAsync(new MemoryStream("b\r\n"u8.ToArray()), new MessageMetadata("acct", "u2", 3, T), ct);

                // new/ is gone and a file stands in its place (works as root too, unlike taking permissions away).
                Directory.Delete(Path.Combine(dir, "new"));
                await File.WriteAllTextAsync(Path.Combine(dir, "new"), "not a folder", ct);
                await Assert.ThrowsAnyAsync<IOException>(() => batch.CommitAsync(ct));
            }

            Assert.Empty(Directory.GetFiles(Path.Combine(dir, "tmp")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task MaildirBatch_OtherAccountsMessage_IsRefusedWithBothNames()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sp-gc-" + Guid.NewGuid().ToString("N"));
        try
        {
            var sink = new MaildirMessageSink(dir);
            await using IMessageSinkBatch batch = sink.BeginBatch("acct");
            ArgumentException ex = await Assert.ThrowsAsync<ArgumentException>(() => batch.AddAsync(new MemoryStream([1]), new MessageMetadata("other", "u1", 1, T), TestContext.Current.CancellationToken));
            Assert.Contains("'acct'", ex.Message, StringComparison.Ordinal);
            Assert.Contains("'other'", ex.Message, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(Path.Combine(dir, "tmp")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData(MaildirLineEndings.Lf, "a\nb\rc\n\nend\r")]
    [InlineData(MaildirLineEndings.Crlf, "a\r\nb\rc\r\n\r\nend\r")]
    public async Task DeliverAsync_NonSeekableSourceReadInSmallPieces_IsCopiedExactly(MaildirLineEndings endings, string expected)
    {
        string dir = Path.Combine(Path.GetTempPath(), "sp-gc-" + Guid.NewGuid().ToString("N"));
        try
        {
            var sink = new MaildirMessageSink(new MaildirMessageSinkOptions { Directory = dir, LineEndings = endings });
            using var source = new TrickleStream("a\r\nb\rc\r\n\r\nend\r"u8.ToArray());
            await sink.DeliverAsync(source, new MessageMetadata("acct", "u1", 15, T), TestContext.Current.CancellationToken);

            Assert.Equal(expected, await File.ReadAllTextAsync(Assert.Single(Directory.GetFiles(Path.Combine(dir, "new"))), TestContext.Current.CancellationToken));
            Assert.True(source.ReadAsynchronously);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>A network-like stream: not seekable, returns at most 2 bytes per read, records how it was read.</summary>
    private sealed class TrickleStream(byte[] data) : Stream
    {
        private int _position;

        public bool ReadAsynchronously { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new InvalidOperationException("A non-seekable source is read asynchronously.");

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ReadAsynchronously = true;
            int n = Math.Min(Math.Min(2, buffer.Length), data.Length - _position);
            data.AsSpan(_position, n).CopyTo(buffer.Span);
            _position += n;
            return ValueTask.FromResult(n);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public void CrlfToLf_AnyChunking_GivesTheSameBytesAsTheByteByByteRule()
    {
        var random = new Random(7);
        byte[] alphabet = "\r\n.ab\r\r\n"u8.ToArray();
        for (int round = 0; round < 300; round++)
        {
            byte[] input = new byte[random.Next(0, 64)];
            for (int i = 0; i < input.Length; i++)
            {
                input[i] = alphabet[random.Next(alphabet.Length)];
            }

            byte[] expected = Reference(input);
            var output = new List<byte>();
            bool pendingCr = false;
            int at = 0;
            while (at < input.Length)
            {
                int length = Math.Min(random.Next(1, 6), input.Length - at);
                byte[] chunk = new byte[length + 1];
                int written = MaildirMessageSink.CrlfToLf(input.AsSpan(at, length), chunk, ref pendingCr);
                output.AddRange(chunk.AsSpan(0, written).ToArray());
                at += length;
            }

            if (pendingCr)
            {
                output.Add((byte)'\r');
            }

            Assert.Equal(Encoding.Latin1.GetString(expected), Encoding.Latin1.GetString(output.ToArray()));
        }

        // CR LF pairs become LF; bare CRs (also CR CR LF's first) stay.
        static byte[] Reference(byte[] input)
        {
            var result = new List<byte>();
            for (int i = 0; i < input.Length; i++)
            {
                if (input[i] == (byte)'\r' && i + 1 < input.Length && input[i + 1] == (byte)'\n')
                {
                    continue;
                }

                result.Add(input[i]);
            }

            return [.. result];
        }
    }

    [Fact]
    public async Task FileUidlStore_MarkSeenMany_OneAppend_KeepsFirstSeen_AndStoresAnyUidlEscaped()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sp-uidl-" + Guid.NewGuid().ToString("N"));
        CancellationToken ct = TestContext.Current.CancellationToken;
        try
        {
            using (var store = new FileUidlStore(dir))
            {
                await store.MarkSeenAsync("acct", "u1", T, ct);
                await store.MarkSeenAsync("acct", ["u1", "u2", "u3", "u2"], T.AddDays(1), ct);
                await store.MarkSeenAsync("acct", ["u4", "bad uidl", "ctl\u0001\r%x\u00ff", "key\nwith-lf"], T, ct);
                string[] lines = (await File.ReadAllLinesAsync(store.GetFilePath("acct"), ct)).Where(l => !l.StartsWith('#')).ToArray();
                Assert.Equal(7, lines.Length);
                Assert.All(lines, l => Assert.True(l.All(c => c is >= ' ' and <= '~'), l));
            }

            using (var store = new FileUidlStore(dir))
            {
                IReadOnlyDictionary<string, DateTimeOffset> seen = await store.GetSeenAsync("acct", ct);
                Assert.Equal(["bad uidl", "ctl\u0001\r%x\u00ff", "key\nwith-lf", "u1", "u2", "u3", "u4"], seen.Keys.Order(StringComparer.Ordinal));
                Assert.Equal(T, seen["u1"]);
                Assert.Equal(T.AddDays(1), seen["u3"]);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private sealed class RecordingBatchSink(List<string> events) : IBatchingMessageSink
    {
        public List<(string Uidl, string Body)> Committed { get; } = [];

        public Exception? CommitFailure { get; init; }

        public Func<MessageMetadata, Exception?>? AddFailure { get; init; }

        public Task DeliverAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("SmartPop must use the batch of a batching sink.");

        public IMessageSinkBatch BeginBatch(string accountName)
        {
            events.Add("begin " + accountName);
            return new Batch(this, events);
        }

        private sealed class Batch(RecordingBatchSink sink, List<string> events) : IMessageSinkBatch
        {
            private readonly List<(string Uidl, string Body)> _added = [];

            public async Task AddAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default)
            {
                if (sink.AddFailure?.Invoke(metadata) is { } failure)
                {
                    throw failure;
                }

                using var reader = new StreamReader(message, Encoding.ASCII, leaveOpen: true);
                _added.Add((metadata.Uidl, await reader.ReadToEndAsync(cancellationToken)));
                events.Add("add " + metadata.Uidl);
            }

            public Task CommitAsync(CancellationToken cancellationToken = default)
            {
                if (sink.CommitFailure is { } failure)
                {
                    throw failure;
                }

                events.Add("commit " + _added.Count);
                sink.Committed.AddRange(_added);
                _added.Clear();
                return Task.CompletedTask;
            }

            public ValueTask DisposeAsync()
            {
                events.Add("dispose");
                return ValueTask.CompletedTask;
            }
        }
    }

    private sealed class RecordingUidlStore(List<string> events, Func<string> journal) : IUidlStore
    {
        private readonly InMemoryUidlStore _inner = new();

        public Task<IReadOnlyDictionary<string, DateTimeOffset>> GetSeenAsync(string accountName, CancellationToken cancellationToken = default) =>
            _inner.GetSeenAsync(accountName, cancellationToken);

        public Task MarkSeenAsync(string accountName, string uidl, DateTimeOffset firstSeen, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("SmartPop must record a batch with one call.");

        public Task MarkSeenAsync(string accountName, IReadOnlyCollection<string> uidls, DateTimeOffset firstSeen, CancellationToken cancellationToken = default)
        {
            events.Add("seen " + string.Join(' ', uidls.Where(u => !u.Contains('\n', StringComparison.Ordinal))));
            events.Add("journal " + journal());
            return _inner.MarkSeenAsync(accountName, uidls, firstSeen, cancellationToken);
        }

        public Task<int> PruneAsync(string accountName, IReadOnlyCollection<string> onServer, CancellationToken cancellationToken = default) =>
            _inner.PruneAsync(accountName, onServer, cancellationToken);
    }
}
