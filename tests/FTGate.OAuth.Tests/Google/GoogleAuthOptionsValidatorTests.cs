using FTGate.OAuth.Internal;

namespace FTGate.OAuth.Tests.Google;

public sealed class GoogleAuthOptionsValidatorTests
{
    private static GoogleAuthOptions Valid() => new() { ClientId = "1-a.apps.googleusercontent.com", ClientSecret = "s", UserName = "u@example.com" };

    [Fact]
    public void Validate_DelegatedComplete_Succeeds()
    {
        Assert.True(new GoogleAuthOptionsValidator().Validate("gmail", Valid()).Succeeded);
    }

    [Fact]
    public void Validate_ExtraScope_FailsExplainingGmailScope()
    {
        GoogleAuthOptions o = Valid();
        o.Scopes = ["https://www.googleapis.com/auth/gmail.readonly"];

        var result = new GoogleAuthOptionsValidator().Validate("gmail", o);

        Assert.True(result.Failed);
        Assert.Contains("only 'https://mail.google.com/'", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Provider 'gmail'", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MissingSecretAndOobRedirect_FailsForBoth()
    {
        GoogleAuthOptions o = Valid();
        o.ClientSecret = null;
        o.RedirectUri = "urn:ietf:wg:oauth:2.0:oob";

        var result = new GoogleAuthOptionsValidator().Validate("gmail", o);

        Assert.Contains("ClientSecret is required", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("blocked by Google", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ServiceAccountJsonNotAServiceAccount_Fails()
    {
        var o = new GoogleAuthOptions { UserName = "m@example.com", ServiceAccountKeyJson = """{"type":"authorized_user"}""" };

        var result = new GoogleAuthOptionsValidator().Validate("gmail", o);

        Assert.Contains("not a service account key", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ServiceAccountKey_SucceedsWithoutClientId()
    {
        var o = new GoogleAuthOptions { UserName = "m@example.com", ServiceAccountKeyJson = GoogleServiceAccountTests.KeyJson() };

        Assert.True(new GoogleAuthOptionsValidator().Validate("gmail", o).Succeeded);
    }
}
