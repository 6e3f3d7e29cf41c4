using System.Collections.Concurrent;
using FTGate.SmartPop.Internal;

namespace FTGate.SmartPop;

/// <summary>Keeps seen UIDLs in memory only (tests, or hosts that accept redelivery after a restart).</summary>
/// <remarks>Any UIDL is kept as sent (spaces, control characters, any length).</remarks>
public sealed class InMemoryUidlStore : IUidlStore, IFailureLog
{
    private readonly InMemoryFailureLog _failures = new();
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, DateTimeOffset>> _accounts = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public Task<IReadOnlyDictionary<string, DateTimeOffset>> GetSeenAsync(string accountName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        IReadOnlyDictionary<string, DateTimeOffset> copy = _accounts.TryGetValue(accountName, out var seen)
            ? new Dictionary<string, DateTimeOffset>(seen, StringComparer.Ordinal)
            : new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        return Task.FromResult(copy);
    }

    /// <inheritdoc/>
    public Task MarkSeenAsync(string accountName, string uidl, DateTimeOffset firstSeen, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        ArgumentException.ThrowIfNullOrEmpty(uidl);
        _accounts.GetOrAdd(accountName, _ => new(StringComparer.Ordinal)).TryAdd(uidl, firstSeen);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task MarkSeenAsync(string accountName, IReadOnlyCollection<string> uidls, DateTimeOffset firstSeen, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        ArgumentNullException.ThrowIfNull(uidls);
        ConcurrentDictionary<string, DateTimeOffset> seen = _accounts.GetOrAdd(accountName, _ => new(StringComparer.Ordinal));
        foreach (string uidl in uidls)
        {
            ArgumentException.ThrowIfNullOrEmpty(uidl, nameof(uidls));
            seen.TryAdd(uidl, firstSeen);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<int> PruneAsync(string accountName, IReadOnlyCollection<string> onServer, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        ArgumentNullException.ThrowIfNull(onServer);
        if (!_accounts.TryGetValue(accountName, out var seen))
        {
            return Task.FromResult(0);
        }

        var keep = onServer as ISet<string> ?? new HashSet<string>(onServer, StringComparer.Ordinal);
        int removed = 0;
        foreach (string uidl in seen.Keys)
        {
            if (!keep.Contains(uidl) && seen.TryRemove(uidl, out _))
            {
                removed++;
            }
        }

        return Task.FromResult(removed);
    }

    Task<IReadOnlyDictionary<string, FailureRecord>> IFailureLog.LoadFailuresAsync(string accountName, CancellationToken cancellationToken) =>
        _failures.LoadFailuresAsync(accountName, cancellationToken);

    Task IFailureLog.SaveFailuresAsync(string accountName, IReadOnlyCollection<FailureRecord> failures, CancellationToken cancellationToken) =>
        _failures.SaveFailuresAsync(accountName, failures, cancellationToken);
}
