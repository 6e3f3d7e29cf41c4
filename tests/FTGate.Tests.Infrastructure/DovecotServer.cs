using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace FTGate.Tests.Infrastructure;

/// <summary>
/// A private Dovecot 2.3 POP3 instance (tests/infra/start-dovecot.sh) validating XOAUTH2/OAUTHBEARER tokens against an
/// <see cref="OAuthServer"/> through introspection, with a generated CA, a plain port (STLS) and a POP3S port.
/// Users alice@, bob@ (OAuth and password) and carol@example.test (password); passwords are "&lt;name&gt;-password".
/// </summary>
public sealed class DovecotServer : IAsyncDisposable
{
    private readonly string _stateFile;

    private DovecotServer(string stateFile, JsonElement state)
    {
        _stateFile = stateFile;
        Pop3Port = state.GetProperty("pop3Port").GetInt32();
        Pop3sPort = state.GetProperty("pop3sPort").GetInt32();
        CaCertificatePath = state.GetProperty("caCert").GetString()!;
        ServerCertificateSha256 = state.GetProperty("serverCertSha256").GetString()!;
        MaildirRoot = state.GetProperty("maildirRoot").GetString()!;
        LogPath = state.GetProperty("logPath").GetString()!;
        Version = "Dovecot " + state.GetProperty("version").GetString();
        BaseDirectory = state.GetProperty("baseDir").GetString()!;
        CaCertificate = X509Certificate2.CreateFromPem(File.ReadAllText(CaCertificatePath));
    }

    /// <summary>The plain POP3 port (offers STLS).</summary>
    public int Pop3Port { get; }

    /// <summary>The implicit-TLS POP3S port.</summary>
    public int Pop3sPort { get; }

    /// <summary>The host to connect to.</summary>
    public string Host => "127.0.0.1";

    /// <summary>The generated test CA (PEM file).</summary>
    public string CaCertificatePath { get; }

    /// <summary>The generated test CA.</summary>
    public X509Certificate2 CaCertificate { get; }

    /// <summary>SHA-256 of the server certificate (hex).</summary>
    public string ServerCertificateSha256 { get; }

    /// <summary>Maildirs live in &lt;root&gt;/&lt;user&gt;/Maildir.</summary>
    public string MaildirRoot { get; }

    /// <summary>Dovecot's log (reasons for authentication failures appear only here).</summary>
    public string LogPath { get; }

    /// <summary>The Dovecot version, for test logs.</summary>
    public string Version { get; }

    /// <summary>The instance's base folder.</summary>
    public string BaseDirectory { get; }

    /// <summary>Why Dovecot cannot run here, or null.</summary>
    public static string? UnavailableReason()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "Dovecot integration tests run on Linux only.";
        }

        if (!File.Exists("/usr/sbin/dovecot"))
        {
            return "Dovecot is not installed (Debian packages dovecot-core dovecot-pop3d).";
        }

        return Environment.UserName == "root" ? null : "the Dovecot test instance must be started as root.";
    }

    /// <summary>Starts an instance that validates tokens against <paramref name="oauth"/>.</summary>
    public static async Task<DovecotServer> StartAsync(OAuthServer oauth, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(oauth);
        string stateFile = Path.Combine(Infra.NewTempDirectory("ftg-dcs"), "dovecot.json");
        (int code, string stdout, string stderr) = await ProcessRunner.RunAsync(
            "bash",
            [Path.Combine(Infra.InfraDirectory, "start-dovecot.sh"), "--oauth-state", oauth.StateFile, "--state-file", stateFile],
            TimeSpan.FromSeconds(90));
        if (code != 0 || !File.Exists(stateFile))
        {
            throw new InvalidOperationException($"Dovecot did not start (exit {code}): {stderr}\n{stdout}");
        }

        using JsonDocument doc = JsonDocument.Parse(await File.ReadAllTextAsync(stateFile, cancellationToken));
        return new DovecotServer(stateFile, doc.RootElement.Clone());
    }

    /// <summary>The Maildir of a user.</summary>
    public string MaildirOf(string user) => Path.Combine(MaildirRoot, user, "Maildir");

    /// <summary>
    /// Drops a message into the user's Maildir (tmp/ then rename into new/), byte for byte, and returns its file name —
    /// which is also its POP3 UIDL (<c>pop3_uidl_format = %f</c>).
    /// </summary>
    public string AddMessage(string user, ReadOnlySpan<byte> message, string? name = null)
    {
        string maildir = MaildirOf(user);
        name ??= $"{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.M{Random.Shared.NextInt64():x}P{Environment.ProcessId}.ftgate-test";
        string tmp = Path.Combine(maildir, "tmp", name);
        File.WriteAllBytes(tmp, message.ToArray());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
        }

        File.Move(tmp, Path.Combine(maildir, "new", name));
        return name;
    }

    /// <summary>The UIDLs (file names) of the messages currently in the user's Maildir (new/ and cur/, flags stripped).</summary>
    public IReadOnlyList<string> ListMessages(string user)
    {
        string maildir = MaildirOf(user);
        return Directory.GetFiles(Path.Combine(maildir, "new"))
            .Concat(Directory.GetFiles(Path.Combine(maildir, "cur")))
            .Select(f => Path.GetFileName(f).Split(':')[0])
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Empties the user's Maildir (and Dovecot's index files, so UIDLs do not linger).</summary>
    public void ClearMailbox(string user)
    {
        string maildir = MaildirOf(user);
        foreach (string sub in new[] { "new", "cur", "tmp" })
        {
            foreach (string file in Directory.GetFiles(Path.Combine(maildir, sub)))
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>
    /// Certificate validation that trusts exactly the test CA (full chain validation with a custom root; revocation off because
    /// the test CA has no CRL): TLS stays verified, against the test CA instead of the system roots.
    /// </summary>
    public RemoteCertificateValidationCallback TrustTestCa() => (_, certificate, _, errors) =>
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0 || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(CaCertificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var cert = new X509Certificate2(certificate);
        return chain.Build(cert);
    };

    /// <summary>Stops the instance and removes its folders.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await ProcessRunner.RunAsync("bash", [Path.Combine(Infra.InfraDirectory, "stop-dovecot.sh"), _stateFile, "--clean"], TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
        }

        CaCertificate.Dispose();
    }
}
