namespace FTGate.SmartPop;

/// <summary>
/// The host's delivery: receives each collected message. SmartPop records the message as seen (and deletes it from the
/// server, when configured) only after <see cref="DeliverAsync"/> has returned, so returning means "durably accepted".
/// </summary>
/// <remarks>
/// A message can be offered again after a crash or dropped connection between delivery and the seen record: use
/// <see cref="MessageMetadata.Uidl"/> (with <see cref="MessageMetadata.AccountName"/>) to recognise the redelivery.
/// Throwing leaves the message on the server and unseen; it is offered again in the next poll.
/// </remarks>
public interface IMessageSink
{
    /// <summary>Stores one message.</summary>
    /// <param name="message">The message bytes exactly as the server sent them after dot-unstuffing (CRLF line ends). Read it once; SmartPop disposes it.</param>
    /// <param name="metadata">Account, UIDL and size.</param>
    /// <param name="cancellationToken">Cancels the delivery; a cancelled delivery must leave nothing half-delivered.</param>
    /// <returns>A task that completes once the message is durably stored.</returns>
    Task DeliverAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default);
}

/// <summary>
/// A sink that can make several messages durable at once (group commit). SmartPop uses it when the sink offers it: each
/// message of a downloaded batch is added, then the batch is committed with one flush, and only then are the messages
/// recorded as seen and deleted from the server. A sink that writes one file per message saves an fsync of the folder per
/// message and lets the files' own flushes run side by side.
/// </summary>
/// <remarks>
/// <see cref="IMessageSink.DeliverAsync"/> keeps its meaning (one message, durable on return); hosts that call the sink
/// directly need nothing else.
/// </remarks>
public interface IBatchingMessageSink : IMessageSink
{
    /// <summary>Starts a batch of one account's messages. SmartPop starts one per downloaded batch and disposes it after the commit.</summary>
    /// <param name="accountName">The SmartPop account whose messages the batch holds.</param>
    /// <returns>The batch; dispose it (committed or not) to release its resources.</returns>
    IMessageSinkBatch BeginBatch(string accountName);
}

/// <summary>Messages added to a batch become durable (and visible) together, at <see cref="CommitAsync"/>.</summary>
public interface IMessageSinkBatch : IAsyncDisposable
{
    /// <summary>Writes one message. It is not yet durable: nothing may treat it as delivered before the commit returns.</summary>
    /// <param name="message">The message bytes after dot-unstuffing (CRLF line ends). Read it once; the caller disposes it.</param>
    /// <param name="metadata">Account, UIDL and size; the account is the batch's.</param>
    /// <param name="cancellationToken">Cancels the write; a cancelled write leaves nothing behind.</param>
    /// <returns>A task that completes once the message is written (not yet durable).</returns>
    Task AddAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default);

    /// <summary>Makes every message added since the previous commit durable. When it throws, none of them counts as delivered.</summary>
    /// <param name="cancellationToken">Cancels the commit.</param>
    /// <returns>A task that completes once the added messages are durably stored.</returns>
    Task CommitAsync(CancellationToken cancellationToken = default);
}

/// <summary>What is known about a collected message.</summary>
public sealed class MessageMetadata
{
    /// <summary>Creates the metadata.</summary>
    /// <param name="accountName">The SmartPop account.</param>
    /// <param name="uidl">The server's unique id for the message.</param>
    /// <param name="size">The size the server listed (LIST), in bytes.</param>
    /// <param name="collectedAt">When SmartPop downloaded it.</param>
    /// <param name="uidlIsSynthetic"><see langword="true"/> when the server has no UIDL and the id was derived by SmartPop.</param>
    public MessageMetadata(string accountName, string uidl, long size, DateTimeOffset collectedAt, bool uidlIsSynthetic = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        ArgumentException.ThrowIfNullOrEmpty(uidl);
        AccountName = accountName;
        Uidl = uidl;
        Size = size;
        CollectedAt = collectedAt;
        UidlIsSynthetic = uidlIsSynthetic;
    }

    /// <summary>The SmartPop account the message came from.</summary>
    public string AccountName { get; }

    /// <summary>The server's unique id (UIDL) of the message; stable across sessions, so a redelivery is recognisable.</summary>
    public string Uidl { get; }

    /// <summary>The size the server listed, in bytes (octets on the wire before dot-stuffing).</summary>
    public long Size { get; }

    /// <summary>When SmartPop downloaded the message.</summary>
    public DateTimeOffset CollectedAt { get; }

    /// <summary><see langword="true"/> when the server offers no UIDL and <see cref="Uidl"/> was derived from the message headers.</summary>
    public bool UidlIsSynthetic { get; }
}
