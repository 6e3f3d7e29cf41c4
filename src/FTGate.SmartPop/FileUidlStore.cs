using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FTGate.SmartPop.Internal;

namespace FTGate.SmartPop;

/// <summary>
/// The embedded default <see cref="IUidlStore"/>: one small text file per account in a directory. New UIDLs are
/// appended and flushed to disk, one write and one flush per call. A torn last line after a crash is cut off on load, so at
/// worst the messages of the interrupted write are offered again, and the sink recognises them by UIDL. Pruning rewrites
/// the file atomically (write a temporary file, fsync, rename over the old one).
/// </summary>
/// <remarks>
/// Safe for concurrent use within one process. Two processes must not share a directory. Any UIDL is stored, whatever the
/// server sent: a UIDL of printable ASCII (RFC 1939) is written as is (<c>seconds uidl</c>); any other (spaces, control
/// characters, bytes above 0x7E, SmartPop's content keys) is written percent-escaped after a <c>%</c> instead of the space
/// (<c>seconds%escaped</c>), so a line never breaks and files written by older versions read the same.
/// </remarks>
public sealed class FileUidlStore : IUidlStore, IDisposable, IFailureLog
{
    private const string Header = "# FTGate SmartPop seen UIDLs v1: <first-seen unix seconds> <uidl>, or <seconds>%<percent-escaped uidl>";
    private readonly string _directory;
    private readonly ConcurrentDictionary<string, AccountFile> _files = new(StringComparer.Ordinal);

    /// <summary>Creates the store.</summary>
    /// <param name="directory">The folder for the files; created if missing.</param>
    public FileUidlStore(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _directory = Path.GetFullPath(directory);
        Directory.CreateDirectory(_directory);
    }

