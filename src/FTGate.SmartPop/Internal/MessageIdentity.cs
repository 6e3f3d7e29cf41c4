using System.Globalization;
using System.Text;

namespace FTGate.SmartPop.Internal;

/// <summary>
/// How SmartPop tells messages apart when the server's UIDLs cannot (issue: duplicate UIDLs in one listing, empty UIDLs, a
/// server without UIDL). The rules, each in one place here:
/// <list type="bullet">
/// <item>A UIDL that is listed once and was never seen under a content key identifies its message: the key is the UIDL
/// itself, exactly as sent (every byte, spaces and control characters included; the stores escape what they must).</item>
/// <item>Otherwise the message is identified by its content: SmartPop retrieves it once without delivering it ("probe"),
/// and the key is <c>UIDL LF sha256-prefix</c> (plus <c>LF k</c> for the k-th byte-identical twin). LF cannot occur in a
/// UIDL, so a content key never equals a plain one. The delivery is checked against the probed digest.</item>
/// <item>Every delivered message also records its content key, so a UIDL that becomes duplicated later still tells the
/// delivered message from the new one.</item>
/// </list>
/// A message is deleted only by its own number in the session in which its own key was found seen or delivered.
/// </summary>
internal static class MessageIdentity
{
    /// <summary>Sizes above this are not believed (no POP3 message is a terabyte).</summary>
    public const long AbsurdSize = 1L << 40;

    /// <summary>The content key of a message.</summary>
    public static string ContentKey(string uidl, byte[] digest, int occurrence) =>
        uidl + "\n" + Convert.ToHexString(digest, 0, 16).ToLowerInvariant() + (occurrence > 0 ? "\n" + occurrence.ToString(CultureInfo.InvariantCulture) : string.Empty);

    /// <summary>The UIDL part of a store key.</summary>
    public static string UidlOf(string key)
    {
        int lf = key.IndexOf('\n', StringComparison.Ordinal);
        return lf < 0 ? key : key[..lf];
    }

    /// <summary>Whether a UIDL is what RFC 1939 allows: 1 to 70 characters 0x21 to 0x7E.</summary>
    public static bool IsRfcUidl(string uidl) => uidl.Length is >= 1 and <= 70 && uidl.All(c => c is >= '!' and <= '~');

    /// <summary>The id the sink gets (<see cref="MessageMetadata.Uidl"/>): the UIDL, or for a content key a readable unique form.</summary>
    public static string SinkId(string key)
    {
        int lf = key.IndexOf('\n', StringComparison.Ordinal);
        if (lf < 0)
        {
            return key;
        }

        string uidl = key[..lf];
        string content = key[(lf + 1)..].Replace('\n', '-');
        return uidl.Length == 0 ? "sha256-" + content : uidl + "#sha256-" + content;
    }

    /// <summary>
    /// Parses the raw LIST (and UIDL) listings into the messages that can be identified consistently; every inconsistency is
    /// described in <paramref name="problems"/> with the server's words. Never throws on what the server sent.
    /// </summary>
    public static List<ListedMessage> Parse(IReadOnlyList<string> list, IReadOnlyList<string>? uidl, int? statCount, List<string> problems)
    {
        var sizes = new SortedDictionary<int, long>();
        var numbers = new HashSet<int>();
        var bad = new List<string>();
        foreach (string line in list)
        {
            if (TryNumber(line, out int n, out string rest)
                && numbers.Add(n)
                && long.TryParse(rest.Trim(' '), NumberStyles.None, CultureInfo.InvariantCulture, out long size)
                && size <= AbsurdSize
                && (statCount is null || n <= statCount)
                && sizes.TryAdd(n, size))
            {
                continue;
            }

            bad.Add(line);
        }

        if (bad.Count > 0)
        {
            problems.Add($"the server's LIST has {bad.Count} line(s) SmartPop cannot use (a number out of range or repeated, or an impossible size), for example '{Shown(bad[0])}'; those messages are left on the server");
        }

        if (statCount is int count && count != list.Count)
        {
            problems.Add($"the server's STAT counts {count} message(s) but its LIST lists {list.Count}; only messages both agree on are collected");
        }

        Dictionary<int, string>? uids = null;
        if (uidl is not null)
        {
            uids = [];
            var badUidl = new List<string>();
            foreach (string line in uidl)
            {
                if (TryNumber(line, out int n, out string rest) && numbers.Contains(n) && uids.TryAdd(n, rest.TrimStart(' ')))
                {
                    continue; // (a UIDL for a message whose LIST line was unusable is simply not used)
                }

                badUidl.Add(line);
            }

            if (badUidl.Count > 0)
            {
                problems.Add($"the server's UIDL has {badUidl.Count} line(s) for no listed message or repeated, for example '{Shown(badUidl[0])}'");
            }

            int missing = sizes.Keys.Count(n => !uids.ContainsKey(n));
            if (missing > 0)
            {
                problems.Add($"the server's UIDL names {uids.Count} message(s) but its LIST {numbers.Count}; {missing} message(s) without a UIDL are left on the server");
            }
        }

        var messages = new List<ListedMessage>(sizes.Count);
        foreach ((int n, long size) in sizes)
        {
            if (uids is null)
            {
                messages.Add(new ListedMessage(n - 1, string.Empty, size));
            }
            else if (uids.TryGetValue(n, out string? id))
            {
                messages.Add(new ListedMessage(n - 1, id, size));
            }
        }

        return messages;
    }

