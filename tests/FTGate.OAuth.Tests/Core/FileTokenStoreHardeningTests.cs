using System.Text;
using FTGate.OAuth;
using FTGate.OAuth.Internal;
using FTGate.OAuth.Tests.TestSupport;
using FTGate.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace FTGate.OAuth.Tests.Core;

/// <summary>Issue 17, item 6: the file store fails safe, on real files, symlinks and permissions.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class FileTokenStoreHardeningTests
{
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Lock_SymlinkAtTheLockPath_IsRefused_AndItsTargetNeverTouched()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix permissions and O_NOFOLLOW");
        string root = Infra.NewTempDirectory("ftg-store");
        var store = new FileTokenStore(Path.Combine(root, "tokens"));
        await store.SetAsync("other", "x"u8.ToArray(), null, Ct);
        string target = Path.Combine(root, "victim");
        File.CreateSymbolicLink(store.GetPath("grant/p/ALICE") + ".lock", target);

        TokenStoreCorruptedException ex = await Assert.ThrowsAsync<TokenStoreCorruptedException>(
            () => store.SetAsync("grant/p/ALICE", "secret"u8.ToArray(), null, Ct));

        Assert.Contains("symbolic link", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(target));
        Assert.Null(await store.GetAsync("grant/p/ALICE", Ct));
    }

    [Fact]
    public async Task Write_CreatesOwnerOnlyFolderEntryAndLockFile()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix permissions");
        var store = new FileTokenStore(Path.Combine(Infra.NewTempDirectory("ftg-store"), "tokens"));

        await store.SetAsync("grant/p/ALICE", "secret"u8.ToArray(), null, Ct);

        Assert.Equal(OwnerOnlyFolder, File.GetUnixFileMode(store.Directory));
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(store.GetPath("grant/p/ALICE")));
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(store.GetPath("grant/p/ALICE") + ".lock"));
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(store.KeyFile!));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task FolderReadableByOthers_IsRefusedOrWarned_WithTheChmodThatFixesIt(bool refuse)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix permissions");
        string folder = Path.Combine(Infra.NewTempDirectory("ftg-store"), "tokens");
        Directory.CreateDirectory(folder);
        File.SetUnixFileMode(folder, OwnerOnlyFolder | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        using var logs = new CapturingLoggerFactory();
        var store = new FileTokenStore(new FileTokenStoreOptions { Directory = folder, RefuseUnsafePermissions = refuse }, logs.CreateLogger<FileTokenStore>());

        if (refuse)
        {
            FTGateConfigurationException ex = await Assert.ThrowsAsync<FTGateConfigurationException>(() => store.SetAsync("k", "v"u8.ToArray(), null, Ct));
            Assert.Contains("755", ex.Message, StringComparison.Ordinal);
            Assert.Contains($"chmod 700 '{folder}'", ex.Remedy, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(folder));
        }
        else
        {
            await store.SetAsync("k", "v"u8.ToArray(), null, Ct);
            Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains($"chmod 700 '{folder}'", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task KeyFileReadableByOthers_IsRefused_WithTheChmodThatFixesIt()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix permissions");
        string folder = Path.Combine(Infra.NewTempDirectory("ftg-store"), "tokens");
        var first = new FileTokenStore(folder);
        await first.SetAsync("k", "v"u8.ToArray(), null, Ct);
        File.SetUnixFileMode(first.KeyFile!, OwnerOnlyFile | UnixFileMode.OtherRead);

        var store = new FileTokenStore(new FileTokenStoreOptions { Directory = folder, RefuseUnsafePermissions = true });
        FTGateConfigurationException ex = await Assert.ThrowsAsync<FTGateConfigurationException>(() => store.GetAsync("k", Ct));

        Assert.Contains(first.KeyFile!, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"chmod 600 '{first.KeyFile}'", ex.Remedy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingKey_WhileEntriesExist_IsAnErrorNamingTheKeyFile_AndNoNewKeyIsMade()
    {
        string folder = Path.Combine(Infra.NewTempDirectory("ftg-store"), "tokens");
        var first = new FileTokenStore(folder);
        await first.SetAsync("grant/p/ALICE", "refresh-token"u8.ToArray(), null, Ct);
        File.Delete(first.KeyFile!);

        var store = new FileTokenStore(folder);
        FTGateConfigurationException read = await Assert.ThrowsAsync<FTGateConfigurationException>(() => store.GetAsync("grant/p/ALICE", Ct));
        FTGateConfigurationException write = await Assert.ThrowsAsync<FTGateConfigurationException>(() => store.SetAsync("new", "v"u8.ToArray(), null, Ct));

        Assert.Contains($"'{first.KeyFile}' is missing", read.Message, StringComparison.Ordinal);
        Assert.Contains("unreadable", read.Message, StringComparison.Ordinal);
        Assert.Contains("Restore", read.Remedy, StringComparison.Ordinal);
        Assert.Contains("is missing", write.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(first.KeyFile));
    }

    [Fact]
    public async Task MissingKey_EmptyStore_GetsANewKey()
    {
        var store = new FileTokenStore(Path.Combine(Infra.NewTempDirectory("ftg-store"), "tokens"));
        await store.SetAsync("k", "v"u8.ToArray(), null, Ct);
        Assert.True(File.Exists(store.KeyFile));
    }

    [Fact]
    public async Task FirstWrite_RemovesStalePendingLockAndTemporaryFiles_AndKeepsLiveOnes()
    {
        string folder = Path.Combine(Infra.NewTempDirectory("ftg-store"), "tokens");
        var earlier = new FileTokenStore(folder);
        await earlier.SetAsync("pending/p/old-state", "{}"u8.ToArray(), null, Ct);
        await earlier.SetAsync("pending/p/fresh-state", "{}"u8.ToArray(), null, Ct);
        await earlier.SetAsync("grant/p/ALICE", "rt"u8.ToArray(), null, Ct);
        string oldPending = earlier.GetPath("pending/p/old-state");
        string orphanLock = earlier.GetPath("grant/p/REMOVED") + ".lock";
        string liveLock = earlier.GetPath("grant/p/ALICE") + ".lock";
        string temp = Path.Combine(folder, ".x.tok.0123.tmp");
        await File.WriteAllTextAsync(orphanLock, "", Ct);
        await File.WriteAllTextAsync(temp, "torn", Ct);
        DateTime longAgo = DateTime.UtcNow.AddDays(-2);
        foreach (string file in new[] { oldPending, orphanLock, liveLock, temp })
        {
            File.SetLastWriteTimeUtc(file, longAgo);
        }

        await new FileTokenStore(folder).SetAsync("another", "v"u8.ToArray(), null, Ct);

        Assert.False(File.Exists(oldPending));
        Assert.False(File.Exists(orphanLock));
        Assert.False(File.Exists(temp));
        Assert.True(File.Exists(earlier.GetPath("pending/p/fresh-state")));
        Assert.True(File.Exists(liveLock)); // its entry exists
        Assert.NotNull(await earlier.GetAsync("grant/p/ALICE", Ct));
    }

    [Fact]
    public async Task RemoveProviderData_RemovesGrantStatusAndEveryPendingAuthorization_OfThatProviderOnly()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var tokens = new InMemoryTokenStore();
        var pending = new PendingAuthorizationStore(tokens, time);
        PendingAuthorization a = await pending.CreateAsync("P", "alice", new Uri("http://127.0.0.1/"), "verifier-a", cancellationToken: Ct);
        PendingAuthorization b = await pending.CreateAsync("P", "alice", new Uri("http://127.0.0.1/"), "verifier-b", cancellationToken: Ct);
        PendingAuthorization other = await pending.CreateAsync("Q", "alice", new Uri("http://127.0.0.1/"), "verifier-q", cancellationToken: Ct);
        await tokens.SetAsync("grant/P/ALICE", Encoding.UTF8.GetBytes("rt"), null, Ct);
        await tokens.SetAsync("status/P/ALICE", Encoding.UTF8.GetBytes("{}"), null, Ct);

        int removed = await tokens.RemoveProviderDataAsync("P", ["alice"], Ct);

        Assert.Equal(4, removed);
        Assert.Null(await tokens.GetAsync("grant/P/ALICE", Ct));
        await Assert.ThrowsAsync<AuthorizationException>(() => pending.ConsumeAsync("P", a.State, Ct));
        await Assert.ThrowsAsync<AuthorizationException>(() => pending.ConsumeAsync("P", b.State, Ct));
        Assert.Equal("verifier-q", (await pending.ConsumeAsync("Q", other.State, Ct)).CodeVerifier);
    }

    [Fact]
    public async Task PendingAuthorizations_ExpiredOnes_AreRemovedWhenTheNextIsCreated()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var tokens = new InMemoryTokenStore();
        var pending = new PendingAuthorizationStore(tokens, time);
        PendingAuthorization abandoned = await pending.CreateAsync("P", "alice", new Uri("http://127.0.0.1/"), "v1", cancellationToken: Ct);

        time.Advance(PendingAuthorizationStore.Lifetime + TimeSpan.FromMinutes(1));
        await pending.CreateAsync("P", "alice", new Uri("http://127.0.0.1/"), "v2", cancellationToken: Ct);

        Assert.Null(await tokens.GetAsync($"pending/P/{abandoned.State}", Ct));
    }
}
