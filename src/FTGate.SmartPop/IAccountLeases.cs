namespace FTGate.SmartPop;

/// <summary>
/// Decides which node collects an account when several nodes share their stores (a farm): a node polls an account only
/// while it holds the account's lease. Without a registration every account is collected by this process alone.
/// </summary>
public interface IAccountLeases
{
    /// <summary>Tries to take the lease of one account.</summary>
    /// <param name="accountName">The account's name.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>The held lease, or <see langword="null"/> when another node holds it.</returns>
    Task<IAccountLease?> TryAcquireAsync(string accountName, CancellationToken cancellationToken = default);
}

/// <summary>A held lease of one account (see <see cref="IAccountLeases"/>); dispose it to release the lease.</summary>
public interface IAccountLease : IAsyncDisposable
{
    /// <summary>The account the lease is for.</summary>
    string AccountName { get; }

    /// <summary>
    /// The fencing value: it grows every time the lease changes hands, so a store can refuse a write from a node whose
    /// lease was taken over.
    /// </summary>
    long FencingToken { get; }

    /// <summary>Cancelled when the lease is lost (not renewed in time, or taken over): the fetch stops before delivering more.</summary>
    CancellationToken Lost { get; }
}
