using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace FTGate.SmartPop;

/// <summary>How <see cref="MaildirMessageSink"/> writes line ends.</summary>
public enum MaildirLineEndings
{
    /// <summary>
    /// LF, as Maildir tools (Dovecot, mutt, Courier) expect: every CRLF pair becomes LF; every other byte (bare CR, 8-bit
    /// bytes, NUL, very long lines, a missing final newline) is written unchanged. The default.
    /// </summary>
    Lf = 0,

    /// <summary>The bytes exactly as the server sent them after dot-unstuffing (CRLF line ends).</summary>
    Crlf = 1,
}

/// <summary>Options of <see cref="MaildirMessageSink"/>.</summary>
public sealed class MaildirMessageSinkOptions
{
    /// <summary>The Maildir (or, with <see cref="FolderPerAccount"/>, the folder holding one Maildir per account). Created if missing.</summary>
    public string Directory { get; set; } = string.Empty;

    /// <summary>Gives each account its own Maildir under <see cref="Directory"/> (named after the account).</summary>
    /// <value>Default <see langword="false"/>: all accounts deliver into one Maildir.</value>
    public bool FolderPerAccount { get; set; }

    /// <summary>How line ends are written.</summary>
    /// <value>Default <see cref="MaildirLineEndings.Lf"/>.</value>
    public MaildirLineEndings LineEndings { get; set; } = MaildirLineEndings.Lf;
}

/// <summary>
/// The embedded default <see cref="IMessageSink"/>: writes each message into a Maildir. The file is written under
/// <c>tmp/</c>, flushed to disk (fsync), then renamed into <c>new/</c>, so a reader never sees a partial message and a
/// crash leaves at most a stray file in <c>tmp/</c>. The file name is derived from the account and the UIDL
/// (<c>ftgate-&lt;account&gt;-&lt;hash&gt;.&lt;uidl&gt;</c>), so delivering the same message twice leaves one file: a
/// redelivery is recognised (also after a mail reader has moved it to <c>cur/</c>) and dropped.
/// </summary>
public sealed class MaildirMessageSink : IBatchingMessageSink
{
    private const int BufferSize = 128 * 1024;
    private readonly MaildirMessageSinkOptions _options;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, MaildirState> _maildirs = new(StringComparer.Ordinal);

