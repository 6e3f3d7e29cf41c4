using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace FTGate.OAuth;

/// <summary>The Unix parts of <see cref="FileTokenStore"/>: lock files opened without following symlinks.</summary>
public sealed partial class FileTokenStore
{
    private const int LockExclusive = 2; // LOCK_EX
    private const int LockNonBlocking = 4; // LOCK_NB
    private const int ErrnoLoop = 40; // ELOOP on Linux (a symlink met with O_NOFOLLOW)
    private const int ErrnoLoopBsd = 62; // ELOOP on macOS and the BSDs

    /// <summary>
    /// Opens (creating 0600) and locks a lock file with <c>O_NOFOLLOW</c>: a symlink planted at the lock's path is refused,
    /// never followed. Returns <see langword="null"/> when another holder has the lock (the caller retries).
    /// </summary>
    /// <exception cref="TokenStoreCorruptedException">The lock path is a symbolic link.</exception>
    private static FileStream? TryLockUnix(string lockPath)
    {
        int flags = OpenFlags();
        int fd = NativeOpen(lockPath, flags, 0b110_000_000);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is ErrnoLoop or ErrnoLoopBsd || IsSymlink(lockPath))
            {
                throw new TokenStoreCorruptedException(
                    Path.GetFileName(lockPath),
                    lockPath,
                    "the lock file is a symbolic link, which the store never follows (someone may be trying to make it write elsewhere): remove the link, and check who can write to the folder");
            }

            throw new IOException($"Cannot open the lock file '{lockPath}' (errno {errno}).");
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (NativeFlock(fd, LockExclusive | LockNonBlocking) != 0)
        {
            handle.Dispose();
            return null;
        }

        // A lock file removed by a clean-up between our open and our lock is an orphan: locking it would not exclude anyone.
        if (OperatingSystem.IsLinux() && IsDeleted(fd))
        {
            handle.Dispose();
            return null;
        }

        return new FileStream(handle, FileAccess.ReadWrite);
    }

    private static bool IsSymlink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget is not null;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static bool IsDeleted(int fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd}").LinkTarget?.EndsWith(" (deleted)", StringComparison.Ordinal) == true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC for this platform.</summary>
    private static int OpenFlags()
    {
        const int ReadWrite = 2;
        if (OperatingSystem.IsLinux())
        {
            bool arm = RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64;
            return ReadWrite | 0x40 /* O_CREAT */ | (arm ? 0x8000 : 0x20000) /* O_NOFOLLOW */ | 0x80000 /* O_CLOEXEC */;
        }

        if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
        {
            return ReadWrite | 0x200 /* O_CREAT */ | 0x100 /* O_NOFOLLOW */ | (OperatingSystem.IsMacOS() ? 0x1000000 : 0x100000) /* O_CLOEXEC */;
        }

        throw new PlatformNotSupportedException("FileTokenStore's lock files need Linux, macOS, FreeBSD or Windows.");
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int NativeOpen(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int NativeFlock(int fd, int operation);
}
