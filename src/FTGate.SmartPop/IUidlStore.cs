namespace FTGate.SmartPop;

/// <summary>
/// Remembers which messages of each account were delivered ("seen"), by UIDL, with the time each was first collected
/// (for delete-after-N-days).
/// </summary>
/// <remarks>Implementations are thread-safe. Both <c>MarkSeenAsync</c> overloads must be durable when they return.</remarks>
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

    /// <summary>
    /// Records several UIDLs as delivered with one durable write (SmartPop calls this once per committed batch). Already seen
    /// UIDLs keep their first-seen time.
    /// </summary>
    /// <param name="accountName">The SmartPop account.</param>
    /// <param name="uidls">The messages' UIDLs.</param>
    /// <param name="firstSeen">When they were collected.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes once every record is durable.</returns>
    /// <remarks>The default implementation calls <see cref="MarkSeenAsync(string, string, DateTimeOffset, CancellationToken)"/> for each UIDL; a store that can write them at once should override it.</remarks>
    async Task MarkSeenAsync(string accountName, IReadOnlyCollection<string> uidls, DateTimeOffset firstSeen, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uidls);
        foreach (string uidl in uidls)
        {
            await MarkSeenAsync(accountName, uidl, firstSeen, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Forgets seen UIDLs that are no longer on the server.</summary>
    /// <param name="accountName">The SmartPop account.</param>
    /// <param name="onServer">Every UIDL the server listed in this session.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>How many UIDLs were forgotten.</returns>
    Task<int> PruneAsync(string accountName, IReadOnlyCollection<string> onServer, CancellationToken cancellationToken = default);
}
