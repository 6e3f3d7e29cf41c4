using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FTGate.Testing;

namespace FTGate.SmartPop.Tests.Diagnosis;

/// <summary>
/// Connect-time failures stay inside the step table with the real cause: a silent port, TLS/plain mismatches both ways, and the
/// certificate's actual chain status (untrusted root, name mismatch, expired), each with its fix.
/// </summary>
public sealed class ConnectDiagnosisTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static SmartPopAccount Account(int port, Pop3Security security, Action<SmartPopAccount>? configure = null)
    {
        var account = new SmartPopAccount
        {
            Name = "connect",
            Host = "127.0.0.1",
            Port = port,
            Security = security,
            UserName = "carol@example.test",
            Password = "carol-password",
            CheckCertificateRevocation = false,
            ConnectTimeout = TimeSpan.FromSeconds(2),
            CommandTimeout = TimeSpan.FromMinutes(2),
        };
        configure?.Invoke(account);
        return account;
    }

    private static SmartPopClient Client() =>
        new(new OneProviderRegistry(new JwtProvider("nobody@example.test", "{}")), new InMemoryUidlStore(), Microsoft.Extensions.Options.Options.Create(new SmartPopOptions()));

    [Theory]
    [InlineData(Pop3Security.SslOnConnect)]
    [InlineData(Pop3Security.StartTls)]
    public async Task Test_PortAcceptsButNeverGreets_SaysSoWithinConnectTimeout(Pop3Security security)
    {
        await using var silent = new SilentServer();

        TestReport report = await Client().TestAsync(Account(silent.Port, security), Ct);

        TestStep step = report.Step(TestStepKind.TlsHandshake);
        Assert.Equal(TestStepStatus.Passed, report.Step(TestStepKind.Connect).Status);
        Assert.Equal(TestStepStatus.Failed, step.Status);
        Assert.Contains($"Connected to 127.0.0.1:{silent.Port}, but the server sent no greeting within 2 s", step.Cause, StringComparison.Ordinal);
        Assert.Contains("POP3 service is healthy", step.Remedy, StringComparison.Ordinal);
        Assert.Equal(SmartPopErrorCodes.ConnectFailed, step.ErrorCode);
        Assert.True(report.Duration < TimeSpan.FromSeconds(30), $"bounded by ConnectTimeout (2 s per probe), not CommandTimeout (120 s): took {report.Duration}");
    }

    [Theory]
    [InlineData(Pop3Security.StartTls)]
    [InlineData(Pop3Security.None)]
    public async Task Test_ClearTextStartOnTlsPort_NamesTheMismatchAtOnce(Pop3Security security)
    {
        await using TestPop3Server server = await TestPop3Server.StartAsync(cancellationToken: Ct);

        TestReport report = await Client().TestAsync(
            Account(server.TlsPort, security, a =>
            {
                a.ConnectTimeout = TimeSpan.FromSeconds(60);
                a.AllowInsecureAuthentication = security == Pop3Security.None; // None is only valid with this test-server switch
            }),
            Ct);

        TestStep step = report.Step(TestStepKind.TlsHandshake);
        Assert.True(step.Status == TestStepStatus.Failed, report.Describe());
        Assert.Contains($"speaks TLS from the first byte (a POP3S port like 995), but Security is {security}", step.Cause, StringComparison.Ordinal);
        Assert.Contains("Set Security = SslOnConnect", step.Remedy, StringComparison.Ordinal);
        Assert.True(report.Duration < TimeSpan.FromSeconds(30), $"named at once, not after the 60 s ConnectTimeout: took {report.Duration}");
    }

    [Fact]
    public async Task Test_SslOnConnectOnPlainPort_NamesThePlainGreeting()
    {
        await using TestPop3Server server = await TestPop3Server.StartAsync(cancellationToken: Ct);

        TestReport report = await Client().TestAsync(Account(server.Port, Pop3Security.SslOnConnect, a => a.ConnectTimeout = TimeSpan.FromSeconds(60)), Ct);

        TestStep step = report.Step(TestStepKind.TlsHandshake);
        Assert.Equal(TestStepStatus.Failed, step.Status);
        Assert.Contains("speaks plain POP3 (it greeted in clear text: '+OK", step.Cause, StringComparison.Ordinal);
        Assert.Contains("set Security = StartTls for this port", step.Remedy, StringComparison.Ordinal);
        Assert.Equal(SmartPopErrorCodes.TlsFailed, step.ErrorCode);
    }

    [Fact]
    public async Task Test_SelfSignedCertificateNotTrusted_PrintsUntrustedRootAndTheFix()
    {
        await using TestPop3Server server = await TestPop3Server.StartAsync(cancellationToken: Ct);

        TestReport report = await Client().TestAsync(Account(server.TlsPort, Pop3Security.SslOnConnect), Ct);

        TestStep step = report.Step(TestStepKind.TlsHandshake);
        Assert.Equal(TestStepStatus.Failed, step.Status);
        Assert.Contains("untrusted root", step.Cause, StringComparison.Ordinal);
        Assert.Contains("TrustedRootCertificates", step.Remedy, StringComparison.Ordinal);
        Assert.DoesNotContain("see the chain problem above", step.Remedy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_CertificateForAnotherName_PrintsNameMismatchWithTheCertificateNames()
    {
        using X509Certificate2 certificate = SelfSigned("mail.other.example", DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        await using TestPop3Server server = await TestPop3Server.StartAsync(new TestPop3ServerOptions { Certificate = certificate }, Ct);

        TestReport report = await Client().TestAsync(Account(server.TlsPort, Pop3Security.SslOnConnect, a => a.TrustedRootCertificates = [server.Certificate]), Ct);

        TestStep step = report.Step(TestStepKind.TlsHandshake);
        Assert.Contains("name mismatch: the certificate is for mail.other.example, not '127.0.0.1'", step.Cause, StringComparison.Ordinal);
        Assert.Contains("Set Host to a name the certificate lists (mail.other.example)", step.Remedy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_ExpiredCertificate_PrintsExpiryDateAndClockAdvice()
    {
        DateTimeOffset notAfter = DateTimeOffset.UtcNow.AddDays(-3);
        using X509Certificate2 certificate = SelfSigned("127.0.0.1", notAfter.AddDays(-30), notAfter);
        await using TestPop3Server server = await TestPop3Server.StartAsync(new TestPop3ServerOptions { Certificate = certificate }, Ct);

        TestReport report = await Client().TestAsync(Account(server.TlsPort, Pop3Security.SslOnConnect, a => a.TrustedRootCertificates = [server.Certificate]), Ct);

        TestStep step = report.Step(TestStepKind.TlsHandshake);
        Assert.Contains("expired: the certificate was valid until", step.Cause, StringComparison.Ordinal);
        Assert.Contains("renew the certificate", step.Remedy, StringComparison.Ordinal);
        Assert.Contains("clock", step.Remedy, StringComparison.Ordinal);
    }

    private static X509Certificate2 SelfSigned(string name, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        if (System.Net.IPAddress.TryParse(name, out System.Net.IPAddress? ip))
        {
            san.AddIpAddress(ip);
        }
        else
        {
            san.AddDnsName(name);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using X509Certificate2 created = request.CreateSelfSigned(notBefore, notAfter);
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }
}
