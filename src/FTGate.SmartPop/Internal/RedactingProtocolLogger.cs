using System.Text;
using MailKit;
using Microsoft.Extensions.Logging;

namespace FTGate.SmartPop.Internal;

/// <summary>
/// MailKit protocol logger that (1) keeps the server's recent reply lines so errors can quote the server's own words
/// (MailKit's exceptions drop them), and (2) optionally forwards the dialogue to an <see cref="ILogger"/>. Client
/// secrets are masked twice: by MailKit's <see cref="IAuthenticationSecretDetector"/> (which a custom logger must apply
/// itself), and by masking every client line sent during authentication except the <c>AUTH</c>/<c>USER</c> command.
/// Message bodies are never logged or kept: server data is suppressed while a message is being retrieved.
/// </summary>
internal sealed class RedactingProtocolLogger : IProtocolLogger
{
    private const string Mask = "********";
    private readonly ILogger? _logger;
    private readonly string _accountName;
    private readonly StringBuilder _serverLine = new();
    private readonly StringBuilder _clientLine = new();
    private readonly LinkedList<string> _recent = new();
    private readonly object _gate = new();
    private volatile bool _suppress;

    public RedactingProtocolLogger(string accountName, ILogger? logger)
    {
        _accountName = accountName;
        _logger = logger is not null && logger.IsEnabled(LogLevel.Debug) ? logger : null;
    }

    public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; }

    /// <summary>Set while AUTH/USER/PASS runs: client lines other than the command itself are masked.</summary>
    public bool Authenticating { get; set; }

    /// <summary>Set while RETR/TOP data flows: server bytes are neither logged nor kept.</summary>
    public bool SuppressServerData
    {
        get => _suppress;
        set
        {
            _suppress = value;
            _serverLine.Clear();
        }
    }

    /// <summary>The last server reply line that was not message data.</summary>
    public string? LastServerLine
    {
        get
        {
            lock (_gate)
            {
                return _recent.Last?.Value;
            }
        }
    }

    /// <summary>The last server <c>-ERR</c> line, if the latest status line is one.</summary>
    public string? LastError
    {
        get
        {
            lock (_gate)
            {
                for (LinkedListNode<string>? node = _recent.Last; node is not null; node = node.Previous)
                {
                    if (node.Value.StartsWith("-ERR", StringComparison.Ordinal))
                    {
                        return node.Value;
                    }

                    if (node.Value.StartsWith("+OK", StringComparison.Ordinal))
                    {
                        return null;
                    }
                }

                return null;
            }
        }
    }

    /// <summary>Forgets the kept lines (before a command whose reply will be quoted).</summary>
    public void ClearRecent()
    {
        lock (_gate)
        {
            _recent.Clear();
        }
    }

    public void LogConnect(Uri uri) => _logger?.LogDebug("POP3 {Account} connect {Uri}", _accountName, uri);

    public void LogClient(byte[] buffer, int offset, int count)
    {
        byte[] copy = buffer.AsSpan(offset, count).ToArray();
        if (AuthenticationSecretDetector is { } detector)
        {
            foreach (AuthenticationSecret secret in detector.DetectSecrets(buffer, offset, count))
            {
                int start = secret.StartIndex - offset;
                for (int i = Math.Max(0, start); i < Math.Min(copy.Length, start + secret.Length); i++)
                {
                    copy[i] = (byte)'*';
                }
            }
        }

        foreach (string line in SplitLines(_clientLine, copy))
        {
            string shown = line;
            if (Authenticating
                && !line.StartsWith("AUTH ", StringComparison.OrdinalIgnoreCase)
                && !line.StartsWith("USER ", StringComparison.OrdinalIgnoreCase))
            {
                shown = line.Length == 0 ? line : Mask;
            }
            else if (line.StartsWith("PASS ", StringComparison.OrdinalIgnoreCase) || line.StartsWith("APOP ", StringComparison.OrdinalIgnoreCase))
            {
                shown = line[..5] + Mask;
            }

            _logger?.LogDebug("POP3 {Account} C: {Line}", _accountName, shown);
        }
    }

    public void LogServer(byte[] buffer, int offset, int count)
    {
        if (SuppressServerData)
        {
            return;
        }

        foreach (string line in SplitLines(_serverLine, buffer.AsSpan(offset, count)))
        {
            lock (_gate)
            {
                _recent.AddLast(line);
                if (_recent.Count > 16)
                {
                    _recent.RemoveFirst();
                }
            }

            _logger?.LogDebug("POP3 {Account} S: {Line}", _accountName, line);
        }
    }

    public void Dispose()
    {
    }

    private static List<string> SplitLines(StringBuilder pending, ReadOnlySpan<byte> data)
    {
        var lines = new List<string>();
        foreach (byte b in data)
        {
            if (b == (byte)'\n')
            {
                if (pending.Length > 0 && pending[^1] == '\r')
                {
                    pending.Length--;
                }

                lines.Add(pending.ToString());
                pending.Clear();
            }
            else if (pending.Length < 2048)
            {
                pending.Append(b is >= 0x20 and < 0x7f or (byte)'\r' ? (char)b : '?');
            }
        }

        return lines;
    }
}
