namespace FTGate.Testing.Internal;

/// <summary>How a stored message travels on the POP3 wire, the way Dovecot sends it.</summary>
internal static class Pop3Wire
{
    /// <summary>
    /// The message with every bare LF turned into CRLF (existing CRLF kept, other bytes unchanged) and, when it does not end with
    /// a line break, one CRLF appended: exactly what a client holds after RETR and dot-unstuffing.
    /// </summary>
    public static byte[] ToClientBytes(ReadOnlySpan<byte> content)
    {
        var output = new List<byte>(content.Length + 64);
        AppendNormalized(content, output, dotStuff: false);
        if (output.Count < 2 || output[^2] != (byte)'\r' || output[^1] != (byte)'\n')
        {
            output.Add((byte)'\r');
            output.Add((byte)'\n');
        }

        return [.. output];
    }

    /// <summary>The size LIST and STAT report: the length with CRLF line ends, without the CRLF a missing last line break gets.</summary>
    public static long VirtualSize(ReadOnlySpan<byte> content)
    {
        long size = content.Length;
        for (int i = 0; i < content.Length; i++)
        {
            if (content[i] == (byte)'\n' && (i == 0 || content[i - 1] != (byte)'\r'))
            {
                size++;
            }
        }

        return size;
    }

    /// <summary>The multi-line body of a RETR answer: CRLF line ends, dot-stuffed, ending with CRLF (the terminating ".\r\n" not included).</summary>
    public static byte[] ToWireBody(ReadOnlySpan<byte> content)
    {
        var output = new List<byte>(content.Length + 64);
        AppendNormalized(content, output, dotStuff: true);
        if (output.Count < 2 || output[^2] != (byte)'\r' || output[^1] != (byte)'\n')
        {
            output.Add((byte)'\r');
            output.Add((byte)'\n');
        }

        return [.. output];
    }

    /// <summary>The body of a TOP answer: the header, the blank line and the first <paramref name="lines"/> body lines, dot-stuffed.</summary>
    public static byte[] ToWireTop(ReadOnlySpan<byte> content, int lines)
    {
        byte[] all = ToClientBytes(content);
        int end = 0;
        bool inHeader = true;
        int bodyLines = 0;
        int position = 0;
        while (position < all.Length)
        {
            int lineEnd = Array.IndexOf(all, (byte)'\n', position);
            lineEnd = lineEnd < 0 ? all.Length : lineEnd + 1;
            bool blank = lineEnd - position <= 2 && (lineEnd - position == 1 || all[position] == (byte)'\r');
            if (inHeader)
            {
                end = lineEnd;
                if (blank)
                {
                    inHeader = false;
                }
            }
            else
            {
                if (bodyLines >= lines)
                {
                    break;
                }

                bodyLines++;
                end = lineEnd;
            }

            position = lineEnd;
        }

        return ToWireBody(all.AsSpan(0, end));
    }

    private static void AppendNormalized(ReadOnlySpan<byte> content, List<byte> output, bool dotStuff)
    {
        bool lineStart = true;
        for (int i = 0; i < content.Length; i++)
        {
            byte b = content[i];
            if (lineStart && dotStuff && b == (byte)'.')
            {
                output.Add((byte)'.');
            }

            if (b == (byte)'\n' && (i == 0 || content[i - 1] != (byte)'\r'))
            {
                output.Add((byte)'\r');
            }

            output.Add(b);
            lineStart = b == (byte)'\n';
        }
    }
}
