using FTGate.OAuth;

namespace FTGate.OAuth.Tests.Core;

public sealed class ModelTests
{
    [Fact]
    public void AccessToken_ToString_NeverShowsTheValue()
    {
        var token = new AccessToken("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-part", DateTimeOffset.UnixEpoch, "alice@example.test");

        string text = token.ToString();

        Assert.DoesNotContain("secret-part", text, StringComparison.Ordinal);
        Assert.DoesNotContain("eyJ0eXAi", text, StringComparison.Ordinal);
        Assert.Contains("alice@example.test", text, StringComparison.Ordinal);
        Assert.Contains(token.Fingerprint, text, StringComparison.Ordinal);
        Assert.Equal(8, token.Fingerprint.Length);
    }

    [Fact]
    public void AuthorizationCallback_FromUri_ReadsCodeStateAndIssuer()
    {
        var callback = AuthorizationCallback.FromUri(new Uri("http://127.0.0.1:5000/?code=abc%2Bdef&state=xyz&iss=http%3A%2F%2F127.0.0.1%3A9000"));

        Assert.Equal("abc+def", callback.Code);
        Assert.Equal("xyz", callback.State);
        Assert.Equal("http://127.0.0.1:9000", callback.Issuer);
        Assert.Null(callback.Error);
        Assert.DoesNotContain("abc", callback.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void AuthorizationCallback_FromQuery_ReadsProviderError()
    {
        var callback = AuthorizationCallback.FromQuery("?error=access_denied&error_description=The+user+said+no&state=s");

        Assert.Equal("access_denied", callback.Error);
        Assert.Equal("The user said no", callback.ErrorDescription);
        Assert.Null(callback.Code);
    }

    [Fact]
    public void AuthorizationResult_ToString_IsTheAdministratorsSentence()
    {
        var result = new AuthorizationResult("p", "alice@example.test", ["mail", "offline_access"], DateTimeOffset.UnixEpoch);
        Assert.Equal("Authorization has been granted for alice@example.test (scopes: mail offline_access)", result.ToString());
    }

    [Fact]
    public void TransientAuthorizationException_CarriesRetryAfterAndStableCode()
    {
        var ex = new TransientAuthorizationException("throttled", "p", TimeSpan.FromSeconds(60), "temporarily_unavailable");
        Assert.Equal(FTGateErrorCodes.ProviderUnavailable, ex.ErrorCode);
        Assert.Equal(TimeSpan.FromSeconds(60), ex.RetryAfter);
        Assert.Equal("p", ex.ProviderName);
        Assert.Equal("temporarily_unavailable", ex.Error);
        // Issue 16: the remedy tells the person what to do and never promises a retry nobody makes.
        Assert.Contains("Try again later", ex.Remedy, StringComparison.Ordinal);
        Assert.DoesNotContain("retries", ex.Remedy, StringComparison.OrdinalIgnoreCase);
    }
}
