using System.Text;
using FTGate.OAuth;
using FTGate.SmartPop.Internal;

namespace FTGate.SmartPop.Tests.Unit;

/// <summary>A scripted POP3 session: a mailbox of (uidl, bytes) plus a journal of every command.</summary>
internal sealed class FakePop3Connection : IPop3Connection
{
    private readonly FakeMailbox _mailbox;

    public FakePop3Connection(FakeMailbox mailbox, bool encrypted = true)
    {
        _mailbox = mailbox;
        IsEncrypted = encrypted;
    }

    public List<string> Journal { get; } = [];

    public Func<string, Exception?>? AuthFailure { get; set; }

    public Func<int, Exception?>? RetrieveFailure { get; set; }

    public HashSet<int> Deleted { get; } = [];

    public Pop3ServerInfo Server { get; set; } = new(new HashSet<string>(["XOAUTH2", "OAUTHBEARER", "PLAIN"], StringComparer.OrdinalIgnoreCase), true, false, true, true, false, "fake", 0, null);

    public bool IsEncrypted { get; }

    public bool Quit { get; private set; }

    public Task<Pop3ConnectInfo> ConnectAsync(CancellationToken cancellationToken)
    {
        Journal.Add("CONNECT");
        return Task.FromResult(new Pop3ConnectInfo("127.0.0.1:995", TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(2), IsEncrypted, "Tls13", "CN=fake", "CN=fake ca", DateTimeOffset.UnixEpoch));
    }

    public Task AuthenticateOAuthAsync(SaslMechanismKind mechanism, string userName, string accessToken, CancellationToken cancellationToken)
    {
        Journal.Add($"AUTH {mechanism} {userName} {accessToken}");
        return AuthFailure?.Invoke(accessToken) is { } ex ? Task.FromException(ex) : Task.CompletedTask;
    }

    public Task AuthenticatePasswordAsync(string userName, string password, CancellationToken cancellationToken)
    {
        Journal.Add($"PASS {userName}");
        return AuthFailure?.Invoke(password) is { } ex ? Task.FromException(ex) : Task.CompletedTask;
    }

    public int? StatCount { get; set; }

    public Task<(int Count, long Size)> StatAsync(CancellationToken cancellationToken) =>
        Task.FromResult((StatCount ?? _mailbox.Messages.Count, _mailbox.Messages.Sum(m => (long)m.Body.Length)));

    /// <summary>Replaces the UIDL listing's lines (hostile listings); null lines = "-ERR" (no UIDL).</summary>
    public Func<IReadOnlyList<string>?>? UidlLines { get; set; }

    /// <summary>Replaces the LIST listing's lines.</summary>
    public Func<IReadOnlyList<string>>? ListLines { get; set; }

    public Func<Exception?>? QuitFailure { get; set; }

    public Task<IReadOnlyList<string>> ListRawAsync(string command, CancellationToken cancellationToken)
    {
        Journal.Add(command);
        if (command == "UIDL")
        {
            IReadOnlyList<string>? lines = UidlLines is null ? _mailbox.Messages.Select((m, i) => $"{i + 1} {m.Uidl}").ToList() : UidlLines();
            return lines is null
                ? Task.FromException<IReadOnlyList<string>>(new Pop3CommandException(SmartPopErrorCodes.UidlNotSupported, "no UIDL", command: "UIDL", serverReply: "-ERR Unknown command: UIDL"))
                : Task.FromResult(lines);
        }

        return Task.FromResult(ListLines?.Invoke() ?? _mailbox.Messages.Select((m, i) => $"{i + 1} {m.ListSize ?? m.Body.Length}").ToList());
    }

    public Task SendRetrAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
    {
        Journal.Add(indexes.Count == 1 ? $"RETR {indexes[0] + 1}" : "PIPELINE " + string.Join(',', indexes.Select(i => i + 1)));
        return Task.CompletedTask;
    }

    public Task<RetrStream> ReadRetrAsync(int index, long maxBytes, CancellationToken cancellationToken)
    {
        if (RetrieveFailure?.Invoke(index) is { } ex)
        {
            return Task.FromException<RetrStream>(ex);
        }

        return Task.FromResult(new RetrStream(new Pop3Reader(new MemoryStream(Wire(_mailbox.Messages[index].Body))), maxBytes, cancellationToken));
    }

    /// <summary>The RETR body on the wire: CRLF-terminated, dot-stuffed, with the terminating dot line.</summary>
    public static byte[] Wire(byte[] body)
    {
        var wire = new List<byte>(body.Length + 8);
        bool lineStart = true;
        foreach (byte b in body)
        {
            if (lineStart && b == (byte)'.')
            {
                wire.Add((byte)'.');
            }

            wire.Add(b);
            lineStart = b == (byte)'\n';
        }

        if (!lineStart)
        {
            wire.AddRange("\r\n"u8.ToArray());
        }

        wire.AddRange(".\r\n"u8.ToArray());
        return [.. wire];
    }

    public Task DeleteAsync(int index, CancellationToken cancellationToken)
    {
        Journal.Add($"DELE {index + 1}");
        Deleted.Add(index);
        return Task.CompletedTask;
    }

    public Task QuitAsync(CancellationToken cancellationToken)
    {
        Journal.Add("QUIT");
        if (QuitFailure?.Invoke() is { } failure)
        {
            return Task.FromException(failure);
        }

        Quit = true;
        _mailbox.Commit(Deleted);
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Journal.Add("DISPOSE");
        return ValueTask.CompletedTask;
    }
}

internal sealed record FakeMessage(string Uidl, byte[] Body, long? ListSize = null);

internal sealed class FakeMailbox
{
    public List<FakeMessage> Messages { get; } = [];

    public FakeMailbox Add(string uidl, string body, long? listSize = null)
    {
        Messages.Add(new FakeMessage(uidl, Encoding.ASCII.GetBytes(body), listSize));
        return this;
    }

    public void Commit(HashSet<int> deleted)
    {
        var keep = Messages.Where((_, i) => !deleted.Contains(i)).ToList();
        Messages.Clear();
        Messages.AddRange(keep);
    }
}

internal sealed class FakeFactory(Func<IPop3Connection> create) : IPop3ConnectionFactory
{
    public List<IPop3Connection> Created { get; } = [];

    public IPop3Connection Create(SmartPopAccount account)
    {
        IPop3Connection connection = create();
        Created.Add(connection);
        return connection;
    }
}

internal sealed class RecordingSink : IMessageSink
{
    public List<(string Uidl, string Body)> Delivered { get; } = [];

    public Func<MessageMetadata, Exception?>? Failure { get; set; }

    public async Task DeliverAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default)
    {
        if (Failure?.Invoke(metadata) is { } ex)
        {
            throw ex;
        }

        using var reader = new StreamReader(message, Encoding.ASCII);
        Delivered.Add((metadata.Uidl, await reader.ReadToEndAsync(cancellationToken)));
    }
}
