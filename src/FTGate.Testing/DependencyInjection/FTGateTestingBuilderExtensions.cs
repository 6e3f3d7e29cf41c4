using FTGate.OAuth;
using FTGate.Testing;

namespace FTGate;

/// <summary>Registrations on <see cref="IFTGateBuilder"/> that point FTGate at the in-process fakes of FTGate.Testing.</summary>
public static class FTGateTestingBuilderExtensions
{
    /// <summary>The public client id <see cref="AddTestOAuth2"/> registers with the authority.</summary>
    public const string TestClientId = "ftgate-test-client";

    /// <summary>The redirect URI <see cref="AddTestOAuth2"/> configures (any loopback port is accepted by the authority).</summary>
    public const string TestRedirectUri = "http://127.0.0.1/ftgate/callback";

    /// <summary>
    /// Adds a generic OAuth2 provider named <paramref name="name"/> whose authority is <paramref name="authority"/>: registers the
    /// public client <see cref="TestClientId"/> there and sets Authority, ClientId, UserName, RedirectUri and scopes
    /// (<c>openid email offline_access mail.pop</c>).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The provider's name.</param>
    /// <param name="authority">The running test authority.</param>
    /// <param name="userName">The account that signs in (its mailbox on <see cref="TestPop3Server"/> is the one to fetch).</param>
    /// <param name="configure">Further changes to the options, applied last.</param>
    /// <returns>The builder.</returns>
    /// <example>
    /// <code>
    /// await using var authority = await TestOAuthAuthority.StartAsync();
    /// services.AddFTGate().UseInMemoryTokenStore().AddTestOAuth2("Test", authority, "user@example.test");
    /// </code>
    /// </example>
    public static IFTGateBuilder AddTestOAuth2(
        this IFTGateBuilder builder,
        string name,
        TestOAuthAuthority authority,
        string userName,
        Action<OAuth2AuthOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(authority);
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        authority.RegisterClient(TestClientId);
        return builder.AddOAuth2(name, o =>
        {
            o.Authority = authority.Issuer.ToString().TrimEnd('/');
            o.ClientId = TestClientId;
            o.UserName = userName;
            o.RedirectUri = TestRedirectUri;
            o.Scopes = ["openid", "email", "offline_access", TestOAuthAuthority.MailScope];
            configure?.Invoke(o);
        });
    }
}