    /// <summary>
    /// Gives every message whose UIDL identifies it its key, and returns the messages that must be identified by content
    /// (probed). <paramref name="warning"/> names the server's UIDL problem, once.
    /// </summary>
    public static List<ListedMessage> Classify(List<ListedMessage> messages, IReadOnlyDictionary<string, DateTimeOffset> seen, bool serverHasUidl, out string? warning)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (ListedMessage m in messages)
        {
            counts[m.Uidl] = counts.GetValueOrDefault(m.Uidl) + 1;
        }

        var contentSeen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string key in seen.Keys)
        {
            if (key.Contains('\n', StringComparison.Ordinal))
            {
                contentSeen.Add(UidlOf(key));
            }
        }

        var probe = new List<ListedMessage>();
        int duplicated = 0, empty = 0, irregular = 0;
        string? example = null;
        for (int i = 0; i < messages.Count; i++)
        {
            ListedMessage m = messages[i];
            bool unique = m.Uidl.Length > 0 && counts[m.Uidl] == 1;
            if (m.Uidl.Length == 0)
            {
                empty++;
            }
            else if (!unique)
            {
                duplicated++;
                example ??= m.Uidl;
            }
            else if (!IsRfcUidl(m.Uidl))
            {
                irregular++;
                example ??= m.Uidl;
            }

            if (unique && (seen.ContainsKey(m.Uidl) || !contentSeen.Contains(m.Uidl)))
            {
                messages[i] = m with { Key = m.Uidl, UniqueUidl = true };
            }
            else
            {
                messages[i] = m with { Key = null, UniqueUidl = unique };
                probe.Add(messages[i]);
            }
        }

        var problems = new List<string>();
        if (!serverHasUidl)
        {
            problems.Add("the server has no UIDL, so every message is identified by its content: each is retrieved once more to be identified (with LeaveOnServer, every poll)");
        }

        if (duplicated > 0)
        {
            problems.Add($"{duplicated} message(s) share a UIDL with another (for example '{Shown(example!)}'); they are identified by their content"); // example: set with the first one
        }

        if (empty > 0 && serverHasUidl)
        {
            problems.Add($"{empty} message(s) have an empty UIDL; they are identified by their content");
        }

        if (irregular > 0)
        {
            problems.Add($"{irregular} UIDL(s) break RFC 1939 (spaces, control characters, non-ASCII or more than 70 characters, for example '{Shown(example!)}'); they are used as sent"); // example: set with the first one
        }

        warning = problems.Count == 0 ? null : "The server's UIDLs are unreliable: " + string.Join("; ", problems) + ".";
        return probe;
    }

    /// <summary>Keys probed messages by content (UIDL + digest + occurrence among byte-identical twins of the same UIDL).</summary>
    public static void AssignContentKeys(List<ListedMessage> messages, IReadOnlyDictionary<int, byte[]> digests)
    {
        var occurrences = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < messages.Count; i++)
        {
            ListedMessage m = messages[i];
            if (m.Key is not null || !digests.TryGetValue(m.Index, out byte[]? digest))
            {
                continue;
            }

            string baseKey = ContentKey(m.Uidl, digest, 0);
            int k = occurrences.GetValueOrDefault(baseKey);
            occurrences[baseKey] = k + 1;
            messages[i] = m with { Key = ContentKey(m.Uidl, digest, k), Digest = digest };
        }
    }

    /// <summary>The keys to keep in the store: every listed UIDL, the content keys found, and (for UIDLs whose messages were not all probed) every content key of that UIDL.</summary>
    public static HashSet<string> StillOnServer(IReadOnlyList<ListedMessage> messages, IReadOnlyCollection<string> rawUidls, IReadOnlyDictionary<string, DateTimeOffset> seen)
    {
        var keep = new HashSet<string>(rawUidls, StringComparer.Ordinal);
        var unresolved = new HashSet<string>(StringComparer.Ordinal);
        foreach (ListedMessage m in messages)
        {
            if (m.Key is not null)
            {
                keep.Add(m.Key);
            }

            if (m.Key is null || m.UniqueUidl)
            {
                unresolved.Add(m.Uidl);
            }
        }

        foreach (string key in seen.Keys)
        {
            if (key.Contains('\n', StringComparison.Ordinal) && unresolved.Contains(UidlOf(key)))
            {
                keep.Add(key);
            }
        }

        return keep;
    }

    /// <summary>A UIDL (or any server text) made safe to show: control characters and non-ASCII as \xNN, long ones cut.</summary>
    public static string Shown(string text) => MailKitPop3Connection.Printable(text.Length > 80 ? text[..80] + "..." : text);

    private static bool TryNumber(string line, out int number, out string rest)
    {
        int space = line.IndexOf(' ', StringComparison.Ordinal);
        string head = space < 0 ? line : line[..space];
        rest = space < 0 ? string.Empty : line[(space + 1)..];
        return int.TryParse(head, NumberStyles.None, CultureInfo.InvariantCulture, out number) && number >= 1;
    }
}
