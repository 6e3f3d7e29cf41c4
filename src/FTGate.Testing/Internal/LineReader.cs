using System.Text;

namespace FTGate.Testing.Internal;

/// <summary>Reads CRLF (or LF) terminated lines from a stream, keeping what it read ahead (PIPELINING) until the stream is swapped (STLS).</summary>
internal sealed class LineReader(Stream stream)
{
    private readonly byte[] _buffer = new byte[8192];
    private Stream _stream = stream;
    private int _start;
    private int _end;

    /// <summary>Whether bytes the client sent ahead are waiting (a STLS command must not have any).</summary>
    public bool HasBufferedData => _end > _start;

    public void Reset(Stream stream)
    {
        _stream = stream;
        _start = 0;
        _end = 0;
    }

    /// <summary>Reads one line without its terminator; <see langword="null"/> at end of stream.</summary>
    /// <exception cref="InvalidDataException">The line is longer than <paramref name="maxLength"/>.</exception>
    public async ValueTask<string?> ReadLineAsync(int maxLength, CancellationToken cancellationToken)
    {
        var line = new List<byte>();
        while (true)
        {
            int newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                line.AddRange(new ArraySegment<byte>(_buffer, _start, newline - _start));
                _start = newline + 1;
                if (line.Count > 0 && line[^1] == (byte)'\r')
                {
                    line.RemoveAt(line.Count - 1);
                }

                return Encoding.Latin1.GetString([.. line]);
            }

            line.AddRange(new ArraySegment<byte>(_buffer, _start, _end - _start));
            _start = _end = 0;
            if (line.Count > maxLength)
            {
                throw new InvalidDataException("Line too long.");
            }

            int read = await _stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return null;
            }

            _end = read;
        }
    }
}
