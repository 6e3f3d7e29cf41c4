using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace FTGate.Testing.Internal;

/// <summary>One POP3 connection (RFC 1939, 2449, 2595, 5034) on a <see cref="TestPop3Server"/>.</summary>
internal sealed class Pop3Session : IDisposable
{
    private const int MaxLineLength = 64 * 1024;
    private const string PopDisabled = "-ERR [SYS/PERM] Your account is not enabled for POP access. Please visit your Gmail settings page and enable your account for POP access.";

    private readonly TestPop3Server _server;
    private readonly TcpClient _client;
    private readonly NetworkStream _network;
    private readonly bool _implicitTls;
    private readonly LineReader _reader;
    private Stream _stream;
    private bool _tls;
    private string? _user;
    private TestMailbox? _mailbox;
    private IReadOnlyList<TestMessage> _maildrop = [];
    private bool[] _deleted = [];

    public Pop3Session(TestPop3Server server, TcpClient client, bool implicitTls)
    {
        _server = server;
        _client = client;
        _network = client.GetStream();
        _stream = _network;
        _implicitTls = implicitTls;
        _reader = new LineReader(_network);
    }

    public Task? Task { get; set; }

    private bool InTransaction => _mailbox is not null;

    private TestPop3Faults Faults => _server.Faults;

