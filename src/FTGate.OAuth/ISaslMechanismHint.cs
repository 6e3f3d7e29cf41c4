namespace FTGate.OAuth;

/// <summary>
/// Implemented by providers that know which SASL mechanism their mail server expects the access token in. A POP3 client
/// checks <c>provider is ISaslMechanismHint hint</c> and uses <see cref="SaslMechanism"/>; otherwise it uses XOAUTH2.
/// </summary>
public interface ISaslMechanismHint
{
    /// <summary>The SASL mechanism to present the access token with (XOAUTH2 or OAUTHBEARER).</summary>
    SaslMechanismKind SaslMechanism { get; }
}
