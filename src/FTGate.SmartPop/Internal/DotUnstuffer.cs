namespace FTGate.SmartPop.Internal;

/// <summary>
/// Incremental decoder of a POP3 multi-line response body (RFC 1939 §3): removes the stuffed dot of lines that start with
/// "..", keeps a lone leading dot the server failed to stuff (as MailKit does), and stops at the terminating ".CRLF" (".LF"
/// accepted too). It is fed the wire bytes in chunks of any size and never buffers more than two bytes of state, so a
/// message of any length passes through in constant memory.
/// </summary>
internal sealed class DotUnstuffer
{
    private State _state = State.LineStart;

    private enum State
    {
        LineStart,
        InLine,
        Dot,
        DotCr,
        Done,
    }

    /// <summary>Whether the terminating line was seen.</summary>
    public bool IsDone => _state == State.Done;

    /// <summary>Starts a new response body.</summary>
    public void Reset() => _state = State.LineStart;

    /// <summary>
    /// Decodes as much of <paramref name="input"/> as fits into <paramref name="output"/> (which must hold at least 2 bytes).
    /// Stops right after the terminator: the bytes after it are not consumed (they belong to the next response).
    /// </summary>
    /// <returns>The input bytes consumed and the output bytes written.</returns>
    public (int Consumed, int Written) Decode(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int i = 0;
        int o = 0;
        while (i < input.Length && _state != State.Done && output.Length - o >= 2)
        {
            byte b = input[i];
            switch (_state)
            {
                case State.InLine:
                    CopyLine(input, output, ref i, ref o);
                    break;

                case State.LineStart:
                    if (b == (byte)'.')
                    {
                        _state = State.Dot;
                        i++;
                    }
                    else
                    {
                        _state = State.InLine;
                    }

                    break;
                case State.Dot:
                    i++;
                    if (b == (byte)'\n')
                    {
                        _state = State.Done;
                    }
                    else if (b == (byte)'\r')
                    {
                        _state = State.DotCr;
                    }
                    else if (b == (byte)'.')
                    {
                        output[o++] = (byte)'.';
                        _state = State.InLine;
                    }
                    else
                    {
                        // A lone leading dot the server did not stuff: kept.
                        output[o++] = (byte)'.';
                        output[o++] = b;
                        _state = State.InLine;
                    }

                    break;
                default: // DotCr
                    if (b == (byte)'\n')
                    {
                        i++;
                        _state = State.Done;
                    }
                    else
                    {
                        // ".\r" not followed by LF: not a terminator; keep the bytes and go on (b is handled in line state).
                        output[o++] = (byte)'.';
                        output[o++] = (byte)'\r';
                        _state = State.InLine;
                    }

                    break;
            }
        }

        return (i, o);
    }

    /// <summary>The fast path: copies up to and including the next LF (or as much as fits).</summary>
    private void CopyLine(ReadOnlySpan<byte> input, Span<byte> output, ref int i, ref int o)
    {
        ReadOnlySpan<byte> rest = input[i..];
        int room = output.Length - o;
        int lf = rest.Length > room ? rest[..room].IndexOf((byte)'\n') : rest.IndexOf((byte)'\n');
        int take = lf >= 0 ? lf + 1 : Math.Min(rest.Length, room);
        rest[..take].CopyTo(output[o..]);
        i += take;
        o += take;
        if (lf >= 0)
        {
            _state = State.LineStart;
        }
    }
}