    private Pop3ServerStyle Style => _server.Style;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_implicitTls)
            {
                await StartTlsAsync(cancellationToken).ConfigureAwait(false);
            }

            if (Faults.SuppressGreeting)
            {
                Faults.SignalStalled();
                await System.Threading.Tasks.Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }

            if (Faults.GreetingPadding > 0)
            {
                await SendEndlessAsync("+OK ", Faults.GreetingPadding, cancellationToken).ConfigureAwait(false);
            }

            await SendAsync(Greeting(), cancellationToken).ConfigureAwait(false);
            while (true)
            {
                string? line = await _reader.ReadLineAsync(MaxLineLength, cancellationToken).ConfigureAwait(false);
                if (line is null || !await HandleAsync(line, cancellationToken).ConfigureAwait(false))
                {
                    return; // End of stream without QUIT: nothing is committed.
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException
                                      or AuthenticationException or InvalidDataException or DropConnectionException)
        {
            // The client went away, the server is stopping, or a fault dropped the connection: nothing is committed.
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _network.Dispose();
        _client.Dispose();
    }

    private async Task<bool> HandleAsync(string line, CancellationToken cancellationToken)
    {
        int space = line.IndexOf(' ', StringComparison.Ordinal);
        string command = (space < 0 ? line : line[..space]).ToUpperInvariant();
        string argument = space < 0 ? string.Empty : line[(space + 1)..];

        switch (command)
        {
            case "CAPA":
                await SendMultiAsync("+OK", Capabilities(), cancellationToken).ConfigureAwait(false);
                return true;
            case "QUIT":
                await QuitAsync(cancellationToken).ConfigureAwait(false);
                return false;
            case "NOOP" when InTransaction:
                await SendAsync("+OK", cancellationToken).ConfigureAwait(false);
                return true;
            case "STLS" when !InTransaction:
                await StlsAsync(cancellationToken).ConfigureAwait(false);
                return true;
            case "AUTH" when !InTransaction:
                await AuthAsync(argument, cancellationToken).ConfigureAwait(false);
                return true;
            case "USER" when !InTransaction:
                await UserAsync(argument, cancellationToken).ConfigureAwait(false);
                return true;
            case "PASS" when !InTransaction:
                await PassAsync(argument, cancellationToken).ConfigureAwait(false);
                return true;
            case "STAT" or "LIST" or "UIDL" or "RETR" or "TOP" or "DELE" or "RSET" when InTransaction:
                await TransactionAsync(command, argument, cancellationToken).ConfigureAwait(false);
                return true;
            default:
                await SendAsync($"-ERR Unknown command: {Printable(command)}", cancellationToken).ConfigureAwait(false);
                return true;
        }
    }

    private string Greeting() => Style switch
    {
        Pop3ServerStyle.Exchange => "+OK The Microsoft Exchange POP3 service is ready. [RgBUAEcAYQB0AGUAVABlAHMAdAA=]",
        Pop3ServerStyle.Gmail => "+OK Gpop ready for requests from 127.0.0.1 ftgate.test",
        _ => "+OK Dovecot ready.",
    };

    private List<string> Capabilities()
    {
        bool uidl = !Faults.DisableUidl;
        bool top = !Faults.DisableTop;
        bool stls = !_tls && !InTransaction && _server.OfferStls;
        var lines = new List<string>();
        switch (Style)
        {
            case Pop3ServerStyle.Exchange:
                AddIf(lines, top, "TOP");
                AddIf(lines, uidl, "UIDL");
                lines.Add("SASL PLAIN XOAUTH2");
                lines.Add("USER");
                AddIf(lines, stls, "STLS");
                break;
            case Pop3ServerStyle.Gmail:
                lines.Add("USER");
                lines.Add("RESP-CODES");
                lines.Add("EXPIRE 0");
                lines.Add("LOGIN-DELAY 300");
                AddIf(lines, top, "TOP");
                AddIf(lines, uidl, "UIDL");
                lines.Add("X-GOOGLE-RICO");
                AddIf(lines, stls, "STLS");
                lines.Add("SASL PLAIN XOAUTH2 OAUTHBEARER");
                break;
            default:
                lines.Add("CAPA");
                AddIf(lines, top, "TOP");
                AddIf(lines, uidl, "UIDL");
                lines.Add("RESP-CODES");
                lines.Add("PIPELINING");
                lines.Add("AUTH-RESP-CODE");
                AddIf(lines, stls, "STLS");
                lines.Add("USER");
                lines.Add("SASL PLAIN XOAUTH2 OAUTHBEARER");
                break;
        }

        return lines;

        static void AddIf(List<string> list, bool condition, string value)
        {
            if (condition)
            {
                list.Add(value);
            }
        }
    }

    private bool SupportsMechanism(string mechanism) => mechanism switch
    {
        "PLAIN" or "XOAUTH2" => true,
        "OAUTHBEARER" => Style != Pop3ServerStyle.Exchange,
        _ => false,
    };

    private async Task StlsAsync(CancellationToken cancellationToken)
    {
        if (_tls)
        {
            await SendAsync("-ERR [IN-USE] TLS is already active.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!_server.OfferStls)
        {
            await SendAsync("-ERR Unknown command: STLS", cancellationToken).ConfigureAwait(false);
            return;
        }

        await SendAsync("+OK Begin TLS negotiation now.", cancellationToken).ConfigureAwait(false);
        await StartTlsAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task StartTlsAsync(CancellationToken cancellationToken)
    {
        var ssl = new SslStream(_network, leaveInnerStreamOpen: true);
        _stream = ssl;
        await ssl.AuthenticateAsServerAsync(
            new SslServerAuthenticationOptions { ServerCertificate = _server.Certificate, ClientCertificateRequired = false },
            cancellationToken).ConfigureAwait(false);
        _reader.Reset(ssl); // Anything sent before the handshake is discarded (RFC 2595 §4).
        _tls = true;
    }

    private async Task<bool> RefuseInsecureAsync(CancellationToken cancellationToken)
    {
        if (_tls || !_server.RequireTlsForAuthentication)
        {
            return false;
        }

        await SendAsync("-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.", cancellationToken).ConfigureAwait(false);
        return true;
    }

    private async Task AuthAsync(string argument, CancellationToken cancellationToken)
    {
        if (argument.Length == 0)
        {
            await SendMechanismsAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        if (await RefuseInsecureAsync(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        string[] parts = argument.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        string mechanism = parts[0].ToUpperInvariant();
        if (!SupportsMechanism(mechanism))
        {
            await SendAsync("-ERR Unsupported authentication mechanism.", cancellationToken).ConfigureAwait(false);
            return;
        }

        string response = parts.Length > 1 ? parts[1] : await ReadContinuationAsync(cancellationToken).ConfigureAwait(false);
        if (response == "*")
        {
            await SendAsync("-ERR Authentication aborted by client.", cancellationToken).ConfigureAwait(false);
            return;
        }

        byte[] payload;
        try
        {
            payload = response == "=" ? [] : Convert.FromBase64String(response);
        }
        catch (FormatException)
        {
            _server.Counters.Login(false);
            await SendAsync("-ERR Invalid base64 data in continued response", cancellationToken).ConfigureAwait(false);
            return;
        }

        string text = Encoding.UTF8.GetString(payload);
        if (mechanism == "PLAIN")
        {
            string[] fields = text.Split('\0');
            bool ok = fields.Length == 3 && CheckPassword(fields[1], fields[2]);
            await FinishPasswordLoginAsync(ok ? fields[1] : null, cancellationToken).ConfigureAwait(false);
            return;
        }

        (string? saslUser, string? token) = mechanism == "XOAUTH2" ? ParseXOAuth2(text) : ParseOAuthBearer(text);
        string? user = token is null ? null : await ValidateTokenAsync(saslUser, token, cancellationToken).ConfigureAwait(false);
        if (user is not null)
        {
            await LoginAsync(user, cancellationToken).ConfigureAwait(false);
            return;
        }

        await RejectOAuthAsync(mechanism, cancellationToken).ConfigureAwait(false);
    }

    private async Task SendMechanismsAsync(CancellationToken cancellationToken)
    {
        var mechanisms = new List<string> { "PLAIN", "XOAUTH2" };
        if (SupportsMechanism("OAUTHBEARER"))
        {
            mechanisms.Add("OAUTHBEARER");
        }

        await SendMultiAsync("+OK", mechanisms, cancellationToken).ConfigureAwait(false);
    }

    private async Task<string> ReadContinuationAsync(CancellationToken cancellationToken)
    {
        await SendAsync("+ ", cancellationToken).ConfigureAwait(false);
        return await _reader.ReadLineAsync(MaxLineLength, cancellationToken).ConfigureAwait(false) ?? throw new DropConnectionException();
    }

    private async Task RejectOAuthAsync(string mechanism, CancellationToken cancellationToken)
    {
        _server.Counters.Login(false);
        string? challenge = Style switch
        {
            Pop3ServerStyle.Exchange => null,
            Pop3ServerStyle.Gmail => """{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}""",
            _ when mechanism == "OAUTHBEARER" => """{"status":"invalid_token"}""",
            _ => """{"status":"401","schemes":"bearer","scope":"mail"}""",
        };
        if (challenge is not null)
        {
            // The SASL error challenge: the client is expected to answer with an empty line (XOAUTH2) or "AQ==" (OAUTHBEARER).
            await SendAsync("+ " + Convert.ToBase64String(Encoding.UTF8.GetBytes(challenge)), cancellationToken).ConfigureAwait(false);
            if (await _reader.ReadLineAsync(MaxLineLength, cancellationToken).ConfigureAwait(false) is null)
            {
                throw new DropConnectionException();
            }
        }

        await SendAsync(
            Style switch
            {
                Pop3ServerStyle.Exchange => "-ERR Authentication failure: unknown user name or bad password.",
                Pop3ServerStyle.Gmail => "-ERR [AUTH] Invalid credentials.",
                _ => "-ERR [AUTH] Authentication failed.",
            },
            cancellationToken).ConfigureAwait(false);
    }

    private static (string? User, string? Token) ParseXOAuth2(string text)
    {
        // user={user}\x01auth=Bearer {token}\x01\x01
        string? user = null;
        string? token = null;
        foreach (string field in text.Split('\x01'))
        {
            if (field.StartsWith("user=", StringComparison.Ordinal))
            {
                user = field[5..];
            }
            else if (field.StartsWith("auth=", StringComparison.Ordinal))
            {
                token = BearerValue(field[5..]);
            }
        }

        return (user, token);
    }

    private static (string? User, string? Token) ParseOAuthBearer(string text)
    {
        // n,a={user},\x01host=...\x01port=...\x01auth=Bearer {token}\x01\x01 (RFC 7628 §3.1)
        string[] fields = text.Split('\x01');
        string? user = null;
        foreach (string part in fields[0].Split(','))
        {
            if (part.StartsWith("a=", StringComparison.Ordinal))
            {
                user = part[2..].Replace("=2C", ",", StringComparison.Ordinal).Replace("=3D", "=", StringComparison.Ordinal);
            }
        }

        string? token = null;
        foreach (string field in fields.Skip(1))
        {
            if (field.StartsWith("auth=", StringComparison.Ordinal))
            {
                token = BearerValue(field[5..]);
            }
        }

        return (user, token);
    }

    private static string? BearerValue(string value) =>
        value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && value.Length > 7 ? value[7..] : null;

    private async Task<string?> ValidateTokenAsync(string? saslUser, string token, CancellationToken cancellationToken)
    {
        if (Faults.TakeAuthenticationRejection() || _server.TokenValidator is not { } validator)
        {
            return null;
        }

        TestTokenInfo? info = await validator.ValidateAsync(token, cancellationToken).ConfigureAwait(false);
        if (info is null || (_server.RequiredScope is { } scope && !info.Scopes.Contains(scope, StringComparer.Ordinal)))
        {
            return null;
        }

        if (info.UserName is null)
        {
            return _server.AcceptAppOnlyTokens && !string.IsNullOrEmpty(saslUser) ? saslUser : null;
        }

        if (!string.IsNullOrEmpty(saslUser) && !string.Equals(saslUser, info.UserName, StringComparison.OrdinalIgnoreCase))
        {
            // A shared mailbox: the token's user must hold FullAccess on it (Exchange only).
            return Style == Pop3ServerStyle.Exchange && _server.HasFullAccess(saslUser, info.UserName) ? saslUser : null;
        }

        return info.UserName;
    }

    private bool CheckPassword(string user, string password) =>
        _server.TryGetMailbox(user) is { Password: { } expected } && string.Equals(expected, password, StringComparison.Ordinal);

    private async Task UserAsync(string argument, CancellationToken cancellationToken)
    {
        if (await RefuseInsecureAsync(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        _user = argument;
        await SendAsync(Style == Pop3ServerStyle.Gmail ? "+OK send PASS" : "+OK", cancellationToken).ConfigureAwait(false);
    }

    private async Task PassAsync(string argument, CancellationToken cancellationToken)
    {
        if (_user is null)
        {
            await SendAsync("-ERR No username given.", cancellationToken).ConfigureAwait(false);
            return;
        }

        string user = _user;
        _user = null;
        await FinishPasswordLoginAsync(CheckPassword(user, argument) ? user : null, cancellationToken).ConfigureAwait(false);
    }

    private async Task FinishPasswordLoginAsync(string? user, CancellationToken cancellationToken)
    {
        if (user is not null)
        {
            await LoginAsync(user, cancellationToken).ConfigureAwait(false);
            return;
        }

        _server.Counters.Login(false);
        await SendAsync(
            Style switch
            {
                Pop3ServerStyle.Exchange => "-ERR Logon failure: unknown user name or bad password.",
                Pop3ServerStyle.Gmail => "-ERR [AUTH] Username and password not accepted.",
                _ => "-ERR [AUTH] Authentication failed.",
            },
            cancellationToken).ConfigureAwait(false);
    }

    private async Task LoginAsync(string user, CancellationToken cancellationToken)
    {
        _mailbox = _server.GetMailbox(user);
        _maildrop = _mailbox.Messages;
        _deleted = new bool[_maildrop.Count];
        _server.Counters.Login(true);
        await SendAsync(
            Style switch
            {
                Pop3ServerStyle.Exchange => "+OK User successfully authenticated.",
                Pop3ServerStyle.Gmail => "+OK Welcome.",
                _ => "+OK Logged in.",
            },
            cancellationToken).ConfigureAwait(false);
    }

    private async Task TransactionAsync(string command, string argument, CancellationToken cancellationToken)
    {
        if (Faults.AccountNotEnabledForPop)
        {
            await SendAsync(PopDisabled, cancellationToken).ConfigureAwait(false);
            return;
        }

        string[] args = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Task reply = command switch
        {
            "STAT" => StatAsync(cancellationToken),
            "LIST" or "UIDL" => ListAsync(command == "UIDL", args, cancellationToken),
            "RETR" => RetrAsync(args, cancellationToken),
            "TOP" => TopAsync(args, cancellationToken),
            "DELE" => DeleAsync(args, cancellationToken),
            _ => RsetAsync(cancellationToken),
        };
        await reply.ConfigureAwait(false);
    }

    private async Task StatAsync(CancellationToken cancellationToken)
    {
        long size = 0;
        int count = 0;
        for (int i = 0; i < _maildrop.Count; i++)
        {
            if (!_deleted[i])
            {
                count++;
                size += _maildrop[i].Size;
            }
        }

        await SendAsync($"+OK {count + Faults.StatCountOffset} {size}", cancellationToken).ConfigureAwait(false);
    }

    private async Task ListAsync(bool uidl, string[] args, CancellationToken cancellationToken)
    {
        if (uidl && Faults.DisableUidl)
        {
            await SendAsync("-ERR Unknown command: UIDL", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (args.Length > 0)
        {
            if (await MessageAsync(args[0], cancellationToken).ConfigureAwait(false) is int n)
            {
                await SendAsync($"+OK {n + 1} {(uidl ? _maildrop[n].Uid : _maildrop[n].Size)}", cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        IReadOnlyList<string> lines = ListingLines(uidl);
        await SendMultiAsync(uidl ? "+OK" : $"+OK {lines.Count} messages:", lines, cancellationToken).ConfigureAwait(false);
    }

    private async Task RetrAsync(string[] args, CancellationToken cancellationToken)
    {
        if (await MessageAsync(args.FirstOrDefault(), cancellationToken).ConfigureAwait(false) is not int retr)
        {
            return;
        }

        _server.Counters.Retr();
        TestMessage message = _maildrop[retr];
        if (Faults.TakeRetrRefusal(message.Uid) is { } refusal)
        {
            await SendAsync(refusal, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (await HostileRetrAsync(message, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        await SendDataAsync(
            $"+OK {message.Size} octets",
            Pop3Wire.ToWireBody(message.Content.Span),
            Faults.TakeRetrDrop(retr + 1),
            cancellationToken).ConfigureAwait(false);
    }

    private async Task TopAsync(string[] args, CancellationToken cancellationToken)
    {
        if (Faults.DisableTop)
        {
            await SendAsync("-ERR Unknown command: TOP", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (args.Length < 2 || !int.TryParse(args[1], out int bodyLines) || bodyLines < 0)
        {
            await SendAsync("-ERR Invalid number of lines.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (await MessageAsync(args[0], cancellationToken).ConfigureAwait(false) is int top)
        {
            _server.Counters.Top();
            await SendDataAsync("+OK", Pop3Wire.ToWireTop(_maildrop[top].Content.Span, bodyLines), null, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task DeleAsync(string[] args, CancellationToken cancellationToken)
    {
        if (await MessageAsync(args.FirstOrDefault(), cancellationToken).ConfigureAwait(false) is int dele)
        {
            _deleted[dele] = true;
            await SendAsync("+OK Marked to be deleted.", cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RsetAsync(CancellationToken cancellationToken)
    {
        Array.Clear(_deleted);
        await SendAsync("+OK", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Parses a message number; answers -ERR and returns null when it names no (undeleted) message.</summary>
    private async Task<int?> MessageAsync(string? argument, CancellationToken cancellationToken)
    {
        if (!int.TryParse(argument, out int number))
        {
            await SendAsync("-ERR Invalid message number: " + Printable(argument ?? string.Empty), cancellationToken).ConfigureAwait(false);
            return null;
        }

        if (number < 1 || number > _maildrop.Count)
        {
            await SendAsync($"-ERR There's no message {number}.", cancellationToken).ConfigureAwait(false);
            return null;
        }

        if (_deleted[number - 1])
        {
            await SendAsync("-ERR Message is deleted.", cancellationToken).ConfigureAwait(false);
            return null;
        }

        return number - 1;
    }

    private async Task QuitAsync(CancellationToken cancellationToken)
    {
        if (_mailbox is null)
        {
            await SendAsync("+OK Logging out", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (Faults.RefuseQuit)
        {
            await SendAsync("-ERR [SYS/TEMP] Unable to commit the deletions.", cancellationToken).ConfigureAwait(false);
            return;
        }

        // UPDATE state (RFC 1939 §6): only now do the deletions take effect.
        var doomed = new List<TestMessage>();
        for (int i = 0; i < _maildrop.Count; i++)
        {
            if (_deleted[i])
            {
                doomed.Add(_maildrop[i]);
            }
        }

        int removed = _mailbox.RemoveMessages(doomed);
        _server.Counters.Quit(removed);
        await SendAsync(doomed.Count > 0 ? "+OK Logging out, messages deleted." : "+OK Logging out.", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The lines of a LIST or UIDL listing, with the fault overrides and rewrite applied.</summary>
    private IReadOnlyList<string> ListingLines(bool uidl)
    {
        var lines = new List<string>();
        for (int i = 0; i < _maildrop.Count; i++)
        {
            if (_deleted[i])
            {
                continue;
            }

            TestMessage m = _maildrop[i];
            if (uidl)
            {
                if (Faults.TryGetUidlOverride(m.Uid, out string? listed))
                {
                    if (listed is not null)
                    {
                        lines.Add($"{i + 1} {listed}");
                    }
                }
                else
                {
                    lines.Add($"{i + 1} {m.Uid}");
                }
            }
            else
            {
                lines.Add($"{i + 1} {Faults.SizeOverride(m.Uid) ?? m.Size.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
            }
        }

        return Faults.RewriteListing is { } rewrite ? rewrite(uidl ? "UIDL" : "LIST", lines) : lines;
    }

    /// <summary>The stall, drip and endless RETR faults; false when the message is sent normally.</summary>
    private async Task<bool> HostileRetrAsync(TestMessage message, CancellationToken cancellationToken)
    {
        (TestPop3Faults.RetrBehaviour behaviour, int afterBytes) = Faults.GetRetrBehaviour(message.Uid);
        if (behaviour == TestPop3Faults.RetrBehaviour.Normal)
        {
            return false;
        }

        byte[] body = Pop3Wire.ToWireBody(message.Content.Span);
        await _stream.WriteAsync(Encoding.ASCII.GetBytes($"+OK {message.Size} octets\r\n"), cancellationToken).ConfigureAwait(false);
        switch (behaviour)
        {
            case TestPop3Faults.RetrBehaviour.Stall:
                await _stream.WriteAsync(body.AsMemory(0, Math.Min(afterBytes, body.Length)), cancellationToken).ConfigureAwait(false);
                await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                Faults.SignalStalled();
                await System.Threading.Tasks.Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                break;
            case TestPop3Faults.RetrBehaviour.Drip:
                await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                Faults.SignalStalled();
                for (int i = 0; i < body.Length; i++)
                {
                    await Faults.WaitTickAsync(cancellationToken).ConfigureAwait(false);
                    await _stream.WriteAsync(body.AsMemory(i, 1), cancellationToken).ConfigureAwait(false);
                    await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                    Faults.TickSent();
                }

                await _stream.WriteAsync(".\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                break;
            default:
                Faults.SignalStalled();
                await SendEndlessAsync(string.Empty, long.MaxValue, cancellationToken).ConfigureAwait(false);
                break;
        }

        return true;
    }

    /// <summary>Sends <paramref name="prefix"/> and then <paramref name="count"/> bytes of 'x' without a line break.</summary>
    private async Task SendEndlessAsync(string prefix, long count, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(prefix), cancellationToken).ConfigureAwait(false);
        byte[] chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)'x');
        for (long sent = 0; sent < count; sent += chunk.Length)
        {
            await _stream.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, count - sent)), cancellationToken).ConfigureAwait(false);
        }

        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay > TimeSpan.Zero)
        {
            await System.Threading.Tasks.Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task SendAsync(string line, CancellationToken cancellationToken)
    {
        await DelayAsync(Faults.ResponseDelay, cancellationToken).ConfigureAwait(false);
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\r\n"), cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task SendMultiAsync(string first, IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        var builder = new StringBuilder();
        builder.Append(first).Append("\r\n");
        foreach (string line in lines)
        {
            builder.Append(line.StartsWith('.') ? "." : string.Empty).Append(line).Append("\r\n");
        }

        await SendDataAsync(null, Encoding.Latin1.GetBytes(builder.ToString()), null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a status line (when given), a dot-stuffed multi-line body ending in CRLF, and the terminating dot line.</summary>
    private async Task SendDataAsync(string? status, byte[] body, long? dropAfter, CancellationToken cancellationToken)
    {
        await DelayAsync(Faults.ResponseDelay, cancellationToken).ConfigureAwait(false);
        if (status is not null)
        {
            await _stream.WriteAsync(Encoding.UTF8.GetBytes(status + "\r\n"), cancellationToken).ConfigureAwait(false);
        }

        int limit = dropAfter is { } d ? (int)Math.Min(d, body.Length) : body.Length;
        TimeSpan lineDelay = Faults.LineDelay;
        if (lineDelay > TimeSpan.Zero)
        {
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            int position = 0;
            while (position < limit)
            {
                int end = Array.IndexOf(body, (byte)'\n', position, limit - position);
                end = end < 0 ? limit : end + 1;
                await DelayAsync(lineDelay, cancellationToken).ConfigureAwait(false);
                await _stream.WriteAsync(body.AsMemory(position, end - position), cancellationToken).ConfigureAwait(false);
                await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                position = end;
            }
        }
        else
        {
            await _stream.WriteAsync(body.AsMemory(0, limit), cancellationToken).ConfigureAwait(false);
        }

        if (dropAfter is not null)
        {
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            throw new DropConnectionException();
        }

        await _stream.WriteAsync(".\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string Printable(string value)
    {
        string cut = value.Length > 40 ? value[..40] : value;
        return new string([.. cut.Select(c => c is < ' ' or > '~' ? '?' : c)]);
    }

    private sealed class DropConnectionException : Exception;
}