    /// <summary>Creates the sink.</summary>
    /// <param name="options">The Maildir location and line-end form.</param>
    public MaildirMessageSink(MaildirMessageSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Directory, nameof(options) + "." + nameof(options.Directory));
        _options = options;
    }

    /// <summary>Creates a sink that delivers into one Maildir with LF line ends.</summary>
    /// <param name="directory">The Maildir.</param>
    public MaildirMessageSink(string directory)
        : this(new MaildirMessageSinkOptions { Directory = directory })
    {
    }

    /// <summary>The Maildir an account's messages go to.</summary>
    /// <param name="accountName">The SmartPop account.</param>
    /// <returns>The Maildir's path (holding tmp/, new/ and cur/).</returns>
    public string GetMaildir(string accountName) =>
        _options.FolderPerAccount ? Path.Combine(_options.Directory, FileUidlStore.SafeFileName(accountName)) : _options.Directory;

    /// <summary>The file name a message gets in <c>new/</c> (before any flags a mail reader adds).</summary>
    /// <param name="accountName">The SmartPop account.</param>
    /// <param name="uidl">The message's UIDL.</param>
    /// <returns>The file name.</returns>
    public static string GetFileName(string accountName, string uidl)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        ArgumentException.ThrowIfNullOrEmpty(uidl);
        var name = new StringBuilder("ftgate-").Append(FileUidlStore.SafeFileName(accountName)).Append('.');
        foreach (char c in uidl)
        {
            // Maildir reserves ':' (flags) and '/' (path); keep a readable, reversible form.
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '=' or '+')
            {
                name.Append(c);
            }
            else
            {
                name.Append('%').Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        if (name.Length > MaxFileName)
        {
            // A very long UIDL (servers send 1,000+ characters): a readable head and a hash of the whole, so the name stays
            // unique, stable for redelivery checks, and within the file system's 255-byte limit.
            string hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(uidl)), 0, 16).ToLowerInvariant();
            name.Length = MaxFileName - hash.Length - 1;
            name.Append('~').Append(hash);
        }

        return name.ToString();
    }

    /// <summary>The longest file name (before the ':' flags a mail reader adds), well within the usual 255-byte limit.</summary>
    private const int MaxFileName = 200;

    /// <inheritdoc/>
    /// <remarks>The same as a batch of one message: written under <c>tmp/</c>, flushed, renamed into <c>new/</c>, folder flushed.</remarks>
    public async Task DeliverAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(metadata);
        Batch batch = new(this, metadata.AccountName);
        await using (batch.ConfigureAwait(false))
        {
            await batch.AddAsync(message, metadata, cancellationToken).ConfigureAwait(false);
            await batch.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Each added message is written under <c>tmp/</c>. The commit flushes the batch's files side by side, renames them into
    /// <c>new/</c> and flushes <c>new/</c> once, so a batch of n messages costs n file flushes that overlap and one folder
    /// flush instead of n of each. Disposing a batch without a commit removes its files from <c>tmp/</c>.
    /// </remarks>
    public IMessageSinkBatch BeginBatch(string accountName)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        return new Batch(this, accountName);
    }

    /// <summary>One account's messages written to <c>tmp/</c> and not yet committed.</summary>
    private sealed class Batch(MaildirMessageSink sink, string accountName) : IMessageSinkBatch
    {
        private readonly MaildirState _state = sink._maildirs.GetOrAdd(sink.GetMaildir(accountName), static dir => new MaildirState(dir));
        private readonly List<Staged> _staged = [];

        public async Task AddAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(message);
            ArgumentNullException.ThrowIfNull(metadata);
            if (!string.Equals(metadata.AccountName, accountName, StringComparison.Ordinal))
            {
                throw new ArgumentException($"The batch holds messages of account '{accountName}', not '{metadata.AccountName}'. Start one batch per account.", nameof(metadata));
            }

            string fileName = GetFileName(metadata.AccountName, metadata.Uidl);
            string target = Path.Combine(_state.New, fileName);
            if (AlreadyDelivered(target, _state, fileName) || _staged.Exists(s => s.FileName == fileName))
            {
                return; // a redelivery: the Maildir has it already
            }

            string temp = Path.Combine(_state.Tmp, fileName + "." + Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant());
            var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None);
            try
            {
                await CopyAsync(message, file, sink._options.LineEndings == MaildirLineEndings.Lf, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await file.DisposeAsync().ConfigureAwait(false);
                TryDelete(temp);
                throw;
            }

            _staged.Add(new Staged(file, temp, target, fileName));
        }

        public Task CommitAsync(CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_staged.Count == 0)
            {
                return Task.CompletedTask;
            }

            // The files' flushes run side by side (the device sees them together); then each is renamed into new/ and the
            // folder is flushed once, which makes all the renames durable.
            if (_staged.Count == 1)
            {
                _staged[0].File.Flush(flushToDisk: true);
            }
            else
            {
                Parallel.ForEach(_staged, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(_staged.Count, 8) }, static s => s.File.Flush(flushToDisk: true));
            }

            bool renamed = false;
            foreach (Staged s in _staged)
            {
                // A failure here leaves the rest to DisposeAsync (their files are removed from tmp/); the renamed ones are
                // in new/ and a redelivery of them is recognised.
                s.File.Dispose();
                try
                {
                    File.Move(s.Temp, s.Target, overwrite: false);
                    renamed = true;
                }
                catch (IOException) when (File.Exists(s.Target))
                {
                    TryDelete(s.Temp); // delivered meanwhile by another fetch of the same account: keep the first
                }

                _state.Delivered(s.FileName);
            }

            _staged.Clear();
            if (renamed)
            {
                _state.FlushNew();
            }

            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            foreach (Staged s in _staged)
            {
                s.File.Dispose();
                TryDelete(s.Temp);
            }

            _staged.Clear();
            return ValueTask.CompletedTask;
        }

        private sealed record Staged(FileStream File, string Temp, string Target, string FileName);
    }

    private static bool AlreadyDelivered(string target, MaildirState state, string fileName) =>
        File.Exists(target)
        || File.Exists(Path.Combine(state.Cur, fileName))
        || state.IsKnownInCur(fileName);

    /// <summary>
    /// One Maildir's folders, created once, and the base names (before ':' flags) that are or may end up in <c>cur/</c>:
    /// a snapshot of <c>cur/</c> taken once (after a restart it holds everything delivered before), plus every name this sink
    /// delivered since (a mail reader may move it from new/ to cur/ and add flags). Scanning <c>cur/</c> on every delivery
    /// would make each delivery cost O(mailbox size). The seen-UIDL store remains the first guard against redelivery.
    /// </summary>
    private sealed class MaildirState
    {
        private readonly HashSet<string> _inCur;
        private readonly FTGate.OAuth.Internal.DirectorySync.Handle? _newDirectory;

        public MaildirState(string maildir)
        {
            Tmp = Path.Combine(maildir, "tmp");
            New = Path.Combine(maildir, "new");
            Cur = Path.Combine(maildir, "cur");
            Directory.CreateDirectory(Tmp);
            Directory.CreateDirectory(New);
            Directory.CreateDirectory(Cur);
            _newDirectory = FTGate.OAuth.Internal.DirectorySync.OpenHandle(New);
            _inCur = new HashSet<string>(
                Directory.EnumerateFiles(Cur).Select(f => Path.GetFileName(f).Split(':')[0]),
                StringComparer.Ordinal);
        }

        public string Tmp { get; }

        public string New { get; }

        public string Cur { get; }

        public bool IsKnownInCur(string fileName)
        {
            lock (_inCur)
            {
                return _inCur.Contains(fileName) && Directory.EnumerateFiles(Cur, fileName + ":*").Any();
            }
        }

        /// <summary>Makes the rename into new/ durable (the directory handle stays open for the sink's lifetime).</summary>
        public void FlushNew()
        {
            if (_newDirectory is null)
            {
                FTGate.OAuth.Internal.DirectorySync.Flush(New);
            }
            else
            {
                _newDirectory.Flush();
            }
        }

        public void Delivered(string fileName)
        {
            lock (_inCur)
            {
                _inCur.Add(fileName);
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>
    /// Copies a message into the file, converting CRLF to LF when <paramref name="lf"/>. SmartPop hands over messages that
    /// are already in memory (seekable): they are read synchronously. The file is always written synchronously: a write
    /// into the page cache takes microseconds, and an asynchronous file write on Linux is a thread-pool hop per call.
    /// </summary>
    private static async Task CopyAsync(Stream source, Stream destination, bool lf, CancellationToken cancellationToken)
    {
        bool synchronous = source.CanSeek;
        byte[] input = ArrayPool<byte>.Shared.Rent(BufferSize);
        byte[] output = lf ? ArrayPool<byte>.Shared.Rent(BufferSize + 1) : input;
        bool pendingCr = false;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int read = synchronous
                    ? source.Read(input, 0, BufferSize)
                    : await source.ReadAsync(input.AsMemory(0, BufferSize), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                destination.Write(output, 0, lf ? CrlfToLf(input.AsSpan(0, read), output, ref pendingCr) : read);
            }

            if (pendingCr)
            {
                destination.WriteByte((byte)'\r');
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
            if (lf)
            {
                ArrayPool<byte>.Shared.Return(output);
            }
        }
    }

    /// <summary>
    /// Converts one chunk: every CR LF becomes LF, every other byte (a bare CR too) is kept. A CR at the end of the chunk is
    /// held back in <paramref name="pendingCr"/> until the next byte is known. <paramref name="output"/> holds at least
    /// <c>input.Length + 1</c> bytes. The search for CR is vectorised (IndexOf), the runs between are block copies.
    /// </summary>
    internal static int CrlfToLf(ReadOnlySpan<byte> input, Span<byte> output, ref bool pendingCr)
    {
        int o = 0;
        if (pendingCr && !input.IsEmpty)
        {
            pendingCr = false;
            if (input[0] != (byte)'\n')
            {
                output[o++] = (byte)'\r'; // a bare CR is kept
            }
        }

        while (!input.IsEmpty)
        {
            int cr = input.IndexOf((byte)'\r');
            if (cr < 0)
            {
                input.CopyTo(output[o..]);
                return o + input.Length;
            }

            input[..cr].CopyTo(output[o..]);
            o += cr;
            if (cr + 1 == input.Length)
            {
                pendingCr = true;
                return o;
            }

            if (input[cr + 1] != (byte)'\n')
            {
                output[o++] = (byte)'\r'; // a bare CR is kept
            }

            input = input[(cr + 1)..];
        }

        return o;
    }
}
