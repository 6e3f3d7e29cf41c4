using Google.Apis.Util;
using Google.Apis.Util.Store;

namespace FTGate.OAuth.Internal;

/// <summary>Google's <see cref="IClock"/> over the SDK's <see cref="TimeProvider"/>, so the library's staleness checks use the same time.</summary>
internal sealed class TimeProviderClock : IClock
{
    private readonly TimeProvider _time;

    public TimeProviderClock(TimeProvider time) => _time = time;

    public DateTime UtcNow => _time.GetUtcNow().UtcDateTime;

    [Obsolete("Use UtcNow.")]
    public DateTime Now => _time.GetLocalNow().DateTime;
}

/// <summary>
/// The data store given to Google's flows: it stores and deletes nothing. Google.Apis.Auth 1.78 deletes the stored token
/// on any non-5xx token error, including 429 (library-notes §2.4); the SDK persists tokens itself in the
/// <see cref="ITokenStore"/> and decides on its own when a grant is dead.
/// </summary>
internal sealed class NonDeletingDataStore : IDataStore
{
    public static readonly NonDeletingDataStore Instance = new();

    public Task StoreAsync<T>(string key, T value) => Task.CompletedTask;

    public Task DeleteAsync<T>(string key) => Task.CompletedTask;

    public Task<T> GetAsync<T>(string key) => Task.FromResult(default(T)!); // IDataStore's contract: default (null) means "not stored"

    public Task ClearAsync() => Task.CompletedTask;
}
