using FTGate.OAuth.Internal;

namespace FTGate.OAuth.Tests.Grants;

public sealed class GrantLockTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "ftg-lock-" + Guid.NewGuid().ToString("N"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AcquireAsync_FileLock_CreatesOwnerOnlyLockFileBesideTheEntry()
    {
        var store = new FileTokenStore(_directory);
        var grantLock = new FileGrantLock(store);

        await using (await grantLock.AcquireAsync("grant/p/ALICE", Ct))
        {
            string path = grantLock.LockPath("grant/p/ALICE");
            Assert.Equal(_directory, Path.GetDirectoryName(path));
            Assert.StartsWith(store.GetPath("grant/p/ALICE"), path, StringComparison.Ordinal);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }
        }
    }

    [Fact]
    public async Task AcquireAsync_LockFileIsSymbolicLink_RefusedAndTargetUntouched()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "O_NOFOLLOW is a Unix rule.");
        var store = new FileTokenStore(_directory);
        var grantLock = new FileGrantLock(store);
        Directory.CreateDirectory(_directory);
        string target = Path.Combine(_directory, "victim.txt");
        await File.WriteAllTextAsync(target, "keep", Ct);
        File.CreateSymbolicLink(grantLock.LockPath("grant/p/ALICE"), target);

        var ex = await Assert.ThrowsAsync<IOException>(() => grantLock.AcquireAsync("grant/p/ALICE", Ct));

        Assert.Contains("symbolic link", ex.Message, StringComparison.Ordinal);
        Assert.Equal("keep", await File.ReadAllTextAsync(target, Ct));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AcquireAsync_SecondHolder_WaitsUntilFirstReleases(bool file)
    {
        IGrantLock grantLock = file ? new FileGrantLock(new FileTokenStore(_directory)) : new InProcessGrantLock();
        IAsyncDisposable first = await grantLock.AcquireAsync("grant/p/ALICE", Ct);

        Task<IAsyncDisposable> second = grantLock.AcquireAsync("grant/p/ALICE", Ct);
        IAsyncDisposable other = await grantLock.AcquireAsync("grant/p/BOB", Ct);

        Assert.False(second.IsCompleted);
        await other.DisposeAsync();
        await first.DisposeAsync();
        await using (await second.WaitAsync(TimeSpan.FromSeconds(30), Ct))
        {
            Assert.True(second.IsCompletedSuccessfully);
        }
    }

    [Fact]
    public void For_FileStore_FileLockSharedByEveryCaller()
    {
        var store = new FileTokenStore(_directory);

        Assert.IsType<FileGrantLock>(GrantLocks.For(store));
        Assert.Same(GrantLocks.For(store), GrantLocks.For(store));
        Assert.IsType<InProcessGrantLock>(GrantLocks.For(new InMemoryTokenStore()));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
