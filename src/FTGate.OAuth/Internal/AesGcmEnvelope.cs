using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace FTGate.OAuth.Internal;

/// <summary>
/// The one encrypted envelope of every FTGate token store (format "FTGT1"): <c>"FTGT1\n"</c>, the version's length (one
/// byte) and the version in ASCII, a random 12-byte nonce, the 16-byte AES-256-GCM tag, then the ciphertext. The entry's key
/// (UTF-8, after its length as a big-endian int32) and version are authenticated as associated data, so an entry copied under
/// another key, or given another version, is detected. The version sits in clear in the header, where a store can read it
/// without the key (the Redis store's compare-and-set script does).
/// </summary>
/// <remarks>
/// The file store (FTGate.OAuth) and the Redis store (FTGate.Redis) compile this same source file (FTGate.Redis links it):
/// one format, without making one package's internals a binary dependency of the other. Changing the layout breaks every
/// stored grant: the golden-envelope tests of both stores guard it.
/// </remarks>
internal static class AesGcmEnvelope
{
    /// <summary>The AES-256 key length in bytes.</summary>
    public const int KeySize = 32;

    private const int NonceSize = 12;
    private const int TagSize = 16;
    private static readonly byte[] s_magic = "FTGT1\n"u8.ToArray();

    /// <summary>Encrypts <paramref name="plaintext"/> as the entry <paramref name="key"/> at <paramref name="version"/>.</summary>
    public static byte[] Seal(ReadOnlySpan<byte> aesKey, string key, string version, ReadOnlySpan<byte> plaintext)
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

    /// <summary>Decrypts an envelope stored for the entry <paramref name="key"/>.</summary>
    /// <param name="aesKey">The store's 32-byte key, asked for only once the header is sound (the file store loads its key
    /// lazily: a file that is not an envelope is reported as corrupted, not as a missing key).</param>
    /// <param name="key">The entry's key (authenticated).</param>
    /// <param name="location">Where the envelope was read (a path, a Redis key), named in errors.</param>
    /// <param name="bytes">The stored envelope.</param>
    /// <param name="container">What holds an entry in this store ("file", "entry"), for the error messages.</param>
    /// <param name="authenticationFailure">The store's explanation of a failed authentication (what to check).</param>
    /// <exception cref="TokenStoreCorruptedException">Wrong header, truncated, or failed authentication.</exception>
    public static TokenStoreEntry Open(Func<byte[]> aesKey, string key, string location, ReadOnlySpan<byte> bytes, string container, string authenticationFailure)
    {
        if (bytes.Length < s_magic.Length + 1 || !bytes.StartsWith(s_magic))
        {
            throw new TokenStoreCorruptedException(key, location, $"it is not an FTGate token {container} (wrong header)");
        }

        int versionLength = bytes[s_magic.Length];
        int headerLength = s_magic.Length + 1 + versionLength;
        if (versionLength == 0 || bytes.Length < headerLength + NonceSize + TagSize)
        {
            throw new TokenStoreCorruptedException(key, location, $"the {container} is truncated");
        }

        byte[] versionBytes = bytes.Slice(s_magic.Length + 1, versionLength).ToArray();
        ReadOnlySpan<byte> nonce = bytes.Slice(headerLength, NonceSize);
        ReadOnlySpan<byte> tag = bytes.Slice(headerLength + NonceSize, TagSize);
        ReadOnlySpan<byte> ciphertext = bytes[(headerLength + NonceSize + TagSize)..];
        byte[] plaintext = new byte[ciphertext.Length];
        try
        {
            using var aes = new AesGcm(aesKey(), TagSize);
            aes.Decrypt(nonce, ciphertext, tag, plaintext, AssociatedData(key, versionBytes));
        }
        catch (AuthenticationTagMismatchException ex)
        {
            throw new TokenStoreCorruptedException(key, location, authenticationFailure, ex);
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
}
