using System.Net;
using System.Net.Sockets;
using System.Text;
using FTGate.SmartPop.Internal;
using MailKit.Net.Pop3;
using MailKit.Security;

namespace FTGate.SmartPop.Tests.Unit;

/// <summary>
/// The streaming RETR decoder against MailKit's own <c>GetStreamAsync</c> as the oracle: the same raw wire bytes (stuffed,
/// unstuffed lone dots, ".\r" without LF, bare LF lines and terminators, empty lines, random lines) go to MailKit through a
/// scripted socket and to <see cref="DotUnstuffer"/> one byte at a time and in random chunks; the outputs must be identical.
/// </summary>
public sealed class DotUnstufferTests
{
    public static TheoryData<string> Cases => new()
    {
        "a\r\n..b\r\n.\r\n",
        ".x lone dot\r\nnext\r\n.\r\n",
        "..\r\n...\r\n....\r\n.\r\n",
        ".\rX\r\nafter\r\n.\r\n",
        "bare\nlf\n..dot\n.\n",
        "\r\n\r\n.\r\n",
        "x\r\n.\r\n",
        "trailing dot.\r\nmid . dot\r\n.\r\n",
        "no final line break\r\nlast line\r\n.\r\n",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Decode_ByteByByteAndInRandomChunks_EqualsMailKitsGetStream(string wire)
    {
        byte[] raw = Encoding.Latin1.GetBytes(wire);
        byte[] oracle = await MailKitGetStreamAsync(raw);

        Assert.Equal(oracle, DecodeInChunks(raw, _ => 1, 2));
        var random = new Random(wire.Length);
        for (int round = 0; round < 50; round++)
        {
            Assert.Equal(oracle, DecodeInChunks(raw, _ => random.Next(1, 9), random.Next(2, 9)));
        }
    }

    [Fact]
    public async Task Decode_RandomMessages_EqualsMailKitsGetStream()
    {
        var random = new Random(1939);
        for (int message = 0; message < 20; message++)
        {
            var body = new StringBuilder();
            int lines = random.Next(0, 40);
            for (int i = 0; i < lines; i++)
            {
                string line = new(Enumerable.Range(0, random.Next(0, 12)).Select(_ => ".x\r\t ."[random.Next(6)]).ToArray());
                body.Append(line.StartsWith('.') ? "." : string.Empty).Append(line).Append(random.Next(4) == 0 ? "\n" : "\r\n");
            }

            byte[] raw = Encoding.Latin1.GetBytes(body.Append(".\r\n").ToString());
            byte[] oracle = await MailKitGetStreamAsync(raw);
            Assert.Equal(oracle, DecodeInChunks(raw, _ => random.Next(1, 64), random.Next(2, 64)));
        }
    }

    [Fact]
    public void Decode_StopsAtTheTerminator_LeavesTheNextResponseUnconsumed()
    {
        byte[] raw = "a\r\n.\r\n+OK next\r\n"u8.ToArray();
        var decoder = new DotUnstuffer();
        byte[] output = new byte[64];

        (int consumed, int written) = decoder.Decode(raw, output);

        Assert.True(decoder.IsDone);
        Assert.Equal(6, consumed);
        Assert.Equal("a\r\n", Encoding.ASCII.GetString(output, 0, written));
    }

    [Fact]
    public async Task RetrStream_CountsReceivedBytesAgainstTheLimit_AndHashesWhatArrived()
    {
        byte[] wire = FakePop3Connection.Wire(Encoding.ASCII.GetBytes(new string('x', 1000) + "\r\n"));
        using var ok = new RetrStream(new Pop3Reader(new MemoryStream(wire)), 1002, CancellationToken.None);
        using var copy = new MemoryStream();
        await ok.CopyToAsync(copy, TestContext.Current.CancellationToken);
        Assert.Equal((RetrOutcome.Complete, 1002L), (ok.Outcome, ok.Received));
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(copy.ToArray()), ok.Digest);

        using var big = new RetrStream(new Pop3Reader(new MemoryStream(wire)), 1001, CancellationToken.None);
        await Assert.ThrowsAsync<IOException>(() => big.CopyToAsync(Stream.Null, TestContext.Current.CancellationToken));
        Assert.Equal(RetrOutcome.TooLarge, big.Outcome);
    }

    private static byte[] DecodeInChunks(byte[] raw, Func<int, int> chunk, int outputSize)
    {
        var decoder = new DotUnstuffer();
        var result = new List<byte>();
        byte[] output = new byte[outputSize];
        int position = 0;
        while (!decoder.IsDone && position < raw.Length)
        {
            int size = Math.Min(chunk(position), raw.Length - position);
            int offset = 0;
            while (offset < size && !decoder.IsDone)
            {
                (int consumed, int written) = decoder.Decode(raw.AsSpan(position + offset, size - offset), output);
                result.AddRange(output.AsSpan(0, written).ToArray());
                offset += consumed;
                if (consumed == 0 && written == 0)
                {
                    break;
                }
            }

            position += offset;
        }

        Assert.True(decoder.IsDone, "the terminator was not found");
        return [.. result];
    }

    /// <summary>A scripted one-message POP3 server; MailKit logs in with USER/PASS and returns message 1 with GetStreamAsync.</summary>
    private static async Task<byte[]> MailKitGetStreamAsync(byte[] rawRetrBody)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Task server = Task.Run(
            async () =>
            {
                using TcpClient client = await listener.AcceptTcpClientAsync(ct);
                NetworkStream stream = client.GetStream();
                using var reader = new StreamReader(stream, Encoding.Latin1);
                async Task Send(byte[] bytes) => await stream.WriteAsync(bytes, ct);
                await Send("+OK ready\r\n"u8.ToArray());
                while (await reader.ReadLineAsync(ct) is { } line)
                {
                    string command = line.Split(' ')[0].ToUpperInvariant();
                    await Send(command switch
                    {
                        "CAPA" => "+OK\r\nUSER\r\nUIDL\r\n.\r\n"u8.ToArray(),
                        "STAT" => "+OK 1 100\r\n"u8.ToArray(),
                        "LIST" => "+OK\r\n1 100\r\n.\r\n"u8.ToArray(),
                        "UIDL" => "+OK\r\n1 a\r\n.\r\n"u8.ToArray(),
                        "RETR" => [.. "+OK\r\n"u8.ToArray(), .. rawRetrBody],
                        _ => "+OK\r\n"u8.ToArray(),
                    });
                    if (command == "QUIT")
                    {
                        return;
                    }
                }
            },
            ct);

        using var pop3 = new Pop3Client();
        await pop3.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None, ct);
        await pop3.AuthenticateAsync("u", "p", ct);
        using Stream message = await pop3.GetStreamAsync(0, cancellationToken: ct);
        using var copy = new MemoryStream();
        await message.CopyToAsync(copy, ct);
        await pop3.DisconnectAsync(true, ct);
        await server;
        return copy.ToArray();
    }
}
