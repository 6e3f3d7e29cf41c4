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
public sealed class MaildirMessageSink : IMessageSink
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

        return name.ToString();
    }

    /// <inheritdoc/>
    public async Task DeliverAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(metadata);
        MaildirState state = _maildirs.GetOrAdd(GetMaildir(metadata.AccountName), static dir => new MaildirState(dir));
        string tmp = state.Tmp;
        string cur = state.Cur;

        string fileName = GetFileName(metadata.AccountName, metadata.Uidl);
        string target = Path.Combine(state.New, fileName);
        if (AlreadyDelivered(target, state, fileName))
        {
            return;
        }

        string temp = Path.Combine(tmp, fileName + "." + Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant());
        try
        {
            var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                if (_options.LineEndings == MaildirLineEndings.Crlf)
                {
                    await message.CopyToAsync(file, BufferSize, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await CopyCrlfToLfAsync(message, file, cancellationToken).ConfigureAwait(false);
                }

                file.Flush(flushToDisk: true);
            }

            if (AlreadyDelivered(target, state, fileName))
            {
                File.Delete(temp);
                return;
            }

            File.Move(temp, target, overwrite: false);
            state.Delivered(fileName);
            FTGate.OAuth.Internal.DirectorySync.Flush(Path.GetDirectoryName(target)!);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
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

    private static async Task CopyCrlfToLfAsync(Stream source, Stream destination, CancellationToken cancellationToken)
    {
        byte[] input = ArrayPool<byte>.Shared.Rent(BufferSize);
        byte[] output = ArrayPool<byte>.Shared.Rent(BufferSize + 1);
        bool pendingCr = false;
        try
        {
            int read;
            while ((read = await source.ReadAsync(input.AsMemory(0, BufferSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                int o = 0;
                for (int i = 0; i < read; i++)
                {
                    byte b = input[i];
                    if (pendingCr)
                    {
                        pendingCr = false;
                        if (b != (byte)'\n')
                        {
                            output[o++] = (byte)'\r'; // a bare CR is kept
                        }
                    }

                    if (b == (byte)'\r')
                    {
                        pendingCr = true;
                    }
                    else
                    {
                        output[o++] = b;
                    }
                }

                await destination.WriteAsync(output.AsMemory(0, o), cancellationToken).ConfigureAwait(false);
            }

            if (pendingCr)
            {
                await destination.WriteAsync(new byte[] { (byte)'\r' }, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
            ArrayPool<byte>.Shared.Return(output);
        }
    }
}
