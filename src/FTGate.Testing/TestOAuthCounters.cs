using System.Collections.Concurrent;

namespace FTGate.Testing;

/// <summary>Requests a <see cref="TestOAuthAuthority"/> received, for assertions such as "exactly one refresh". Thread-safe.</summary>
public sealed class TestOAuthCounters
{
    private readonly ConcurrentDictionary<string, int> _tokenRequests = new(StringComparer.Ordinal);
    private int _authorizationRequests;
    private int _deviceAuthorizationRequests;
    private int _introspections;
    private int _revocations;
    private int _discoveryRequests;

    /// <summary>Token requests with <c>grant_type=authorization_code</c>.</summary>
    public int AuthorizationCodeGrants => GetTokenRequests("authorization_code");

    /// <summary>Token requests with <c>grant_type=refresh_token</c>.</summary>
    public int RefreshTokenGrants => GetTokenRequests("refresh_token");

    /// <summary>Token requests with the device code grant type.</summary>
    public int DeviceCodeGrants => GetTokenRequests(TestOAuthAuthority.DeviceCodeGrantType);

    /// <summary>Token requests with <c>grant_type=client_credentials</c>.</summary>
    public int ClientCredentialsGrants => GetTokenRequests("client_credentials");

    /// <summary>All token requests, whatever their grant type (including failed ones).</summary>
    public int TokenRequests => _tokenRequests.Values.Sum();

    /// <summary>Requests to the authorization endpoint.</summary>
    public int AuthorizationRequests => Volatile.Read(ref _authorizationRequests);

    /// <summary>Requests to the device authorization endpoint.</summary>
    public int DeviceAuthorizationRequests => Volatile.Read(ref _deviceAuthorizationRequests);

    /// <summary>Token look-ups: introspection requests plus in-process validations by <see cref="TestPop3Server"/>.</summary>
    public int Introspections => Volatile.Read(ref _introspections);

    /// <summary>Requests to the revocation endpoint.</summary>
    public int Revocations => Volatile.Read(ref _revocations);

    /// <summary>Requests for the discovery document.</summary>
    public int DiscoveryRequests => Volatile.Read(ref _discoveryRequests);

    /// <summary>Token requests with the given <c>grant_type</c>.</summary>
    /// <param name="grantType">The grant type as sent, for example <c>refresh_token</c>.</param>
    /// <returns>The count.</returns>
    public int GetTokenRequests(string grantType) => _tokenRequests.TryGetValue(grantType, out int count) ? count : 0;

    /// <summary>Sets every counter back to zero.</summary>
    public void Reset()
    {
        _tokenRequests.Clear();
        Volatile.Write(ref _authorizationRequests, 0);
        Volatile.Write(ref _deviceAuthorizationRequests, 0);
        Volatile.Write(ref _introspections, 0);
        Volatile.Write(ref _revocations, 0);
        Volatile.Write(ref _discoveryRequests, 0);
    }

    internal void Token(string grantType) => _tokenRequests.AddOrUpdate(grantType, 1, (_, n) => n + 1);

    internal void Authorization() => Interlocked.Increment(ref _authorizationRequests);

    internal void DeviceAuthorization() => Interlocked.Increment(ref _deviceAuthorizationRequests);

    internal void Introspection() => Interlocked.Increment(ref _introspections);

    internal void Revocation() => Interlocked.Increment(ref _revocations);

    internal void Discovery() => Interlocked.Increment(ref _discoveryRequests);
}
