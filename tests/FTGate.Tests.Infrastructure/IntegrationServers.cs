using Xunit;

namespace FTGate.Tests.Infrastructure;

/// <summary>
/// One OAuth server and one Dovecot for a whole test assembly (register it with
/// <c>[assembly: AssemblyFixture(typeof(IntegrationServers))]</c> and take it in the test class constructor). If the
/// prerequisites are missing the fixture does not throw: each test calls <see cref="Require"/>, which skips loudly outside
/// CI and fails under CI=true.
/// </summary>
public sealed class IntegrationServers : IAsyncLifetime
{
    private OAuthServer? _oauth;
    private DovecotServer? _dovecot;

    /// <summary>Why the servers are not available, or null.</summary>
    public string? UnavailableReason { get; private set; }

    /// <summary>The OAuth server (call <see cref="Require"/> first).</summary>
    public OAuthServer OAuth => _oauth ?? throw new InvalidOperationException(UnavailableReason);

    /// <summary>The Dovecot instance (call <see cref="Require"/> first).</summary>
    public DovecotServer Dovecot => _dovecot ?? throw new InvalidOperationException(UnavailableReason);

    /// <summary>Skips (outside CI) or fails (CI) the calling test when the servers are not running.</summary>
    public void Require() => Infra.Require(UnavailableReason);

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        UnavailableReason = OAuthServer.UnavailableReason() ?? DovecotServer.UnavailableReason();
        if (UnavailableReason is not null)
        {
            Console.Error.WriteLine("INTEGRATION SERVERS NOT STARTED: " + UnavailableReason);
            return;
        }

        try
        {
            _oauth = await OAuthServer.StartAsync();
            _dovecot = await DovecotServer.StartAsync(_oauth);
            Console.WriteLine($"Integration servers: {_oauth.Version} at {_oauth.Issuer}; {_dovecot.Version} on 127.0.0.1:{_dovecot.Pop3Port} (STLS) and :{_dovecot.Pop3sPort} (TLS)");
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException)
        {
            UnavailableReason = "the integration servers failed to start: " + ex.Message;
            Console.Error.WriteLine(UnavailableReason);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_dovecot is not null)
        {
            await _dovecot.DisposeAsync();
        }

        if (_oauth is not null)
        {
            await _oauth.DisposeAsync();
        }
    }
}
