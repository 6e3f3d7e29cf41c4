using FTGate.Tests.Infrastructure;

namespace FTGate.Cli.Tests;

/// <summary>Secrets come from a prompt or an environment variable, are stored encrypted or not at all, and are never printed.</summary>
public sealed class SecretHandlingTests
{
    private const string Secret = "s3cret-value-never-printed";

    [Fact]
    public async Task ProviderAdd_ClientSecretPrompt_StoredEncryptedNotInTheConfigAndNeverPrinted()
    {
        string dir = Infra.NewTempDirectory("ftg-sec");
        var cli = new CliRunner(Path.Combine(dir, "ftgate.json"));

        CliRun add = await cli.RunAsync(["provider", "add", "Web", "--type", "oauth2", "--client-id", "web", "--user", "u@example.test",
            "--authority", "http://127.0.0.1:9/", "--client-secret-prompt"], input: Secret + "\n");
        Assert.True(add.ExitCode == 0, add.ToString());
        CliRun show = await cli.RunAsync("provider", "show", "Web");
        CliRun list = await cli.RunAsync("provider", "list");
        CliRun status = await cli.RunAsync("status", "--json");

        Assert.Contains("ClientSecretInTokenStore: true", show.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, File.ReadAllText(cli.ConfigPath), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, cli.AllOutput, StringComparison.Ordinal);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(dir, "ftgate.tokens")));
        foreach (string file in Directory.GetFiles(Path.Combine(dir, "ftgate.tokens")))
        {
            Assert.DoesNotContain(Secret, File.ReadAllText(file), StringComparison.Ordinal);
        }

        CliRun remove = await cli.RunAsync("provider", "remove", "Web");
        Assert.True(remove.ExitCode == 0, remove.ToString());
        Assert.DoesNotContain(Secret, cli.AllOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProviderShow_SecretWrittenIntoTheFileByHand_IsMasked()
    {
        string dir = Infra.NewTempDirectory("ftg-sec");
        string config = Path.Combine(dir, "ftgate.json");
        await File.WriteAllTextAsync(config, $$"""
            { "FTGate": { "Providers": { "Web": { "Type": "OAuth2", "ClientId": "web", "ClientSecret": "{{Secret}}", "UserName": "u", "Authority": "http://127.0.0.1:9/" } } } }
            """, TestContext.Current.CancellationToken);
        var cli = new CliRunner(config);

        CliRun show = await cli.RunAsync("provider", "show", "Web");

        Assert.Equal(0, show.ExitCode);
        Assert.Contains("ClientSecret: ********", show.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, show.Out, StringComparison.Ordinal);
    }
}
