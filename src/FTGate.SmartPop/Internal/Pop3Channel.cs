using System.Security.Cryptography;
using System.Text;

namespace FTGate.SmartPop.Internal;

/// <summary>A read or write took longer than CommandTimeout (the server stalled or drips too slowly).</summary>
internal sealed class Pop3TimeoutException(string message) : IOException(message);

/// <summary>The server broke the protocol: a line over the limit, a listing too large, bytes out of turn.</summary>
internal sealed class Pop3ProtocolViolationException(string message) : IOException(message);

/// <summary>
/// The part the session's streams share: forward only (no length, position or seeking), every array-based read and write
/// forwarded to the <see cref="Memory{T}"/> overloads the stream implements, flushing a no-op unless a stream overrides it.
/// </summary>
internal abstract class ForwardOnlyStream : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    public abstract override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>
/// The transport every byte of a session passes through (MailKit's greeting, CAPA and AUTH, and SmartPop's own commands):
/// each read and write is limited to CommandTimeout (a per-read idle limit; async reads ignore <c>ReadTimeout</c>), and while
/// <see cref="LimitLines"/> is set (MailKit is reading status lines) a line longer than <see cref="MaxLine"/> is refused
/// before MailKit can buffer it.
/// </summary>
internal sealed class GuardedStream(Stream inner, TimeSpan timeout, TimeProvider time) : ForwardOnlyStream
{
    public const int MaxLine = 64 * 1024;
    private long _sinceLineFeed;

    public bool LimitLines { get; set; } = true;

    public Stream Inner => inner;

    public override bool CanWrite => true;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int read;
        using (var limit = new CancellationTokenSource(timeout, time))
        using (cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), limit)) // s is limit
        {
            try
            {
                read = await inner.ReadAsync(buffer, limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new Pop3TimeoutException($"the server sent nothing for {timeout.TotalSeconds:0.#} s (CommandTimeout)");
            }
        }

        if (LimitLines && read > 0)
        {
            int lf = buffer.Span[..read].LastIndexOf((byte)'\n');
            _sinceLineFeed = lf >= 0 ? read - lf - 1 : _sinceLineFeed + read;
            if (_sinceLineFeed > MaxLine)
            {
                throw new Pop3ProtocolViolationException($"the server sent a line of more than {MaxLine / 1024} KiB");
            }
        }

        return read;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        using var limit = new CancellationTokenSource(timeout, time);
        using (cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), limit)) // s is limit
        {
            try
            {
                await inner.WriteAsync(buffer, limit.Token).ConfigureAwait(false);
                await inner.FlushAsync(limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new Pop3TimeoutException($"the server accepted nothing for {timeout.TotalSeconds:0.#} s (CommandTimeout)");
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>Gives MailKit a greeting SmartPop already read (before STLS), then the secured stream.</summary>
internal sealed class ReplayStream(byte[] prefix, Stream inner) : ForwardOnlyStream
{
    private int _position;

    public override bool CanWrite => true;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position < prefix.Length)
        {
            int n = Math.Min(buffer.Length, prefix.Length - _position);
            prefix.AsSpan(_position, n).CopyTo(buffer.Span);
            _position += n;
            return ValueTask.FromResult(n);
        }

        return inner.ReadAsync(buffer, cancellationToken);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// SmartPop's own reading of POP3 replies on the session's transport (used after MailKit has logged in, and for STLS): status
/// lines (at most 64 KiB, Latin-1 so every byte survives), and multi-line bodies through a <see cref="DotUnstuffer"/>.
/// </summary>
internal sealed class Pop3Reader(Stream stream)
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly DotUnstuffer _decoder = new();
    private int _start;
    private int _end;

    /// <summary>Bytes the server sent that no reply has consumed yet.</summary>
    public bool HasBufferedData => _end > _start;

    public async Task WriteLineAsync(string line, CancellationToken cancellationToken) =>
        await stream.WriteAsync(Encoding.Latin1.GetBytes(line + "\r\n"), cancellationToken).ConfigureAwait(false);

    /// <summary>Reads one line (without CRLF). Throws <see cref="Pop3ProtocolViolationException"/> past <paramref name="maxLength"/>.</summary>
    public async Task<string> ReadLineAsync(int maxLength, CancellationToken cancellationToken)
    {
        StringBuilder? long_ = null;
        while (true)
        {
            int lf = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (lf >= 0)
            {
                int length = lf;
                if (length > 0 && _buffer[_start + length - 1] == (byte)'\r')
                {
                    length--;
                }

                string piece = Encoding.Latin1.GetString(_buffer, _start, length);
                _start += lf + 1;
                if ((long_?.Length ?? 0) + length > maxLength)
                {
                    throw new Pop3ProtocolViolationException($"the server sent a line of more than {maxLength / 1024} KiB");
                }

                return long_ is null ? piece : long_.Append(piece).ToString().TrimEnd('\r');
            }

            if (_end > _start)
            {
                long_ ??= new StringBuilder();
                long_.Append(Encoding.Latin1.GetString(_buffer, _start, _end - _start));
                if (long_.Length > maxLength)
                {
                    throw new Pop3ProtocolViolationException($"the server sent a line of more than {maxLength / 1024} KiB");
                }
            }

            await FillAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Starts reading a multi-line body (after its +OK status line).</summary>
    public void BeginData() => _decoder.Reset();

    /// <summary>Reads decoded body bytes; 0 once the terminating line was read. <paramref name="destination"/> holds at least 2 bytes.</summary>
    public async ValueTask<int> ReadDataAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_decoder.IsDone)
            {
                return 0;
            }

            if (_end == _start)
            {
                await FillAsync(cancellationToken).ConfigureAwait(false);
            }

            (int consumed, int written) = _decoder.Decode(_buffer.AsSpan(_start, _end - _start), destination.Span);
            _start += consumed;
            if (written > 0)
            {
                return written;
            }
        }
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        _start = 0;
        _end = 0;
        int read = await stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            throw new EndOfStreamException("the server closed the connection");
        }

        _end = read;
    }
}

