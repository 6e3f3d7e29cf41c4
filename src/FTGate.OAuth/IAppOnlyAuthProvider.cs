namespace FTGate.OAuth;

/// <summary>
/// Implemented by providers that can act as the application itself instead of as a signed-in person: Microsoft app-only
/// (client credentials), a Google service account with domain-wide delegation, the generic provider's client credentials.
/// </summary>
/// <remarks>
/// It decides whose token a mail collector asks for (the shared-mailbox rule): a delegated provider's tokens belong to its
/// authorized user (<see cref="IAuthProvider.UserName"/>), who may read other mailboxes it has permission for; an app-only
/// provider's tokens are asked for the mailbox being read. In both cases the SASL user is the mailbox.
/// </remarks>
public interface IAppOnlyAuthProvider
{
    /// <summary><see langword="true"/> when the provider acts as the application (no person signs in).</summary>
    bool IsAppOnly { get; }
}
