using System.Security.Cryptography;
using System.Text;

namespace FTGate.WebAdmin.Security;

/// <summary>
/// The admin password, kept only as a salted SHA-256 digest and compared in constant time, with a stamp that identifies it
/// (so sessions started under another password are refused).
/// </summary>
internal sealed class AdminPassword
{
    private readonly byte[] _salt = RandomNumberGenerator.GetBytes(16);
    private byte[] _digest = [];

    public AdminPassword(string password) => Set(password);

    /// <summary>Changes when the password changes; carries nothing about the password itself (random salt per process).</summary>
    public string Stamp { get; private set; } = "";

    /// <summary>Checks a new admin password's length: the message says what is wrong and how to fix it.</summary>
    public static string? Problem(string? password) =>
        string.IsNullOrWhiteSpace(password) ? "the admin password is empty"
        : password.Trim().Length < WebAdminOptions.MinimumPasswordLength
            ? $"the admin password has {password.Trim().Length} characters (spaces at either end not counted); use at least {WebAdminOptions.MinimumPasswordLength}, for example four random words"
            : null;

    /// <summary>Compares digests, so neither the length nor the content leaks through timing.</summary>
    public bool Matches(string? candidate) => CryptographicOperations.FixedTimeEquals(_digest, Digest(candidate ?? string.Empty));

    public bool StampMatches(string stamp) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Stamp), Encoding.ASCII.GetBytes(stamp));

    /// <summary>Sets a new password (sessions started under the old one no longer match <see cref="Stamp"/>).</summary>
    public void Set(string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        _digest = Digest(password);
        Stamp = Convert.ToHexString(SHA256.HashData([.. _salt, .. _digest, .. "stamp"u8]))[..32];
    }

    private byte[] Digest(string password) => SHA256.HashData([.. _salt, .. Encoding.UTF8.GetBytes(password)]);
}
