using System.Diagnostics;
using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using FTGate.OAuth;

namespace FTGate.Benchmarks;

/// <summary>Memory and CPU figures of the current process, from /proc/self/status and the runtime.</summary>
internal static class Proc
{
    /// <summary>A field of /proc/self/status in bytes (VmRSS, VmHWM).</summary>
    public static long Status(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                string kb = line[(field.Length + 1)..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    /// <summary>user + sys CPU of this process so far.</summary>
    public static TimeSpan Cpu()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>Collects and compacts, so that VmRSS shows the live footprint.</summary>
    public static void Settle()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    public static string Mb(long bytes) => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture);
}

/// <summary>Median and percentiles.</summary>
internal static class Stats
{
    public static double Median(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        double rank = p / 100 * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank);
        int hi = (int)Math.Ceiling(rank);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (rank - lo));
    }

    public static string F(double value, string format = "0.00") => value.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary>An access token handed in by the parent (the fetch benchmarks measure POP3, not token acquisition).</summary>
internal sealed class StaticTokenProvider(string name, string user, string token) : IAuthProvider, IAuthProviderRegistry
{
    public string Name => name;

    public AuthProviderKind Kind => AuthProviderKind.OAuth2;

    public string? UserName => user;

    public IReadOnlyList<string> Names => [name];

    public IAuthProvider Get(string providerName) => this;

    public bool TryGet(string providerName, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IAuthProvider? provider)
    {
        provider = this;
        return true;
    }

    public Task<AccessToken> GetAccessTokenAsync(string userName, CancellationToken cancellationToken = default) =>
        Task.FromResult(new AccessToken(token, DateTimeOffset.UtcNow.AddMinutes(30), userName));

    public Task<AccessToken> RefreshAccessTokenAsync(string userName, CancellationToken cancellationToken = default) => GetAccessTokenAsync(userName, cancellationToken);

    public Task<AuthorizationChallenge> BeginAuthorizationAsync(AuthorizationRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<AuthorizationResult> CompleteAuthorizationAsync(AuthorizationCallback callback, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<AuthorizationResult> AuthorizeWithDeviceCodeAsync(Func<DeviceCodeInfo, CancellationToken, Task> onDeviceCode, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<AuthorizationStatus> GetStatusAsync(string userName, CancellationToken cancellationToken = default) => Task.FromResult(new AuthorizationStatus(name, userName, AuthorizationState.Authorized));

    public Task SignOutAsync(string userName, CancellationToken cancellationToken = default) => Task.CompletedTask;
}

/// <summary>Trust exactly the test CA (what the integration tests do), for the raw MailKit loops.</summary>
internal static class TestCa
{
    public static RemoteCertificateValidationCallback Trust(string caPath)
    {
        X509Certificate2 ca = X509Certificate2.CreateFromPem(File.ReadAllText(caPath));
        return (_, certificate, _, errors) =>
        {
            if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            using var cert = new X509Certificate2(certificate);
            return chain.Build(cert);
        };
    }
}

/// <summary>A seeded corpus of plausible messages (short lines only: fetchmail corrupts lines over ~8 KB).</summary>
internal static class Corpus
{
    private static readonly string[] s_words = "the of and to in is mail server message account token pop3 collect delivery budget pipeline quarterly report meeting invoice attached please find regards thanks schedule review project update".Split(' ');

    /// <summary>Sizes: most 2-50 KB, every 50th 1 MB (2 %).</summary>
    public static List<int> Sizes(int count, int seed)
    {
        var random = new Random(seed);
        var sizes = new List<int>(count);
        for (int i = 0; i < count; i++)
        {
            sizes.Add(i % 50 == 49 ? 1024 * 1024 : random.Next(2 * 1024, 50 * 1024 + 1));
        }

        return sizes;
    }

    /// <summary>
    /// The throughput corpus of issue 14: every 20th message (5 %) a 1-1.5 MB attachment carrying most of the bytes, the
    /// rest 2-14 KB (about 140 MB for 2,000 messages); with <paramref name="smallOnly"/> the small ones only.
    /// </summary>
    public static List<int> AttachmentHeavySizes(int count, int seed, bool smallOnly)
    {
        var random = new Random(seed);
        var sizes = new List<int>(count);
        for (int i = 0; i < count; i++)
        {
            sizes.Add(!smallOnly && i % 20 == 19 ? random.Next(1024 * 1024, (3 * 1024 * 1024 / 2) + 1) : random.Next(2 * 1024, (14 * 1024) + 1));
        }

        return sizes;
    }

    public static byte[] Message(int size, int seed, int index)
    {
        var random = new Random(HashCode.Combine(seed, index));
        var text = new StringBuilder(size + 200);
        text.Append("Return-Path: <sender").Append(index % 37).Append("@example.test>\n")
            .Append("From: Sender ").Append(index % 37).Append(" <sender").Append(index % 37).Append("@example.test>\n")
            .Append("To: alice@example.test\n")
            .Append("Subject: benchmark message ").Append(index).Append('\n')
            .Append("Date: Mon, 3 Nov 2025 10:").Append((index % 60).ToString("00", CultureInfo.InvariantCulture)).Append(":00 +0000\n")
            .Append("Message-ID: <bench-").Append(seed).Append('-').Append(index).Append("@example.test>\n")
            .Append("MIME-Version: 1.0\n");
        bool attachment = size > 100 * 1024;
        if (attachment)
        {
            text.Append("Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nSee the attachment.\n\n--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n");
            byte[] chunk = new byte[57];
            while (text.Length < size - 10)
            {
                random.NextBytes(chunk);
                text.Append(Convert.ToBase64String(chunk)).Append('\n');
            }

            text.Append("--b--\n");
        }
        else
        {
            text.Append("Content-Type: text/plain; charset=us-ascii\n\n");
            int column = 0;
            while (text.Length < size - 1)
            {
                string word = s_words[random.Next(s_words.Length)];
                if (column + word.Length > 72)
                {
                    text.Append('\n');
                    column = 0;
                }

                text.Append(word).Append(' ');
                column += word.Length + 1;
            }

            text.Append('\n');
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }

    /// <summary>A large base64 attachment message of about <paramref name="size"/> bytes.</summary>
    public static byte[] Big(int size, int seed) => Message(size, seed, 1_000_000 + seed);
}

/// <summary>JSON in and out of child processes.</summary>
internal static class Json
{
    public static readonly JsonSerializerOptions Options = new() { WriteIndented = false, PropertyNameCaseInsensitive = true };
}
