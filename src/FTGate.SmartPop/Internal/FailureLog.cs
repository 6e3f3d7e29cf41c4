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
internal sealed record FailureRecord(string Key, string Uidl, int Fetches, string ErrorCode, string Message, long Size, bool TooLarge, long Limit);

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
