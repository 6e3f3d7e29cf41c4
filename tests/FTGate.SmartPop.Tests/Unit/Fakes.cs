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

    public Task<(int Count, long Size)> StatAsync(CancellationToken cancellationToken) =>
        Task.FromResult((_mailbox.Messages.Count, _mailbox.Messages.Sum(m => (long)m.Body.Length)));

    public Task<IReadOnlyList<string>> GetUidlsAsync(CancellationToken cancellationToken)
    {
        Journal.Add("UIDL");
        return Task.FromResult<IReadOnlyList<string>>(_mailbox.Messages.Select(m => m.Uidl).ToList());
    }

    public Task<IReadOnlyList<long>> GetSizesAsync(CancellationToken cancellationToken)
    {
        Journal.Add("LIST");
        return Task.FromResult<IReadOnlyList<long>>(_mailbox.Messages.Select(m => m.ListSize ?? m.Body.Length).ToList());
    }

    public Task<Stream> GetHeadersAsync(int index, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<Stream> RetrieveAsync(int index, CancellationToken cancellationToken)
    {
        Journal.Add($"RETR {index + 1}");
        if (RetrieveFailure?.Invoke(index) is { } ex)
        {
            return Task.FromException<Stream>(ex);
        }

        return Task.FromResult<Stream>(new MemoryStream(_mailbox.Messages[index].Body));
    }

    public async Task<IReadOnlyList<Stream>> RetrieveManyAsync(IReadOnlyList<int> indexes, CancellationToken cancellationToken)
    {
        Journal.Add("PIPELINE " + string.Join(',', indexes.Select(i => i + 1)));
        var list = new List<Stream>();
        foreach (int i in indexes)
        {
            list.Add(await RetrieveAsync(i, cancellationToken));
        }

        return list;
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
