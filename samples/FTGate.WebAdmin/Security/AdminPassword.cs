using System.Security.Cryptography;
using System.Text;

namespace FTGate.WebAdmin.Security;

/// <summary>The admin password, kept only as a SHA-256 digest and compared in constant time.</summary>
internal sealed class AdminPassword
{
    private readonly byte[] _digest;

    public AdminPassword(string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        _digest = SHA256.HashData(Encoding.UTF8.GetBytes(password));
    }

    /// <summary>Compares digests, so neither the length nor the content leaks through timing.</summary>
    public bool Matches(string? candidate) =>
        CryptographicOperations.FixedTimeEquals(_digest, SHA256.HashData(Encoding.UTF8.GetBytes(candidate ?? string.Empty)));
}
