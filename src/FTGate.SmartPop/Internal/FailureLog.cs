using System.Collections.Concurrent;

namespace FTGate.SmartPop.Internal;

/// <summary>A message that failed in the last fetch(es): how many fetches in a row, and the last reason.</summary>
/// <param name="Key">The message's identity key (see <see cref="MessageIdentity"/>).</param>
/// <param name="Uidl">The id shown in reports.</param>
/// <param name="Fetches">Failed fetches in a row.</param>
/// <param name="ErrorCode">The last failure's code.</param>
/// <param name="Message">The last failure's description (with the server's words).</param>
/// <param name="Size">The listed size.</param>
/// <param name="TooLarge">More bytes arrived than MaxMessageSize: the next fetches skip it without downloading.</param>
/// <param name="Limit">The MaxMessageSize then (a raised limit lets the message be tried again).</param>
/// <param name="Number">The message's number in the last failed fetch (0 when unknown, as in records written before it was kept).</param>
/// <param name="ServerReply">The server's words in the last failure (its <c>-ERR</c> line), when it said something.</param>
internal sealed record FailureRecord(string Key, string Uidl, int Fetches, string ErrorCode, string Message, long Size, bool TooLarge, long Limit, int Number = 0, string? ServerReply = null)
{
    /// <summary>A message that failed in this many fetches in a row is stuck: it needs a person.</summary>
    public const int StuckAfter = 3;

    /// <summary>
    /// Whether a failure is stuck (<see cref="FetchResult.StuckMessages"/>): <see cref="StuckAfter"/> failed fetches in a row,
    /// except a message too large for the limit (reported as such, never retried).
    /// </summary>
    public static bool IsStuck(MessageFailure failure) =>
        failure.FailedFetches >= StuckAfter && failure.ErrorCode != SmartPopErrorCodes.MessageTooLarge;

    /// <summary>The account's failing messages from a failure log, most failed first (what <c>ftgate status</c> and the Test show).</summary>
    public static async Task<IReadOnlyList<MessageFailure>> LoadAsync(IFailureLog log, string accountName, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, FailureRecord> records = await log.LoadFailuresAsync(accountName, cancellationToken).ConfigureAwait(false);
        return [.. records.Values.OrderByDescending(r => r.Fetches).Select(r => r.ToFailure())];
    }

    /// <summary>The record as the public <see cref="MessageFailure"/>.</summary>
    public MessageFailure ToFailure() => new()
    {
        Uidl = Uidl,
        Size = Size,
        ErrorCode = ErrorCode,
        Message = Message,
        FailedFetches = Fetches,
        MessageNumber = Number,
        ServerReply = ServerReply,
    };
}

/// <summary>
/// Remembers per-message failures between fetches (for "stuck after 3 fetches" and "too large, skipped without downloading").
/// The built-in UIDL stores implement it (the file store durably, beside the UIDL file); for any other store SmartPop keeps
/// the records in memory for the process's lifetime.
/// </summary>
internal interface IFailureLog
{
    Task<IReadOnlyDictionary<string, FailureRecord>> LoadFailuresAsync(string accountName, CancellationToken cancellationToken);

    Task SaveFailuresAsync(string accountName, IReadOnlyCollection<FailureRecord> failures, CancellationToken cancellationToken);
}

/// <summary>The in-memory <see cref="IFailureLog"/>.</summary>
internal sealed class InMemoryFailureLog : IFailureLog
{
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, FailureRecord>> _accounts = new(StringComparer.Ordinal);

    public Task<IReadOnlyDictionary<string, FailureRecord>> LoadFailuresAsync(string accountName, CancellationToken cancellationToken) =>
        Task.FromResult(_accounts.TryGetValue(accountName, out var records) ? records : new Dictionary<string, FailureRecord>(StringComparer.Ordinal));

    public Task SaveFailuresAsync(string accountName, IReadOnlyCollection<FailureRecord> failures, CancellationToken cancellationToken)
    {
        _accounts[accountName] = failures.ToDictionary(f => f.Key, StringComparer.Ordinal);
        return Task.CompletedTask;
    }
}
