using System.Security.Cryptography.X509Certificates;

namespace FTGate.Testing.Tests;

public sealed class CertificateTrustTests
{
    [Fact]
    public async Task Certificate_AsCustomRootTrust_ChainBuilds_SoSmartPopTrustedRootCertificatesAcceptsIt()
    {
        await using TestPop3Server server = await TestPop3Server.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var publicOnly = X509CertificateLoader.LoadCertificate(server.Certificate.RawData);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(publicOnly);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;

        bool built = chain.Build(publicOnly);

        Assert.True(built, string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
    }
}
