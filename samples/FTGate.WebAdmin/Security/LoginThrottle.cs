using System.Net;

namespace FTGate.WebAdmin.Security;

/// <summary>
/// Slows password guessing per client address: after <see cref="FreeFailures"/> failures in a row, each further failure
/// starts a delay that doubles (1 s, 2 s, 4 s … up to <see cref="MaxDelay"/>). While a delay lasts every sign-in from that
/// address is refused with 429, the right password included, so a guesser learns nothing during it.
/// </summary>
internal sealed class LoginThrottle(TimeProvider time)
{
    public const int FreeFailures = 5;
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(15);
    private const int MaxTracked = 10_000;

    private readonly Lock _sync = new();
    private readonly Dictionary<IPAddress, State> _addresses = [];

    /// <summary>How long the address must still wait, or <see langword="null"/> when it may try now.</summary>
    public TimeSpan? RetryAfter(IPAddress address)
    {
        lock (_sync)
        {
            if (_addresses.TryGetValue(address, out State? state) && state.BlockedUntil is { } until && until > time.GetUtcNow())
            {
                return until - time.GetUtcNow();
            }

            return null;
        }
    }

    /// <summary>Records a failure; returns the number of failures in a row and the delay it starts (if any).</summary>
    public (int Failures, TimeSpan? Delay) Failed(IPAddress address)
    {
        lock (_sync)
        {
            DateTimeOffset now = time.GetUtcNow();
            if (!_addresses.TryGetValue(address, out State? state))
            {
                if (_addresses.Count >= MaxTracked)
                {
                    Prune(now);
                }

                state = new State();
                _addresses[address] = state;
            }

            state.Failures++;
            state.LastFailure = now;
            TimeSpan? delay = null;
            if (state.Failures > FreeFailures)
            {
                double seconds = Math.Min(Math.Pow(2, Math.Min(state.Failures - FreeFailures - 1, 20)), MaxDelay.TotalSeconds);
                delay = TimeSpan.FromSeconds(seconds);
                state.BlockedUntil = now + delay.Value;
            }

            return (state.Failures, delay);
        }
    }

    /// <summary>A successful sign-in clears the address's record.</summary>
    public void Succeeded(IPAddress address)
    {
        lock (_sync)
        {
            _addresses.Remove(address);
        }
    }

    private void Prune(DateTimeOffset now)
    {
        // Forget addresses idle for an hour; if that is not enough, the oldest half (memory stays bounded under a spray).
        foreach (IPAddress idle in _addresses.Where(a => now - a.Value.LastFailure > TimeSpan.FromHours(1) && (a.Value.BlockedUntil ?? now) <= now).Select(a => a.Key).ToList())
        {
            _addresses.Remove(idle);
        }

        if (_addresses.Count >= MaxTracked)
        {
            foreach (IPAddress old in _addresses.OrderBy(a => a.Value.LastFailure).Take(_addresses.Count / 2).Select(a => a.Key).ToList())
            {
                _addresses.Remove(old);
            }
        }
    }

    private sealed class State
    {
        public int Failures { get; set; }

        public DateTimeOffset LastFailure { get; set; }

        public DateTimeOffset? BlockedUntil { get; set; }
    }
}
