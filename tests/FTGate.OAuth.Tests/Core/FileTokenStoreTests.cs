using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using FTGate.OAuth;

namespace FTGate.OAuth.Tests.Core;

public sealed class FileTokenStoreTests : TokenStoreContractTests, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ftgate-store-tests", Guid.NewGuid().ToString("N"));

    /// <summary>The golden "FTGT1" envelope of <see cref="GetAsync_GoldenEnvelope_DecryptsToItsValueAndVersion"/>.</summary>
    internal const string GoldenEnvelope = "RlRHVDEKAnYxZGVmZ2hpamtsbW5vn2i1b9QmAYxQFIKdgQZP3DM5rAMfmzPtVj0rh7EABN944HR+pgucHsO0wmqG";

    private string StoreDirectory => Path.Combine(_root, "tokens");

    protected override ITokenStore CreateStore() => new FileTokenStore(StoreDirectory);

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task SetAsync_TokenText_AppearsInNoFileUnderTheStoreFolder()
    {
        const string token = "1.AQ8AbcRefreshTokenValue-ThatMustNeverBeOnDiskInClear_0123456789";
        var store = new FileTokenStore(StoreDirectory);
        await store.SetAsync("Company Email Account/alice@example.test", Encoding.UTF8.GetBytes(token), null, TestContext.Current.CancellationToken);
        await store.SetAsync("other", Encoding.UTF8.GetBytes(token + "-2"), null, TestContext.Current.CancellationToken);

        string[] files = Directory.GetFiles(_root, "*", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        byte[][] needles =
        [
            Encoding.UTF8.GetBytes(token),
            Encoding.Unicode.GetBytes(token),
            Encoding.ASCII.GetBytes(Convert.ToBase64String(Encoding.UTF8.GetBytes(token))),
            Encoding.UTF8.GetBytes(token[..16]),
        ];
        foreach (string file in files)
        {
            byte[] content = await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken);
            foreach (byte[] needle in needles)
            {
                Assert.True(content.AsSpan().IndexOf(needle) < 0, $"'{file}' contains token text.");
            }
        }
    }

    [Fact]
    public async Task SetAsync_CreatesOwnerOnlyFilesFolderAndKey()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix permissions only.");
            return;
        }

        var store = new FileTokenStore(StoreDirectory);
        await store.SetAsync("k", "v"u8.ToArray(), null, TestContext.Current.CancellationToken);

        UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.Equal(ownerOnly, File.GetUnixFileMode(store.GetPath("k")));
        Assert.Equal(ownerOnly, File.GetUnixFileMode(store.KeyFile!));
        Assert.Equal(ownerOnly | UnixFileMode.UserExecute, File.GetUnixFileMode(StoreDirectory));
        Assert.Equal(Path.Combine(_root, "tokens.key"), store.KeyFile);
    }

    [Fact]
    public async Task SetAsync_ManyWrites_LeaveNoTemporaryFiles()
    {
        var store = new FileTokenStore(StoreDirectory);
        string? version = null;
        for (int i = 0; i < 20; i++)
        {
            version = await store.SetAsync("k", BitConverter.GetBytes(i), version, TestContext.Current.CancellationToken);
        }

        Assert.Empty(Directory.GetFiles(StoreDirectory, "*.tmp"));
    }

    [Fact]
    public async Task GetAsync_WhileAnotherTaskRewrites_NeverSeesATornFile()
    {
        var store = new FileTokenStore(StoreDirectory);
        byte[] big = new byte[256 * 1024];
        await store.SetAsync("k", big, null, TestContext.Current.CancellationToken);
        Task writer = Task.Run(async () =>
        {
            for (int i = 0; i < 30; i++)
            {
                big[0] = (byte)i;
                await store.UpdateAsync("k", _ => big, cancellationToken: TestContext.Current.CancellationToken);
            }
        }, TestContext.Current.CancellationToken);
        int reads = 0;
        while (!writer.IsCompleted)
        {
            TokenStoreEntry? entry = await store.GetAsync("k", TestContext.Current.CancellationToken);
            Assert.NotNull(entry);
            Assert.Equal(big.Length, entry.Value.Length);
            reads++;
        }

        await writer;
        Assert.True(reads > 0);
    }

    [Fact]
    public async Task GetAsync_LeftoverTemporaryFileFromACrash_IsIgnored()
    {
        var store = new FileTokenStore(StoreDirectory);
        await store.SetAsync("k", "committed"u8.ToArray(), null, TestContext.Current.CancellationToken);
        string path = store.GetPath("k");
        await File.WriteAllBytesAsync(Path.Combine(StoreDirectory, $".{Path.GetFileName(path)}.deadbeef.tmp"), [1, 2, 3], TestContext.Current.CancellationToken);

        TokenStoreEntry? entry = await store.GetAsync("k", TestContext.Current.CancellationToken);
        Assert.Equal("committed", Encoding.UTF8.GetString(entry!.Value.Span));
    }

    [Fact]
    public async Task GetAsync_TruncatedFile_ThrowsCorruptedNamingTheFile()
    {
        var store = new FileTokenStore(StoreDirectory);
        await store.SetAsync("k", "value-value-value"u8.ToArray(), null, TestContext.Current.CancellationToken);
        string path = store.GetPath("k");
        byte[] content = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(path, content[..(content.Length / 2)], TestContext.Current.CancellationToken);

        var ex = await Assert.ThrowsAsync<TokenStoreCorruptedException>(() => store.GetAsync("k", TestContext.Current.CancellationToken));
        Assert.Equal(path, ex.Location);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Equal(FTGateErrorCodes.TokenStoreCorrupted, ex.ErrorCode);
    }

    [Fact]
    public async Task GetAsync_FlippedByte_ThrowsCorrupted()
    {
        var store = new FileTokenStore(StoreDirectory);
        await store.SetAsync("k", "value"u8.ToArray(), null, TestContext.Current.CancellationToken);
        string path = store.GetPath("k");
        byte[] content = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
        content[^1] ^= 0x01;
        await File.WriteAllBytesAsync(path, content, TestContext.Current.CancellationToken);

        await Assert.ThrowsAsync<TokenStoreCorruptedException>(() => store.GetAsync("k", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task GetAsync_GarbageFile_ThrowsCorruptedNotNull()
    {
        var store = new FileTokenStore(StoreDirectory);
        Directory.CreateDirectory(StoreDirectory);
        await File.WriteAllTextAsync(store.GetPath("k"), "{ \"not\": \"ours\" }", TestContext.Current.CancellationToken);

        await Assert.ThrowsAsync<TokenStoreCorruptedException>(() => store.GetAsync("k", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task SetAsync_OverCorruptedEntry_ThrowsInsteadOfOverwritingBlindly()
    {
        var store = new FileTokenStore(StoreDirectory);
        Directory.CreateDirectory(StoreDirectory);
        await File.WriteAllTextAsync(store.GetPath("k"), "garbage", TestContext.Current.CancellationToken);

        await Assert.ThrowsAsync<TokenStoreCorruptedException>(() => store.SetAsync("k", "v"u8.ToArray(), null, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task GetAsync_FileCopiedFromAnotherKey_ThrowsCorrupted()
    {
        var store = new FileTokenStore(StoreDirectory);
        await store.SetAsync("alice", "alice-token"u8.ToArray(), null, TestContext.Current.CancellationToken);
        await store.SetAsync("bob", "bob-token"u8.ToArray(), null, TestContext.Current.CancellationToken);
        File.Copy(store.GetPath("alice"), store.GetPath("bob"), overwrite: true);

        await Assert.ThrowsAsync<TokenStoreCorruptedException>(() => store.GetAsync("bob", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task GetAsync_StoreOpenedWithAnotherKey_ThrowsCorrupted()
    {
        var store = new FileTokenStore(StoreDirectory);
        await store.SetAsync("k", "v"u8.ToArray(), null, TestContext.Current.CancellationToken);
        var other = new FileTokenStore(new FileTokenStoreOptions { Directory = StoreDirectory, Key = new byte[32] });

        await Assert.ThrowsAsync<TokenStoreCorruptedException>(() => other.GetAsync("k", TestContext.Current.CancellationToken));
    }

    /// <summary>
    /// An "FTGT1" envelope written outside the SDK (AES-256-GCM with Python's cryptography package, key 00..1f, nonce 64..6f,
    /// associated data = big-endian key length, key, version): grants stored before the envelope became one shared type, and
    /// the Redis store's entries (same bytes, see RedisTokenStoreTests), must keep decrypting.
    /// </summary>
    [Fact]
    public async Task GetAsync_GoldenEnvelope_DecryptsToItsValueAndVersion()
    {
        byte[] aesKey = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var store = new FileTokenStore(new FileTokenStoreOptions { Directory = StoreDirectory, Key = aesKey });
        Directory.CreateDirectory(StoreDirectory);
        await File.WriteAllBytesAsync(store.GetPath("grant/p/ALICE"), Convert.FromBase64String(GoldenEnvelope), TestContext.Current.CancellationToken);

        TokenStoreEntry? entry = await store.GetAsync("grant/p/ALICE", TestContext.Current.CancellationToken);

        Assert.NotNull(entry);
        Assert.Equal("v1", entry.Version);
        Assert.Equal("{\"refresh_token\":\"rt-golden\"}", Encoding.UTF8.GetString(entry.Value.Span));
        await Assert.ThrowsAsync<TokenStoreCorruptedException>(() => new FileTokenStore(new FileTokenStoreOptions { Directory = StoreDirectory, Key = new byte[32] }).GetAsync("grant/p/ALICE", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task GetAsync_SecondInstanceOverSameFolder_ReadsWithTheGeneratedKey()
    {
        await new FileTokenStore(StoreDirectory).SetAsync("k", "v"u8.ToArray(), null, TestContext.Current.CancellationToken);

        TokenStoreEntry? entry = await new FileTokenStore(StoreDirectory).GetAsync("k", TestContext.Current.CancellationToken);

        Assert.Equal("v", Encoding.UTF8.GetString(entry!.Value.Span));
    }

    [Fact]
    public void Constructor_KeyOfWrongLength_ThrowsConfigurationErrorNamingTheField()
    {
        var ex = Assert.Throws<FTGateConfigurationException>(() => new FileTokenStore(new FileTokenStoreOptions { Directory = StoreDirectory, Key = new byte[16] }));
        Assert.Contains("Key must be 32 bytes", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(ex.Remedy);
    }

    [Fact]
    public async Task GetAsync_KeyFileOfWrongLength_ThrowsConfigurationErrorNamingTheFile()
    {
        Directory.CreateDirectory(_root);
        string keyFile = Path.Combine(_root, "tokens.key");
        await File.WriteAllBytesAsync(keyFile, new byte[7], TestContext.Current.CancellationToken);
        var store = new FileTokenStore(StoreDirectory);

        var ex = await Assert.ThrowsAsync<FTGateConfigurationException>(() => store.SetAsync("k", "v"u8.ToArray(), null, TestContext.Current.CancellationToken));
        Assert.Contains(keyFile, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpdateAsync_TwoProcessesAndThisOneWritingTheSameKey_LoseNoUpdate()
    {
        const int perProcess = 150;
        var store = new FileTokenStore(StoreDirectory);
        await store.SetAsync("shared", new byte[4], null, TestContext.Current.CancellationToken);
        string worker = Path.Combine(AppContext.BaseDirectory, "FTGate.OAuth.Tests.Worker.dll");
        Assert.True(File.Exists(worker), $"worker not found at {worker}");

        Process[] processes = [StartWorker(worker, perProcess), StartWorker(worker, perProcess)];
        for (int i = 0; i < perProcess; i++)
        {
            await store.UpdateAsync("shared", Increment, maxAttempts: 10_000, TestContext.Current.CancellationToken);
        }

        foreach (Process process in processes)
        {
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            string error = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            Assert.True(process.ExitCode == 0, $"worker failed: {error}");
            process.Dispose();
        }

        TokenStoreEntry? entry = await store.GetAsync("shared", TestContext.Current.CancellationToken);
        Assert.Equal(3 * perProcess, BinaryPrimitives.ReadInt32LittleEndian(entry!.Value.Span));
    }

    private Process StartWorker(string worker, int increments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(worker);
        info.ArgumentList.Add(StoreDirectory);
        info.ArgumentList.Add("shared");
        info.ArgumentList.Add(increments.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Process.Start(info)!;
    }
}
