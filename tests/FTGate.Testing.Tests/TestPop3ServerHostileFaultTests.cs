using System.Net.Sockets;
using System.Text;

namespace FTGate.Testing.Tests;

/// <summary>The scripted hostile faults, seen on the wire (a raw socket: no client library smooths anything over).</summary>
public sealed class TestPop3ServerHostileFaultTests : IAsyncLifetime
{
    private const string User = "raw@example.test";
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;
    private TestPop3Server _server = null!;
    private TestMessage _one = null!;
    private TestMessage _two = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await TestPop3Server.StartAsync(cancellationToken: _ct);
        TestMailbox mailbox = _server.AddUser(User, "pw");
        _one = mailbox.Add("Subject: 1\r\n\r\none\r\n", "one");
        _two = mailbox.Add("Subject: 2\r\n\r\ntwo\r\n", "two");
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ListingFaults_UidlOverridesSizesStatOffsetAndRewrite_AreSentAsScripted()
    {
        _server.Faults.OverrideUidl(_one.Uid, "dup with space\u0001");
        _server.Faults.OverrideUidl(_two.Uid, "dup with space\u0001");
        _server.Faults.OverrideListSize(_two.Uid, "-5");
        _server.Faults.StatCountOffset = 3;
        _server.Faults.RewriteListing = (command, lines) => command == "LIST" ? [.. lines, "9 99"] : lines;
        await using var pop3 = await RawSession.LoginAsync(_server, _ct);

        Assert.StartsWith("+OK 5 ", await pop3.CommandAsync("STAT", _ct), StringComparison.Ordinal);
        Assert.Equal(["1 dup with space\u0001", "2 dup with space\u0001"], await pop3.ListingAsync("UIDL", _ct));
        Assert.Equal([$"1 {_one.Size}", "2 -5", "9 99"], await pop3.ListingAsync("LIST", _ct));
    }

    [Fact]
    public async Task RefuseRetrAndRefuseQuit_AnswerErr_AndCommitNothing()
    {
        _server.Faults.RefuseRetr(_one.Uid, "-ERR [SYS/PERM] broken", times: 1);
        _server.Faults.RefuseQuit = true;
        await using var pop3 = await RawSession.LoginAsync(_server, _ct);

        Assert.Equal("-ERR [SYS/PERM] broken", await pop3.CommandAsync("RETR 1", _ct));
        Assert.StartsWith("+OK", await pop3.CommandAsync("RETR 1", _ct), StringComparison.Ordinal); // once only
        await pop3.ReadUntilDotAsync(_ct);
        Assert.StartsWith("+OK", await pop3.CommandAsync("DELE 1", _ct), StringComparison.Ordinal);
        Assert.StartsWith("-ERR", await pop3.CommandAsync("QUIT", _ct), StringComparison.Ordinal);
        Assert.Equal(2, _server.GetMailbox(User).Count);
    }

    [Fact]
    public async Task StallAndDrip_SignalWhenStalled_DripSendsOneBytePerTick()
    {
        _server.Faults.DripRetr(_one.Uid);
        await using var pop3 = await RawSession.LoginAsync(_server, _ct);
        Assert.StartsWith("+OK", await pop3.CommandAsync("RETR 1", _ct), StringComparison.Ordinal);
        await _server.Faults.WaitForStallAsync(_ct);

        await _server.Faults.TickAsync(_ct);
        await _server.Faults.TickAsync(_ct);

        Assert.Equal("Su", await pop3.ReadBytesAsync(2, _ct));
    }

    [Fact]
    public async Task GreetingPadding_SendsALineLongerThan64KiB()
    {
        _server.Faults.GreetingPadding = 100 * 1024;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(_server.Host, _server.Port, _ct);
        using var reader = new StreamReader(tcp.GetStream(), Encoding.Latin1);
        string? greeting = await reader.ReadLineAsync(_ct);
        Assert.True(greeting!.Length > 100 * 1024);
    }

    /// <summary>A plain-port POP3 session on a raw socket.</summary>
    private sealed class RawSession(TcpClient tcp) : IAsyncDisposable
    {
        private readonly NetworkStream _stream = tcp.GetStream();
        private readonly List<byte> _pending = [];

        public static async Task<RawSession> LoginAsync(TestPop3Server server, CancellationToken ct)
        {
            var tcp = new TcpClient();
            await tcp.ConnectAsync(server.Host, server.Port, ct);
            var session = new RawSession(tcp);
            await session.ReadLineAsync(ct);
            await session.CommandAsync("USER " + User, ct);
            Assert.StartsWith("+OK", await session.CommandAsync("PASS pw", ct), StringComparison.Ordinal);
            return session;
        }

        public async Task<string> CommandAsync(string command, CancellationToken ct)
        {
            await _stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"), ct);
            return await ReadLineAsync(ct);
        }

        public async Task<List<string>> ListingAsync(string command, CancellationToken ct)
        {
            Assert.StartsWith("+OK", await CommandAsync(command, ct), StringComparison.Ordinal);
            return await ReadUntilDotAsync(ct);
        }

        public async Task<List<string>> ReadUntilDotAsync(CancellationToken ct)
        {
            var lines = new List<string>();
            for (string line = await ReadLineAsync(ct); line != "."; line = await ReadLineAsync(ct))
            {
                lines.Add(line);
            }

            return lines;
        }

        public async Task<string> ReadBytesAsync(int count, CancellationToken ct)
        {
            while (_pending.Count < count)
            {
                await FillAsync(ct);
            }

            string text = Encoding.Latin1.GetString([.. _pending.Take(count)]);
            _pending.RemoveRange(0, count);
            return text;
        }

        public async ValueTask DisposeAsync()
        {
            await _stream.DisposeAsync();
            tcp.Dispose();
        }

        private async Task<string> ReadLineAsync(CancellationToken ct)
        {
            int lf;
            while ((lf = _pending.IndexOf((byte)'\n')) < 0)
            {
                await FillAsync(ct);
            }

            string line = Encoding.Latin1.GetString([.. _pending.Take(lf)]).TrimEnd('\r');
            _pending.RemoveRange(0, lf + 1);
            return line;
        }

        private async Task FillAsync(CancellationToken ct)
        {
            byte[] buffer = new byte[4096];
            int n = await _stream.ReadAsync(buffer, ct);
            Assert.True(n > 0, "the server closed the connection");
            _pending.AddRange(buffer.AsSpan(0, n).ToArray());
        }
    }
}
