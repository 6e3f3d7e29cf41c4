using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using FTGate.OAuth;

namespace FTGate.Redis.Internal;

/// <summary>
/// The file token store's envelope (format "FTGT1"): marker, version, random nonce, AES-256-GCM tag and ciphertext, with the
/// entry's key and version authenticated as associated data, so an entry copied under another key is detected. The version
/// sits in clear in the header, where the compare-and-set script reads it.
/// </summary>
internal static class TokenEnvelope
{
    public const int KeySize = 32;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private static readonly byte[] s_magic = "FTGT1\n"u8.ToArray();

    public static byte[] Encrypt(byte[] aesKey, string key, string version, ReadOnlySpan<byte> plaintext)
    {
        byte[] versionBytes = Encoding.ASCII.GetBytes(version);
        int headerLength = s_magic.Length + 1 + versionBytes.Length;
        byte[] output = new byte[headerLength + NonceSize + TagSize + plaintext.Length];
        Span<byte> span = output;
        s_magic.CopyTo(span);
        span[s_magic.Length] = checked((byte)versionBytes.Length);
        versionBytes.CopyTo(span[(s_magic.Length + 1)..]);
        Span<byte> nonce = span.Slice(headerLength, NonceSize);
        Span<byte> tag = span.Slice(headerLength + NonceSize, TagSize);
        Span<byte> ciphertext = span[(headerLength + NonceSize + TagSize)..];
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(aesKey, TagSize);
        aes.Encrypt(nonce, plaintext, ciphertext, tag, AssociatedData(key, versionBytes));
        return output;
    }

    public static TokenStoreEntry Decrypt(byte[] aesKey, string key, string location, ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < s_magic.Length + 1 || !bytes.StartsWith(s_magic))
        {
            throw new TokenStoreCorruptedException(key, location, "it is not an FTGate token entry (wrong header)");
        }

        int versionLength = bytes[s_magic.Length];
        int headerLength = s_magic.Length + 1 + versionLength;
        if (versionLength == 0 || bytes.Length < headerLength + NonceSize + TagSize)
        {
            throw new TokenStoreCorruptedException(key, location, "the entry is truncated");
        }

        byte[] versionBytes = bytes.Slice(s_magic.Length + 1, versionLength).ToArray();
        ReadOnlySpan<byte> nonce = bytes.Slice(headerLength, NonceSize);
        ReadOnlySpan<byte> tag = bytes.Slice(headerLength + NonceSize, TagSize);
        ReadOnlySpan<byte> ciphertext = bytes[(headerLength + NonceSize + TagSize)..];
        byte[] plaintext = new byte[ciphertext.Length];
        try
        {
            using var aes = new AesGcm(aesKey, TagSize);
            aes.Decrypt(nonce, ciphertext, tag, plaintext, AssociatedData(key, versionBytes));
        }
        catch (AuthenticationTagMismatchException ex)
        {
            throw new TokenStoreCorruptedException(
                key,
                location,
                "it fails authentication (tampered with, or encrypted under another key: every node of a farm needs the same FTGate:Redis encryption key)",
                ex);
        }

        return new TokenStoreEntry(plaintext, Encoding.ASCII.GetString(versionBytes));
    }

    private static byte[] AssociatedData(string key, byte[] version)
    {
        byte[] keyBytes = Encoding.UTF8.GetBytes(key);
        byte[] data = new byte[4 + keyBytes.Length + version.Length];
        BinaryPrimitives.WriteInt32BigEndian(data, keyBytes.Length);
        keyBytes.CopyTo(data, 4);
        version.CopyTo(data, 4 + keyBytes.Length);
        return data;
    }

    public static byte[] LoadKey(RedisOptions options)
    {
        if (options.EncryptionKey is { } key)
        {
            return key.Length == KeySize
                ? key.ToArray()
                : throw new FTGateConfigurationException($"FTGate:Redis:EncryptionKey must be {KeySize} bytes; {key.Length} were given.", "Generate one with 'openssl rand -base64 32'.");
        }

        string path = Path.GetFullPath(options.EncryptionKeyFile ?? throw new FTGateConfigurationException(
            "FTGate:Redis:EncryptionKeyFile (or EncryptionKey) is required.",
            "Create a key with 'openssl rand 32 > farm.key; chmod 600 farm.key' and copy the same file to every node."));
        byte[] bytes;
        try
        {
            if (!OperatingSystem.IsWindows() && File.Exists(path)
                && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
            {
                throw new FTGateConfigurationException(
                    $"FTGate:Redis:EncryptionKeyFile '{path}' can be read or written by other users; it decrypts every token of the farm.",
                    $"Run: chmod 600 '{path}' (owned by the service account), then start again.");
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new FTGateConfigurationException(
                $"FTGate:Redis:EncryptionKeyFile '{path}' cannot be read ({ex.GetType().Name}).",
                "Create it with 'openssl rand 32 > farm.key; chmod 600 farm.key' (the same file on every node), or fix its path and permissions.",
                ex);
        }

        return bytes.Length == KeySize
            ? bytes
            : throw new FTGateConfigurationException(
                $"FTGate:Redis:EncryptionKeyFile '{path}' holds {bytes.Length} bytes; an AES-256 key is {KeySize} bytes.",
                "Point it at the farm's key file (created with 'openssl rand 32 > farm.key'); every node needs the same one.");
    }
}