    /// <summary>The file that holds an account's UIDLs.</summary>
    /// <param name="accountName">The SmartPop account.</param>
    /// <returns>The full path.</returns>
    public string GetFilePath(string accountName)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        return Path.Combine(_directory, SafeFileName(accountName) + ".uidl");
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyDictionary<string, DateTimeOffset>> GetSeenAsync(string accountName, CancellationToken cancellationToken = default)
    {
        AccountFile file = await OpenAsync(accountName, cancellationToken).ConfigureAwait(false);
        await file.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return new Dictionary<string, DateTimeOffset>(file.Seen, StringComparer.Ordinal);
        }
        finally
        {
            file.Lock.Release();
        }
    }

    /// <inheritdoc/>
    public Task MarkSeenAsync(string accountName, string uidl, DateTimeOffset firstSeen, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(uidl);
        return MarkSeenAsync(accountName, [uidl], firstSeen, cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>All the new UIDLs are appended with one write and one flush to disk.</remarks>
    public async Task MarkSeenAsync(string accountName, IReadOnlyCollection<string> uidls, DateTimeOffset firstSeen, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uidls);
        foreach (string uidl in uidls)
        {
            ArgumentException.ThrowIfNullOrEmpty(uidl, nameof(uidls));
        }

        AccountFile file = await OpenAsync(accountName, cancellationToken).ConfigureAwait(false);
        await file.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            string seconds = firstSeen.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            var added = new List<string>(uidls.Count);
            var text = new StringBuilder();
            foreach (string uidl in uidls)
            {
                if (!file.Seen.ContainsKey(uidl) && !added.Contains(uidl, StringComparer.Ordinal))
                {
                    added.Add(uidl);
                    AppendLine(text, seconds, uidl);
                }
            }

            if (added.Count == 0)
            {
                return;
            }

            // One append handle per account for the store's lifetime (reopened after a prune replaced the file), and one
            // write + fsync per call: a committed batch of messages costs one flush, not one per UIDL.
            FileStream stream = file.Appender ??= new FileStream(file.Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 1, FileOptions.None);
            if (stream.Length == 0)
            {
                text.Insert(0, Header + "\n");
            }

            stream.Write(Encoding.ASCII.GetBytes(text.ToString()));
            stream.Flush(flushToDisk: true);
            foreach (string uidl in added)
            {
                file.Seen[uidl] = firstSeen;
            }
        }
        finally
        {
            file.Lock.Release();
        }
    }

    /// <inheritdoc/>
    public async Task<int> PruneAsync(string accountName, IReadOnlyCollection<string> onServer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(onServer);
        AccountFile file = await OpenAsync(accountName, cancellationToken).ConfigureAwait(false);
        await file.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var keep = onServer as ISet<string> ?? new HashSet<string>(onServer, StringComparer.Ordinal);
            List<string> gone = file.Seen.Keys.Where(u => !keep.Contains(u)).ToList();
            if (gone.Count == 0)
            {
                return 0;
            }

            foreach (string uidl in gone)
            {
                file.Seen.Remove(uidl);
            }

            await RewriteAsync(file, cancellationToken).ConfigureAwait(false);
            return gone.Count;
        }
        finally
        {
            file.Lock.Release();
        }
    }

    /// <summary>Releases the per-account locks.</summary>
    public void Dispose()
    {
        foreach (AccountFile file in _files.Values)
        {
            file.Appender?.Dispose();
            file.Lock.Dispose();
        }
    }

    private static async Task RewriteAsync(AccountFile file, CancellationToken cancellationToken)
    {
        var text = new StringBuilder(Header).Append('\n');
        foreach (KeyValuePair<string, DateTimeOffset> entry in file.Seen)
        {
            AppendLine(text, entry.Value.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), entry.Key);
        }

        string temp = file.Path + ".tmp";
        var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None);
        await using (stream.ConfigureAwait(false))
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(text.ToString()), cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        if (file.Appender is { } appender)
        {
            file.Appender = null;
            await appender.DisposeAsync().ConfigureAwait(false);
        }

        File.Move(temp, file.Path, overwrite: true);
        FTGate.OAuth.Internal.DirectorySync.Flush(Path.GetDirectoryName(file.Path)!); // a full file path always has a folder
    }

    private async Task<AccountFile> OpenAsync(string accountName, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        AccountFile file = _files.GetOrAdd(accountName, name => new AccountFile(GetFilePath(name)));
        if (file.Loaded)
        {
            return file;
        }

        await file.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!file.Loaded)
            {
                if (File.Exists(file.Path))
                {
                    string content = await File.ReadAllTextAsync(file.Path, Encoding.ASCII, cancellationToken).ConfigureAwait(false);
                    Parse(content, file.Seen);
                    if (content.Length > 0 && content[^1] != '\n')
                    {
                        // A torn last line (a crash during an append): cut it off before anything is appended, or the next
                        // line would complete it and a truncated UIDL would be read as seen.
                        TruncateTornLine(file.Path, content.LastIndexOf('\n') + 1);
                    }
                }

                file.Loaded = true;
            }
        }
        finally
        {
            file.Lock.Release();
        }

        return file;
    }

    private static void TruncateTornLine(string path, long length)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        stream.SetLength(length); // ASCII: one char per byte
        stream.Flush(flushToDisk: true);
    }

    private static void Parse(string content, Dictionary<string, DateTimeOffset> seen)
    {
        int start = 0;
        while (start < content.Length)
        {
            int end = content.IndexOf('\n', start);
            if (end < 0)
            {
                break; // torn last line (crash during append): ignored, that message is offered again
            }

            ReadOnlySpan<char> line = content.AsSpan(start, end - start);
            start = end + 1;
            if (line.IsEmpty || line[0] == '#')
            {
                continue;
            }

            int space = line.IndexOfAny(' ', '%');
            if (space > 0 && space < line.Length - 1
                && long.TryParse(line[..space], NumberStyles.Integer, CultureInfo.InvariantCulture, out long seconds))
            {
                string uidl = line[space] == '%' ? Unescape(line[(space + 1)..]) : line[(space + 1)..].ToString();
                seen.TryAdd(uidl, DateTimeOffset.FromUnixTimeSeconds(seconds));
            }
        }
    }

    /// <summary>One record: as is for an RFC 1939 UIDL, else percent-escaped after '%'.</summary>
    private static void AppendLine(StringBuilder text, string seconds, string uidl)
    {
        text.Append(seconds);
        if (uidl.All(c => c is >= '!' and <= '~'))
        {
            text.Append(' ').Append(uidl).Append('\n');
            return;
        }

        text.Append('%');
        foreach (char c in uidl)
        {
            if (c is >= '!' and <= '~' and not '%')
            {
                text.Append(c);
            }
            else
            {
                // Latin-1 chars (one per server byte) as %XX; anything wider (a host's own key) as %uXXXX.
                text.Append(c <= '\u00FF' ? $"%{(int)c:X2}" : $"%u{(int)c:X4}");
            }
        }

        text.Append('\n');
    }

    private static string Unescape(ReadOnlySpan<char> escaped)
    {
        var text = new StringBuilder(escaped.Length);
        for (int i = 0; i < escaped.Length; i++)
        {
            char c = escaped[i];
            if (c == '%' && i + 5 < escaped.Length && escaped[i + 1] == 'u'
                && int.TryParse(escaped.Slice(i + 2, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int wide))
            {
                text.Append((char)wide);
                i += 5;
            }
            else if (c == '%' && i + 2 < escaped.Length
                && int.TryParse(escaped.Slice(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int b))
            {
                text.Append((char)b);
                i += 2;
            }
            else
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// The messages of an account that failed in the latest fetches (SmartPop keeps their counts beside the UIDL file), most
    /// failed first. <see cref="MessageFailure.FailedFetches"/> of 3 or more means stuck (see <see cref="FetchResult.StuckMessages"/>).
    /// </summary>
    /// <param name="accountName">The SmartPop account.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The failing messages; empty when none.</returns>
    public async Task<IReadOnlyList<MessageFailure>> GetFailingMessagesAsync(string accountName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        return await FailureRecord.LoadAsync(this, accountName, cancellationToken).ConfigureAwait(false);
    }

    async Task<IReadOnlyDictionary<string, FailureRecord>> IFailureLog.LoadFailuresAsync(string accountName, CancellationToken cancellationToken)
    {
        string path = Path.ChangeExtension(GetFilePath(accountName), ".failures.json");
        if (!File.Exists(path))
        {
            return new Dictionary<string, FailureRecord>(StringComparer.Ordinal);
        }

        try
        {
            byte[] json = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            FailureRecord[] records = System.Text.Json.JsonSerializer.Deserialize<FailureRecord[]>(json) ?? [];
            return records.Where(r => r.Key is not null).GroupBy(r => r.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        }
        catch (System.Text.Json.JsonException)
        {
            return new Dictionary<string, FailureRecord>(StringComparer.Ordinal); // a torn file: the counts start again
        }
    }

    async Task IFailureLog.SaveFailuresAsync(string accountName, IReadOnlyCollection<FailureRecord> failures, CancellationToken cancellationToken)
    {
        string path = Path.ChangeExtension(GetFilePath(accountName), ".failures.json");
        if (failures.Count == 0)
        {
            if (File.Exists(path))
            {
                File.Delete(path);
            }

            return;
        }

        string temp = path + ".tmp";
        var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None);
        await using (stream.ConfigureAwait(false))
        {
            await System.Text.Json.JsonSerializer.SerializeAsync(stream, failures.ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    internal static string SafeFileName(string accountName)
    {
        var safe = new StringBuilder(accountName.Length);
        foreach (char c in accountName)
        {
            safe.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_');
        }

        if (safe.Length > 60)
        {
            safe.Length = 60;
        }

        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(accountName));
        return safe.Append('-').Append(Convert.ToHexString(hash, 0, 4).ToLowerInvariant()).ToString();
    }

    private sealed class AccountFile(string path)
    {
        public string Path { get; } = path;

        public SemaphoreSlim Lock { get; } = new(1, 1);

        public Dictionary<string, DateTimeOffset> Seen { get; } = new(StringComparer.Ordinal);

        /// <summary>The open append handle (used under <see cref="Lock"/>), or null until the first append after a load or prune.</summary>
        public FileStream? Appender { get; set; }

        public volatile bool Loaded;
    }
}
