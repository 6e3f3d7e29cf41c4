using FTGate.OAuth;
using FTGate.OAuth.Internal;

namespace FTGate.Redis.Internal;

/// <summary>
/// The Redis store's use of the token envelope shared with the file store (<see cref="AesGcmEnvelope"/>, format "FTGT1",
/// compiled from FTGate.OAuth's source file): the entry's key and version are authenticated, the version sits in clear in the
/// header, where the compare-and-set script reads it. Also loads the farm's AES key.
/// </summary>
internal static class TokenEnvelope
{
    public const int KeySize = AesGcmEnvelope.KeySize;

    public static byte[] Encrypt(byte[] aesKey, string key, string version, ReadOnlySpan<byte> plaintext) =>
        AesGcmEnvelope.Seal(aesKey, key, version, plaintext);

    public static TokenStoreEntry Decrypt(byte[] aesKey, string key, string location, ReadOnlySpan<byte> bytes) =>
        AesGcmEnvelope.Open(
            () => aesKey,
            key,
            location,
            bytes,
            "entry",
            "it fails authentication (tampered with, or encrypted under another key: every node of a farm needs the same FTGate:Redis encryption key)");

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
