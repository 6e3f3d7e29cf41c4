using System.Runtime.InteropServices;

namespace FTGate.OAuth.Internal;

/// <summary>
/// Makes a rename durable: after <c>rename(2)</c> the new directory entry is only on disk once the directory itself is
/// fsync'ed. .NET has no API for that, so on Linux this opens the directory read-only and calls <c>fsync</c>; elsewhere (and
/// if the call fails) it does nothing — the file's own data was already flushed.
/// </summary>
internal static partial class DirectorySync
{
    private const int ReadOnly = 0;

    /// <summary>
    /// Linux's <c>O_DIRECTORY</c> for the running architecture (its value differs: on arm64 the x86-64 value would mean
    /// <c>O_DIRECT</c>). Zero where it is not known: opening read-only without it still works for a directory.
    /// </summary>
    internal static readonly int Directory = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 or Architecture.S390x or Architecture.LoongArch64 => 0x10000, // 0200000
        Architecture.Arm64 or Architecture.Arm or Architecture.Armv6 or Architecture.Ppc64le => 0x4000, // 040000
        _ => 0,
    };

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

    /// <summary>
    /// Opens <paramref name="directory"/> once for repeated flushes (one fsync per rename instead of open + fsync + close);
    /// <see langword="null"/> where directories cannot be opened (not Linux, or the open failed). The handle closes itself
    /// when disposed or collected.
    /// </summary>
    public static Handle? OpenHandle(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        // open(2) returns a C int: taken as an int, -1 stays -1 (returned straight into a SafeHandle, the 32-bit -1 arrived
        // as the 64-bit 0xFFFFFFFF and passed for a valid descriptor).
        int fd = Open(directory, ReadOnly | Directory);
        return fd < 0 ? null : new Handle(fd);
    }

    /// <summary>An open directory whose entries can be flushed to disk.</summary>
    internal sealed class Handle : SafeHandle
    {
        public Handle(int fd)
            : base(invalidHandleValue: -1, ownsHandle: true) => SetHandle(fd);

        public override bool IsInvalid => handle.ToInt64() < 0;

        public void Flush() => _ = FSyncSafe(this);

        protected override bool ReleaseHandle() => DirectorySync.Close(handle.ToInt32()) == 0;
    }

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int FSyncSafe(Handle fd);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
