namespace FTGate.OAuth;

/// <summary>Options of <see cref="FileTokenStore"/>.</summary>
public sealed class FileTokenStoreOptions
{
    /// <summary>The folder that holds one encrypted file per entry. Created (owner-only) when missing.</summary>
    /// <value>Required.</value>
    public string Directory { get; set; } = "";

    /// <summary>
    /// The 32-byte AES-256 key that encrypts the entries. When <see langword="null"/>, the key is read from
    /// <see cref="KeyFile"/>, and generated there on first use.
    /// </summary>
    /// <value>Default <see langword="null"/>.</value>
    public byte[]? Key { get; set; }

    /// <summary>
    /// The key file used when <see cref="Key"/> is not given. Created on first use with owner-only permissions (0600 on Unix).
    /// </summary>
    /// <value>Default: a file named after the folder with the extension <c>.key</c>, beside the folder (for <c>/var/lib/app/tokens</c>, <c>/var/lib/app/tokens.key</c>).</value>
    public string? KeyFile { get; set; }

    /// <summary>
    /// Whether a store folder or key file that other users can read or write is refused (an
    /// <see cref="FTGateConfigurationException"/> saying how to fix the permissions) instead of logged as a warning.
    /// </summary>
    /// <value>Default <see langword="false"/> (a warning); hosts that own their data folder should set it.</value>
    public bool RefuseUnsafePermissions { get; set; }

    /// <summary>How long a writer waits for another process's lock on the same entry before giving up.</summary>
    /// <value>Default 30 seconds.</value>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
