using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using FTGate.OAuth.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FTGate.OAuth;

/// <summary>
/// The embedded default <see cref="ITokenStore"/>: one file per entry under a folder, encrypted with AES-256-GCM.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Each file holds a format marker, the entry's version, a random nonce, the GCM tag and the ciphertext. The key name and
/// the version are authenticated with the ciphertext, so a file copied over another key's file is detected.</item>
/// <item>Writes go to a temporary file that is flushed to disk and renamed over the entry: a crash never leaves a torn file.</item>
/// <item>Writers of the same entry are serialized within the process (a semaphore) and across processes (an exclusive lock on a
/// <c>.lock</c> file beside the entry), and the version check happens under that lock.</item>
/// <item>Files and the key are created owner-only (0600; the folder 0700) on Unix. A folder or key file that other users can
/// read or write is reported with the command that fixes it: refused when <see cref="FileTokenStoreOptions.RefuseUnsafePermissions"/>
/// is set, otherwise logged as a warning.</item>
/// <item>Lock files are opened with <c>O_NOFOLLOW</c> (a symbolic link at a lock's path is refused, never followed).</item>
/// <item>A missing key file while encrypted entries exist is an error naming the key file; a new key is generated only for an
/// empty store.</item>
/// <item>Stale files (pending authorizations older than a day, orphaned lock files and temporary files older than an hour)
/// are removed when the store is first written.</item>
/// <item>An entry that cannot be decrypted is reported as <see cref="TokenStoreCorruptedException"/> naming the file, never treated as absent.</item>
/// </list>
/// </remarks>
public sealed partial class FileTokenStore : ITokenStore
{
    private const int KeySize = AesGcmEnvelope.KeySize;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly string _directory;
    private readonly TimeSpan _lockTimeout;
    private readonly Lazy<byte[]> _key;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);
    private readonly bool _refuseUnsafePermissions;
    private readonly ILogger _logger;
    private int _swept;
    private int _directoryChecked;

    /// <summary>Creates a store in the given folder, with its key in the default key file beside it.</summary>
    /// <param name="directory">The folder.</param>
    public FileTokenStore(string directory)
        : this(new FileTokenStoreOptions { Directory = directory })
    {
    }

    /// <summary>Creates a store from options.</summary>
    /// <param name="options">The options.</param>
    public FileTokenStore(IOptions<FileTokenStoreOptions> options)
        : this((options ?? throw new ArgumentNullException(nameof(options))).Value)
    {
    }

    /// <summary>Creates a store from options.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="FTGateConfigurationException">The folder is not set or the supplied key is not 32 bytes.</exception>
    public FileTokenStore(FileTokenStoreOptions options)
        : this(options, null)
    {
    }

    /// <summary>Creates a store from options, logging warnings (unsafe permissions, clean-up) to <paramref name="logger"/>.</summary>
    /// <param name="options">The options.</param>
    /// <param name="logger">Where warnings go; <see langword="null"/> for none.</param>
    /// <exception cref="FTGateConfigurationException">The folder is not set or the supplied key is not 32 bytes.</exception>
    public FileTokenStore(FileTokenStoreOptions options, ILogger<FileTokenStore>? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _refuseUnsafePermissions = options.RefuseUnsafePermissions;
        if (string.IsNullOrWhiteSpace(options.Directory))
        {
            throw new FTGateConfigurationException(
                "Token store: Directory is required.",
                "Set FTGate:TokenStore:Directory (or call UseFileTokenStore(path)) to a folder only this service's account can read.");
        }

        if (options.Key is { Length: not KeySize })
        {
            throw new FTGateConfigurationException(
                $"Token store: Key must be {KeySize} bytes (AES-256); {options.Key.Length} were given.",
                "Generate 32 random bytes (for example 'openssl rand 32') or leave Key unset to have a key file generated.");
        }

        _directory = Path.GetFullPath(options.Directory);
        _lockTimeout = options.LockTimeout;
        string keyFile = options.KeyFile is { Length: > 0 } k
            ? Path.GetFullPath(k)
            : Path.GetFullPath(_directory.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) + ".key");
        KeyFile = options.Key is null ? keyFile : null;
        byte[]? suppliedKey = options.Key?.ToArray();
        _key = new Lazy<byte[]>(() => suppliedKey ?? LoadOrCreateKey(keyFile, _directory), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The folder holding the entries.</summary>
    public string Directory => _directory;

    /// <summary>The key file in use, or <see langword="null"/> when the host supplied the key.</summary>
    public string? KeyFile { get; }

    /// <summary>The file that holds (or would hold) the entry with the given key.</summary>
    /// <param name="key">The entry's key.</param>
    /// <returns>The full path.</returns>
    internal string GetPath(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var readable = new StringBuilder(Math.Min(key.Length, 60));
        foreach (char c in key)
        {
            if (readable.Length >= 60)
            {
                break;
            }

            readable.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '@' ? c : '_');
        }

        string hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16].ToLowerInvariant();
        return Path.Combine(_directory, $"{readable}-{hash}.tok");
    }

    /// <inheritdoc />
    public async Task<TokenStoreEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        string path = GetPath(key);
        CheckDirectoryOnce();
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }

        return Decrypt(key, path, bytes);
    }

    /// <inheritdoc />
    public async Task<string> SetAsync(string key, ReadOnlyMemory<byte> value, string? expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        EnsureDirectory();
        SweepOnce();
        string path = GetPath(key);
        using (await LockAsync(key, path, cancellationToken).ConfigureAwait(false))
        {
            string? actual = ReadVersion(key, path);
            if (actual != expectedVersion)
            {
                throw new TokenStoreConcurrencyException(key, expectedVersion, actual);
            }

            string version = TokenStoreVersion.New();
            byte[] content = Encrypt(key, version, value.Span);
            string temp = Path.Combine(_directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
            try
            {
                var streamOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
                if (!OperatingSystem.IsWindows())
                {
                    streamOptions.UnixCreateMode = OwnerOnlyFile;
                }

                await using (var stream = new FileStream(temp, streamOptions))
                {
                    await stream.WriteAsync(content, cancellationToken).ConfigureAwait(false);
                    stream.Flush(flushToDisk: true);
                }

                File.Move(temp, path, overwrite: true);
                DirectorySync.Flush(_directory);
            }
            catch
            {
                TryDelete(temp);
                throw;
            }

            return version;
        }
    }

    /// <inheritdoc />
    public async Task<bool> RemoveAsync(string key, string? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        string path = GetPath(key);
        if (!System.IO.Directory.Exists(_directory))
        {
            return expectedVersion is null ? false : throw new TokenStoreConcurrencyException(key, expectedVersion, null);
        }

        if (expectedVersion is null && !File.Exists(path))
        {
            return false; // nothing to remove: no lock file is created for it
        }

        using (await LockAsync(key, path, cancellationToken).ConfigureAwait(false))
        {
            string? actual = File.Exists(path) ? ReadVersion(key, path) : null;
            if (expectedVersion is not null && actual != expectedVersion)
            {
                throw new TokenStoreConcurrencyException(key, expectedVersion, actual);
            }

            if (actual is null)
            {
                return false;
            }

            File.Delete(path);
            if (OperatingSystem.IsLinux())
            {
                // Removed while held: a process waiting on this lock file sees it deleted and retries on a fresh one.
                TryDelete(path + ".lock");
            }

            return true;
        }
    }

    private string? ReadVersion(string key, string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        // Decrypting (not only parsing the header) makes a corrupted entry fail loudly instead of being overwritten blindly.
        return Decrypt(key, path, bytes).Version;
    }

    private byte[] Encrypt(string key, string version, ReadOnlySpan<byte> plaintext) =>
        AesGcmEnvelope.Seal(_key.Value, key, version, plaintext);

    private TokenStoreEntry Decrypt(string key, string path, byte[] bytes) =>
        AesGcmEnvelope.Open(() => _key.Value, key, path, bytes, "file", "it fails authentication (tampered, truncated, or encrypted under another key)");

    private async Task<IDisposable> LockAsync(string key, string path, CancellationToken cancellationToken)
    {
        SemaphoreSlim local = _locks.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        await local.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            string lockPath = path + ".lock";
            long deadline = Environment.TickCount64 + (long)_lockTimeout.TotalMilliseconds;
            int delay = 1;
            while (true)
            {
                try
                {
                    FileStream? handle;
                    if (OperatingSystem.IsWindows())
                    {
                        handle = new FileStream(lockPath, new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None });
                    }
                    else
                    {
                        handle = TryLockUnix(lockPath) ?? throw new IOException($"'{lockPath}' is locked by another process.");
                    }

                    return new Releaser(handle, local);
                }
                catch (IOException) when (Environment.TickCount64 < deadline)
                {
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                    delay = Math.Min(delay * 2, 50);
                }
                catch (IOException ex)
                {
                    throw new TimeoutException($"Timed out after {_lockTimeout.TotalSeconds:0} s waiting for another process's lock on '{lockPath}'.", ex);
                }
            }
        }
        catch
        {
            local.Release();
            throw;
        }
    }

    private void EnsureDirectory()
    {
        if (System.IO.Directory.Exists(_directory))
        {
            CheckDirectoryOnce();
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(_directory);
        }
        else
        {
            System.IO.Directory.CreateDirectory(_directory, OwnerOnlyDirectory);
        }
    }

    private byte[] LoadOrCreateKey(string keyFile, string directory)
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            if (File.Exists(keyFile))
            {
                CheckPermissions(keyFile, isDirectory: false);
                byte[] key = File.ReadAllBytes(keyFile);
                if (key.Length != KeySize)
                {
                    throw new FTGateConfigurationException(
                        $"Token store: the key file '{keyFile}' holds {key.Length} bytes; an AES-256 key is {KeySize} bytes.",
                        "Restore the original key file. Without it the stored tokens cannot be decrypted: delete the store folder and the key file, then authorize again.");
                }

                return key;
            }

            // A new key makes every existing entry unreadable: never generate one silently over encrypted entries.
            int entries = CountEntries(directory);
            if (entries > 0)
            {
                throw new FTGateConfigurationException(
                    $"Token store: the key file '{keyFile}' is missing, but '{directory}' holds {entries} encrypted entr{(entries == 1 ? "y" : "ies")} (grants, secrets, pending sign-ins) that only that key can decrypt. A new key would make every one of them unreadable, so none was created.",
                    $"Restore '{keyFile}' from a backup (owner-only, 0600). To start over instead, delete the *.tok files in '{directory}' and authorize every provider again.");
            }

            string? folder = Path.GetDirectoryName(keyFile);
            if (!string.IsNullOrEmpty(folder))
            {
                System.IO.Directory.CreateDirectory(folder);
            }

            byte[] fresh = RandomNumberGenerator.GetBytes(KeySize);
            string temp = keyFile + "." + Guid.NewGuid().ToString("N") + ".tmp";
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = OwnerOnlyFile;
            }

            using (var stream = new FileStream(temp, options))
            {
                stream.Write(fresh);
                stream.Flush(flushToDisk: true);
            }

            try
            {
                // No overwrite: when two processes race to create the key, exactly one wins and both use its key.
                File.Move(temp, keyFile, overwrite: false);
                return fresh;
            }
            catch (IOException) when (File.Exists(keyFile))
            {
                TryDelete(temp);
            }
        }

        throw new IOException($"Could not create or read the token store key file '{keyFile}'.");
    }

    private static int CountEntries(string directory)
    {
        try
        {
            return System.IO.Directory.Exists(directory) ? System.IO.Directory.EnumerateFiles(directory, "*.tok").Count() : 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private void CheckDirectoryOnce()
    {
        if (Volatile.Read(ref _directoryChecked) == 0 && System.IO.Directory.Exists(_directory))
        {
            CheckPermissions(_directory, isDirectory: true);
            Volatile.Write(ref _directoryChecked, 1);
        }
    }

    /// <summary>
    /// A folder or key file that other users can read or write is refused (or, without
    /// <see cref="FileTokenStoreOptions.RefuseUnsafePermissions"/>, logged), with the command that fixes it.
    /// </summary>
    private void CheckPermissions(string path, bool isDirectory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        UnixFileMode mode = File.GetUnixFileMode(path);
        const UnixFileMode Others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        if ((mode & Others) == 0)
        {
            return;
        }

        string octal = Convert.ToString((int)mode & 0x1FF, 8);
        string what = isDirectory ? "folder" : "key file";
        string message = $"Token store: the {what} '{path}' has permissions {octal}: other users can {((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0 ? "change" : "read")} it, and it guards every stored refresh token and secret.";
        string remedy = $"Run: chmod {(isDirectory ? "700" : "600")} '{path}' (as the service's own user), and check who else could have read it; rotate the client secrets if they could.";
        if (_refuseUnsafePermissions)
        {
            throw new FTGateConfigurationException(message, remedy);
        }

        LogUnsafePermissions(_logger, message, remedy);
    }

    /// <summary>
    /// Removes what earlier runs left behind: pending authorizations older than a day (they expire after minutes), temporary
    /// files older than an hour, and lock files older than an hour whose entry no longer exists (taken before removal, so no
    /// holder loses its lock).
    /// </summary>
    private void SweepOnce()
    {
        if (Interlocked.Exchange(ref _swept, 1) != 0)
        {
            return;
        }

        DateTime now = DateTime.UtcNow; // file times are wall-clock times; TimeProvider is not involved here
        int removed = 0;
        try
        {
            foreach (string file in System.IO.Directory.EnumerateFiles(_directory))
            {
                string name = Path.GetFileName(file);
                TimeSpan age = now - File.GetLastWriteTimeUtc(file);
                if (name.StartsWith("pending_", StringComparison.Ordinal) && name.EndsWith(".tok", StringComparison.Ordinal) && age > TimeSpan.FromDays(1))
                {
                    removed += Delete(file);
                }
                else if (name.StartsWith('.') && name.EndsWith(".tmp", StringComparison.Ordinal) && age > TimeSpan.FromHours(1))
                {
                    removed += Delete(file);
                }
                else if (name.EndsWith(".tok.lock", StringComparison.Ordinal) && age > TimeSpan.FromHours(1) && !File.Exists(file[..^".lock".Length]))
                {
                    removed += DeleteLock(file);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Clean-up is best effort: it never stops a write.
        }

        if (removed > 0)
        {
            LogSwept(_logger, removed, _directory);
        }

        static int Delete(string file)
        {
            TryDelete(file);
            return File.Exists(file) ? 0 : 1;
        }

        static int DeleteLock(string file)
        {
            if (OperatingSystem.IsWindows())
            {
                return Delete(file);
            }

            try
            {
                using FileStream? held = TryLockUnix(file);
                if (held is null)
                {
                    return 0; // in use
                }

                return Delete(file);
            }
            catch (Exception ex) when (ex is IOException or TokenStoreCorruptedException)
            {
                return 0;
            }
        }
    }

    [LoggerMessage(EventId = 1500, EventName = "TokenStoreUnsafePermissions", Level = LogLevel.Warning, Message = "{Message} {Remedy}")]
    private static partial void LogUnsafePermissions(ILogger logger, string message, string remedy);

    [LoggerMessage(EventId = 1501, EventName = "TokenStoreSwept", Level = LogLevel.Information, Message = "Token store: removed {Count} stale file(s) (old pending authorizations, orphaned lock and temporary files) from {Directory}")]
    private static partial void LogSwept(ILogger logger, int count, string directory);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private sealed class Releaser(FileStream handle, SemaphoreSlim local) : IDisposable
    {
        public void Dispose()
        {
            handle.Dispose();
            local.Release();
        }
    }
}
