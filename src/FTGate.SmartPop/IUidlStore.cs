namespace FTGate.SmartPop;

/// <summary>
/// Remembers which messages of each account were delivered ("seen"), by UIDL, with the time each was first collected
/// (for delete-after-N-days).
/// </summary>
/// <remarks>Implementations are thread-safe. <see cref="MarkSeenAsync"/> must be durable when it returns.</remarks>
public interface IUidlStore
{
    /// <summary>Returns the account's seen UIDLs and when each was first collected.</summary>
    /// <param name="accountName">The SmartPop account.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>UIDL → first-seen time (ordinal, case-sensitive keys).</returns>
    Task<IReadOnlyDictionary<string, DateTimeOffset>> GetSeenAsync(string accountName, CancellationToken cancellationToken = default);

    /// <summary>Records a UIDL as delivered. Recording an already seen UIDL keeps its first-seen time.</summary>
    /// <param name="accountName">The SmartPop account.</param>
    /// <param name="uidl">The message's UIDL.</param>
    /// <param name="firstSeen">When it was collected.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes once the record is durable.</returns>
    Task MarkSeenAsync(string accountName, string uidl, DateTimeOffset firstSeen, CancellationToken cancellationToken = default);

    /// <summary>Forgets seen UIDLs that are no longer on the server.</summary>
    /// <param name="accountName">The SmartPop account.</param>
    /// <param name="onServer">Every UIDL the server listed in this session.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>How many UIDLs were forgotten.</returns>
    Task<int> PruneAsync(string accountName, IReadOnlyCollection<string> onServer, CancellationToken cancellationToken = default);
}
