using System.Runtime.InteropServices;

namespace FTGate.OAuth.Internal;

/// <summary>
/// Makes a rename durable: after <c>rename(2)</c> the new directory entry is only on disk once the directory itself is
/// fsync'ed. .NET has no API for that, so on Unix this opens the directory read-only and calls <c>fsync</c>; elsewhere (and
/// if the call fails) it does nothing — the file's own data was already flushed.
/// </summary>
internal static partial class DirectorySync
{
    private const int ReadOnly = 0;
    private const int Directory = 0x10000; // O_DIRECTORY on Linux

    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        int fd = Open(directory, ReadOnly | Directory);
        if (fd < 0)
        {
            return;
        }

        try
        {
            _ = FSync(fd);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
