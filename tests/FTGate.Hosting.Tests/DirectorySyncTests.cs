using FTGate.OAuth.Internal;

namespace FTGate.Hosting.Tests;

/// <summary>
/// The directory fsync behind every durable rename (token store, UIDL store, Maildir) on the running platform. The source
/// is compiled into this project too (see the .csproj), so the test checks the very flags the packages use.
/// </summary>
public sealed class DirectorySyncTests
{
    [Fact]
    public void OpenHandle_Directory_OpensAndFlushes()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Directories are only fsync'ed on Linux.");
        string dir = Directory.CreateTempSubdirectory("ftg-dirsync-").FullName;
        try
        {
            using DirectorySync.Handle? handle = DirectorySync.OpenHandle(dir);

            Assert.NotNull(handle);
            handle.Flush();
            DirectorySync.Flush(dir);
        }
        finally
        {
            Directory.Delete(dir);
        }
    }

    [Fact]
    public void OpenHandle_RegularFile_IsRefusedBecauseTheFlagIsThisPlatformsODirectory()
    {
        // With the wrong architecture's value (x86-64's O_DIRECTORY is arm64's O_DIRECT), a regular file would open.
        Assert.SkipUnless(OperatingSystem.IsLinux() && DirectorySync.Directory != 0, "Only where O_DIRECTORY is known.");
        string file = Path.GetTempFileName();
        try
        {
            Assert.Null(DirectorySync.OpenHandle(file));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void OpenHandle_MissingDirectory_ReturnsNull()
    {
        // open(2) fails with -1; a SafeHandle return type once turned that into a "valid" descriptor 0xFFFFFFFF.
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Directories are only fsync'ed on Linux.");

        Assert.Null(DirectorySync.OpenHandle(Path.Combine(Path.GetTempPath(), "ftg-missing-" + Guid.NewGuid().ToString("N"))));
    }
}
