using System.Text;
using FTGate.Testing.Internal;

namespace FTGate.Testing;

/// <summary>A message in a <see cref="TestMailbox"/>.</summary>
public sealed class TestMessage
{
    private readonly byte[] _content;

    internal TestMessage(string uid, byte[] content)
    {
        Uid = uid;
        _content = content;
        Size = Pop3Wire.VirtualSize(content);
    }

    /// <summary>The unique id UIDL reports.</summary>
    public string Uid { get; }

    /// <summary>The message exactly as it was stored.</summary>
    public ReadOnlyMemory<byte> Content => _content;

    /// <summary>The size LIST and STAT report (the message with CRLF line ends).</summary>
    public long Size { get; }

    /// <summary>
    /// The bytes a client holds after RETR: the stored message with bare LFs turned into CRLF and, when the message does not end
    /// with a line break, one CRLF added (as Dovecot does). Compare a downloaded message with this, byte for byte.
    /// </summary>
    /// <returns>A new array.</returns>
    public byte[] GetClientBytes() => Pop3Wire.ToClientBytes(_content);
}

/// <summary>
/// One user's maildrop on a <see cref="TestPop3Server"/>. Thread-safe. A POP3 session sees the messages present when it logged in;
/// messages it deletes leave the mailbox only when the session ends with QUIT.
/// </summary>
public sealed class TestMailbox
{
    private readonly object _lock = new();
    private readonly List<TestMessage> _messages = [];
    private int _nextUid;

    internal TestMailbox(string userName) => UserName = userName;

    /// <summary>The mailbox's user name (the SASL user, compared case-insensitively).</summary>
    public string UserName { get; }

    /// <summary>The password for AUTH PLAIN and USER/PASS; <see langword="null"/> refuses password logins for this user.</summary>
    /// <value>Default <see langword="null"/>.</value>
    public string? Password { get; set; }

    /// <summary>The number of messages now in the mailbox.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _messages.Count;
            }
        }
    }

    /// <summary>A snapshot of the messages, oldest first.</summary>
    public IReadOnlyList<TestMessage> Messages
    {
        get
        {
            lock (_lock)
            {
                return [.. _messages];
            }
        }
    }

    /// <summary>Adds a message from its raw bytes (RFC 5322; LF or CRLF line ends).</summary>
    /// <param name="content">The message.</param>
    /// <param name="uid">The UIDL id: 1 to 70 printable ASCII characters, unique in the mailbox. Default: generated.</param>
    /// <returns>The stored message.</returns>
    /// <exception cref="ArgumentException">The uid is not a valid POP3 unique id, or is already used.</exception>
    public TestMessage Add(ReadOnlySpan<byte> content, string? uid = null)
    {
        lock (_lock)
        {
            uid ??= $"ftgate-{Interlocked.Increment(ref _nextUid):D6}";
            ValidateUid(uid);
            if (_messages.Exists(m => string.Equals(m.Uid, uid, StringComparison.Ordinal)))
            {
                throw new ArgumentException($"UID '{uid}' is already used in mailbox '{UserName}'.", nameof(uid));
            }

            var message = new TestMessage(uid, content.ToArray());
            _messages.Add(message);
            return message;
        }
    }

    /// <summary>Adds a message from text, encoded as UTF-8.</summary>
    /// <param name="content">The message.</param>
    /// <param name="uid">The UIDL id. Default: generated.</param>
    /// <returns>The stored message.</returns>
    public TestMessage Add(string content, string? uid = null)
    {
        ArgumentNullException.ThrowIfNull(content);
        return Add(Encoding.UTF8.GetBytes(content), uid);
    }

    /// <summary>Adds a message from an .eml file; its UID is the file name without extension.</summary>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The stored message.</returns>
    public async Task<TestMessage> AddFileAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        byte[] content = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        return Add(content, SanitizeUid(Path.GetFileNameWithoutExtension(path)));
    }

    /// <summary>Adds every file matching <paramref name="searchPattern"/> in a folder, in ordinal file-name order.</summary>
    /// <param name="directory">The folder.</param>
    /// <param name="searchPattern">The pattern. Default <c>*.eml</c>.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>The stored messages.</returns>
    public async Task<IReadOnlyList<TestMessage>> AddDirectoryAsync(string directory, string searchPattern = "*.eml", CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var added = new List<TestMessage>();
        foreach (string file in Directory.GetFiles(directory, searchPattern).Order(StringComparer.Ordinal))
        {
            added.Add(await AddFileAsync(file, cancellationToken).ConfigureAwait(false));
        }

        return added;
    }

    /// <summary>Removes a message by UID.</summary>
    /// <param name="uid">The UID.</param>
    /// <returns><see langword="true"/> when it was there.</returns>
    public bool Remove(string uid)
    {
        lock (_lock)
        {
            return _messages.RemoveAll(m => string.Equals(m.Uid, uid, StringComparison.Ordinal)) > 0;
        }
    }

    /// <summary>Removes every message.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _messages.Clear();
        }
    }

    internal int RemoveMessages(IEnumerable<TestMessage> messages)
    {
        var set = new HashSet<TestMessage>(messages);
        lock (_lock)
        {
            return _messages.RemoveAll(set.Contains);
        }
    }

    private static void ValidateUid(string uid)
    {
        if (uid.Length is < 1 or > 70 || uid.Any(c => c is < '!' or > '~'))
        {
            throw new ArgumentException($"'{uid}' is not a POP3 unique id (1 to 70 printable ASCII characters, no spaces).", nameof(uid));
        }
    }

    private static string SanitizeUid(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (char c in name)
        {
            builder.Append(c is < '!' or > '~' ? '_' : c);
        }

        string uid = builder.Length == 0 ? "message" : builder.ToString();
        return uid.Length > 70 ? uid[..70] : uid;
    }
}
