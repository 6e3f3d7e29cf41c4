using System.Globalization;
using FTGate.Tests.Infrastructure;

namespace FTGate.Benchmarks;

/// <summary>The loopback OAuth server and a private Dovecot (FTGate.Tests.Infrastructure), plus 500 password mailboxes for the scheduler.</summary>
internal sealed class BenchServers : IAsyncDisposable
{
    public const string Alice = "alice@example.test";
    public const string Bob = "bob@example.test";
    public const int SchedulerUsers = 500;

    private BenchServers(OAuthServer oauth, DovecotServer dovecot)
    {
        OAuth = oauth;
        Dovecot = dovecot;
    }

    public OAuthServer OAuth { get; }

    public DovecotServer Dovecot { get; }

    public static string SchedulerUser(int i) => "bench" + i.ToString("000", CultureInfo.InvariantCulture) + "@example.test";

    public static string SchedulerPassword(int i) => "bench" + i.ToString("000", CultureInfo.InvariantCulture) + "-password";

    public static async Task<BenchServers> StartAsync()
    {
        string? why = OAuthServer.UnavailableReason() ?? DovecotServer.UnavailableReason();
        if (why is not null)
        {
            throw new InvalidOperationException("The benchmark needs the integration servers: " + why + " Run 'bash tests/FTGate.Benchmarks/setup.sh'.");
        }

        string dir = Infra.NewTempDirectory("ftg-bench");
        string passwd = Path.Combine(dir, "users.passwd");
        var lines = File.ReadAllLines(Path.Combine(Infra.InfraDirectory, "dovecot", "users.passwd")).ToList();
        lines.AddRange(Enumerable.Range(0, SchedulerUsers).Select(i => $"{SchedulerUser(i)}:{{PLAIN}}{SchedulerPassword(i)}"));
        await File.WriteAllLinesAsync(passwd, lines);
        OAuthServer oauth = await OAuthServer.StartAsync();
        DovecotServer dovecot = await DovecotServer.StartAsync(oauth, ["--passwd", passwd]);
        Console.WriteLine($"servers: {oauth.Version} at {oauth.Issuer}; {dovecot.Version} POP3S on 127.0.0.1:{dovecot.Pop3sPort}");
        return new BenchServers(oauth, dovecot);
    }

    public async ValueTask DisposeAsync()
    {
        await Dovecot.DisposeAsync();
        await OAuth.DisposeAsync();
    }
}
