using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace FTGate.OAuth.Internal;

/// <summary>
/// The <see cref="IGrantLock"/> of a <see cref="FileTokenStore"/>: an exclusive <c>flock</c> on a lock file beside the grant's
/// entry (<c>&lt;entry&gt;.tok.refresh-lock</c>), so every process on the machine that shares the folder refreshes a grant
/// one at a time. The file is opened without following a symbolic link (<c>O_NOFOLLOW</c>) and created 0600; the operating
/// system releases the lock when a holder dies. Within the process a semaphore per key queues the waiters first.
/// </summary>
internal sealed partial class FileGrantLock : IGrantLock
{
    /// <summary>Longer than one token request may take (HTTP clients time out after 100 s by default).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    private readonly FileTokenStore _store;
    private readonly TimeSpan _timeout;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _local = new(StringComparer.Ordinal);

    public FileGrantLock(FileTokenStore store, TimeSpan? timeout = null)
    {
        _store = store;
        _timeout = timeout ?? DefaultTimeout;
    }

    /// <summary>The lock file of a grant key.</summary>
    public string LockPath(string key) => _store.GetPath(key) + ".refresh-lock";

    public async Task<IAsyncDisposable> AcquireAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        SemaphoreSlim local = _local.GetOrAdd(key, static _ => new SemaphoreSlim(1, 1));
        if (!await local.WaitAsync(_timeout, cancellationToken).ConfigureAwait(false))
        {
            throw new TimeoutException(FormattableString.Invariant($"timed out after {_timeout.TotalSeconds:0} s waiting for this process's other refresh of the grant"));
        }

        try
        {
            string path = LockPath(key);
            EnsureDirectory(Path.GetDirectoryName(path) ?? ".");
            IDisposable file = await LockFileAsync(path, cancellationToken).ConfigureAwait(false);
            return new Held(file, local);
        }
        catch
        {
            local.Release();
            throw;
        }
    }

    private async Task<IDisposable> LockFileAsync(string path, CancellationToken cancellationToken)
    {
        long deadline = Environment.TickCount64 + (long)_timeout.TotalMilliseconds;
        int delay = 2;
        while (true)
        {
            if (TryTake(path) is { } held)
            {
                return held;
            }

            if (Environment.TickCount64 >= deadline)
            {
                throw new TimeoutException(FormattableString.Invariant($"timed out after {_timeout.TotalSeconds:0} s waiting for another process's refresh lock '{path}'"));
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = Math.Min(delay * 2, 50);
        }
    }

    /// <summary>The held lock (closing the descriptor releases it), or <see langword="null"/> when another process holds it.</summary>
    private static SafeFileHandle? TryTake(string path)
    {
        if (Flags.Current is null)
        {
            // No O_NOFOLLOW/flock here (Windows): an exclusive share-none open is the lock.
            try
            {
                return File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                return null;
            }
        }

        SafeFileHandle handle = OpenNoFollow(path, Flags.Current);
        if (Flock(handle, LockExclusive | LockNonBlocking) == 0)
        {
            return handle;
        }

        int errno = Marshal.GetLastPInvokeError();
        handle.Dispose();
        return errno == Flags.Current.WouldBlockErrno || errno == Flags.Current.InterruptedErrno
            ? null
            : throw new IOException($"flock failed on the refresh lock file '{path}' (errno {errno}).");
    }

    private static void EnsureDirectory(string directory)
    {
        if (System.IO.Directory.Exists(directory))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(directory);
        }
        else
        {
            System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static SafeFileHandle OpenNoFollow(string path, Flags flags)
    {
        SafeFileHandle handle = Open(path, flags.ReadWrite | flags.Create | flags.NoFollow | flags.CloseOnExec, 0x180 /* 0600 */);
        if (handle.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            throw new IOException(errno == flags.LoopErrno
                ? $"the refresh lock file '{path}' is a symbolic link; it is not followed. Remove it (and find out who created it)."
                : $"the refresh lock file '{path}' cannot be opened (errno {errno}); check the token folder's owner and permissions.");
        }

        return handle;
    }

    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial SafeFileHandle Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(SafeFileHandle fd, int operation);

    private sealed record Flags(int ReadWrite, int Create, int NoFollow, int CloseOnExec, int LoopErrno, int WouldBlockErrno, int InterruptedErrno)
    {
        public static readonly Flags? Current =
            OperatingSystem.IsLinux() ? new(2, 0x40, 0x20000, 0x80000, 40, 11, 4)
            : OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD() ? new(2, 0x200, 0x100, OperatingSystem.IsMacOS() ? 0x1000000 : 0x100000, 62, 35, 4)
            : null;
    }

    private sealed class Held(IDisposable file, SemaphoreSlim local) : IAsyncDisposable
    {
        private int _released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                file.Dispose();
                local.Release();
            }

            return ValueTask.CompletedTask;
        }
    }
}