/// <summary>What happened to a streamed message.</summary>
internal enum RetrOutcome
{
    /// <summary>Still being read.</summary>
    Open,

    /// <summary>Read to its terminator.</summary>
    Complete,

    /// <summary>More bytes arrived than MaxMessageSize: abandoned, the session is out of sync.</summary>
    TooLarge,

    /// <summary>The transfer broke (connection lost, timeout, protocol violation): the session is unusable.</summary>
    Broken,

    /// <summary>Read to its terminator, but its digest is not the one expected (the server changed the message): not delivered; the session is in sync.</summary>
    Mismatch,
}

/// <summary>
/// One RETR body, read from the connection as the consumer reads it (nothing is buffered beyond the reader's 64 KiB). Counts
/// the bytes actually received against MaxMessageSize and hashes them (the message's digest for identity).
/// </summary>
internal sealed class RetrStream : ForwardOnlyStream
{
    private readonly Pop3Reader _reader;
    private readonly long _maxBytes;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly CancellationToken _cancellationToken;
    private readonly byte[] _small = new byte[2];
    private int _smallStart;
    private int _smallEnd;
    private byte[]? _digest;

    public RetrStream(Pop3Reader reader, long maxBytes, CancellationToken cancellationToken)
    {
        _reader = reader;
        _maxBytes = maxBytes;
        _cancellationToken = cancellationToken;
        reader.BeginData();
    }

    public RetrOutcome Outcome { get; private set; }

    /// <summary>When set, the end of the message is refused (an exception instead of the last 0) unless its digest equals this.</summary>
    public byte[]? ExpectedDigest { get; set; }

    public Exception? Failure { get; private set; }

    /// <summary>The bytes received so far (after dot-unstuffing).</summary>
    public long Received { get; private set; }

    /// <summary>The SHA-256 of the whole message (after <see cref="RetrOutcome.Complete"/>).</summary>
    public byte[] Digest => _digest ?? throw new InvalidOperationException("The message was not read to its end.");

    public override bool CanWrite => false;

    public override long Position { get => Received; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (_smallEnd > _smallStart)
        {
            buffer.Span[0] = _small[_smallStart++];
            return 1;
        }

        if (buffer.Length < 2)
        {
            int n = await ReadCoreAsync(_small, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return 0;
            }

            buffer.Span[0] = _small[0];
            _smallStart = 1;
            _smallEnd = n;
            return 1;
        }

        return await ReadCoreAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads (and hashes) what is left of the message without keeping it, so the session can go on.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        byte[] scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (_smallEnd > _smallStart || Outcome == RetrOutcome.Open)
            {
                _smallStart = _smallEnd = 0;
                if (await ReadCoreAsync(scratch, cancellationToken).ConfigureAwait(false) == 0)
                {
                    break;
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromException(new NotSupportedException());

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }

    private async ValueTask<int> ReadCoreAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        switch (Outcome)
        {
            case RetrOutcome.Complete:
                return 0;
            case RetrOutcome.TooLarge or RetrOutcome.Broken or RetrOutcome.Mismatch:
                throw new IOException("The message transfer was abandoned.", Failure);
        }

        int n;
        try
        {
            using CancellationTokenSource? linked = cancellationToken.CanBeCanceled && _cancellationToken.CanBeCanceled
                ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cancellationToken)
                : null;
            n = await _reader.ReadDataAsync(buffer, linked?.Token ?? (cancellationToken.CanBeCanceled ? cancellationToken : _cancellationToken)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            Outcome = RetrOutcome.Broken;
            Failure = ex;
            throw;
        }

        if (n == 0)
        {
            _digest = _hash.GetHashAndReset();
            if (ExpectedDigest is not null && !ExpectedDigest.AsSpan().SequenceEqual(_digest))
            {
                Outcome = RetrOutcome.Mismatch;
                Failure = new IOException("The message changed on the server between its identification and its delivery.");
                throw Failure;
            }

            Outcome = RetrOutcome.Complete;
            return 0;
        }

        Received += n;
        if (Received > _maxBytes)
        {
            Outcome = RetrOutcome.TooLarge;
            Failure = new IOException($"The message grew past MaxMessageSize ({_maxBytes} bytes) while it was received.");
            throw Failure;
        }

        _hash.AppendData(buffer.Span[..n]);
        return n;
    }
}
