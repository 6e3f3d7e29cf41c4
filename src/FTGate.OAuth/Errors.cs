namespace FTGate.OAuth;

/// <summary>
/// The root of every exception the SDK raises on purpose. Each carries a stable <see cref="ErrorCode"/> (listed in
/// docs/troubleshooting.md) and, where a person can act, a <see cref="Remedy"/> sentence.
/// </summary>
public abstract class FTGateException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errorCode">The stable error code.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="remedy">What to do about it.</param>
    /// <param name="innerException">The underlying cause.</param>
    protected FTGateException(string errorCode, string message, string? remedy, Exception? innerException)
        : base(message, innerException)
    {
        ArgumentException.ThrowIfNullOrEmpty(errorCode);
        ErrorCode = errorCode;
        Remedy = remedy;
    }

    /// <summary>The stable error code (see <see cref="FTGateErrorCodes"/>).</summary>
    public string ErrorCode { get; }

    /// <summary>One sentence a person can act on, or <see langword="null"/> when there is nothing to do but retry.</summary>
    public string? Remedy { get; }
}

/// <summary>
/// An authorization or token error: the provider refused, the configuration is unusable with the provider, or the
/// interactive flow went wrong. Carries the RFC 6749 <see cref="Error"/> and <see cref="ErrorDescription"/> of the provider.
/// </summary>
public class AuthorizationException : FTGateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errorCode">The stable error code.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="remedy">What to do about it.</param>
    /// <param name="providerName">The provider involved.</param>
    /// <param name="error">The provider's OAuth <c>error</c> value (for example <c>invalid_grant</c>).</param>
    /// <param name="errorDescription">The provider's <c>error_description</c> (for example an AADSTS text).</param>
    /// <param name="innerException">The underlying cause.</param>
    public AuthorizationException(
        string errorCode,
        string message,
        string? remedy = null,
        string? providerName = null,
        string? error = null,
        string? errorDescription = null,
        Exception? innerException = null)
        : base(errorCode, message, remedy, innerException)
    {
        ProviderName = providerName;
        Error = error;
        ErrorDescription = errorDescription;
    }

    /// <summary>The provider involved, when known.</summary>
    public string? ProviderName { get; }

    /// <summary>The provider's OAuth <c>error</c> value, when there was one.</summary>
    public string? Error { get; }

    /// <summary>The provider's <c>error_description</c>, when there was one.</summary>
    public string? ErrorDescription { get; }
}

/// <summary>
/// The user's grant is missing or dead (revoked, expired, password changed, conditional access): a person must run
/// Authorize Now again. Retrying will not help.
/// </summary>
public sealed class ReauthorizationRequiredException : AuthorizationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errorCode">The stable error code (<see cref="FTGateErrorCodes.NotAuthorized"/> or <see cref="FTGateErrorCodes.ReauthorizationRequired"/>).</param>
    /// <param name="message">Why.</param>
    /// <param name="remedy">What to do.</param>
    /// <param name="providerName">The provider.</param>
    /// <param name="userName">The user whose grant is dead.</param>
    /// <param name="error">The provider's OAuth <c>error</c>.</param>
    /// <param name="errorDescription">The provider's <c>error_description</c>.</param>
    /// <param name="innerException">The underlying cause.</param>
    public ReauthorizationRequiredException(
        string errorCode,
        string message,
        string? remedy,
        string providerName,
        string userName,
        string? error = null,
        string? errorDescription = null,
        Exception? innerException = null)
        : base(errorCode, message, remedy, providerName, error, errorDescription, innerException)
    {
        UserName = userName;
    }

    /// <summary>The user whose grant is missing or dead.</summary>
    public string UserName { get; }
}

/// <summary>The provider is throttling, unreachable or temporarily unavailable. The stored grant is intact; try again later.</summary>
public sealed class TransientAuthorizationException : AuthorizationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="providerName">The provider.</param>
    /// <param name="retryAfter">How long the provider asked to wait, when it said.</param>
    /// <param name="error">The provider's OAuth <c>error</c>, when there was one.</param>
    /// <param name="errorDescription">The provider's description, when there was one.</param>
    /// <param name="innerException">The underlying cause.</param>
    public TransientAuthorizationException(
        string message,
        string? providerName,
        TimeSpan? retryAfter = null,
        string? error = null,
        string? errorDescription = null,
        Exception? innerException = null)
        : base(FTGateErrorCodes.ProviderUnavailable, message, TransientRemedy, providerName, error, errorDescription, innerException)
    {
        RetryAfter = retryAfter;
    }

    /// <summary>How long the provider asked to wait, when it said (HTTP <c>Retry-After</c>).</summary>
    public TimeSpan? RetryAfter { get; }

    private const string TransientRemedy =
        "The stored authorization is unaffected. Try again later (not before RetryAfter when the provider gave one); if it persists, check the provider's service status and this server's network path to it (DNS, proxy settings such as HTTPS_PROXY, firewall).";
}

/// <summary>No provider of the requested name is configured.</summary>
public sealed class UnknownAuthProviderException : FTGateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="name">The name asked for.</param>
    /// <param name="knownNames">The names that are configured.</param>
    public UnknownAuthProviderException(string name, IReadOnlyCollection<string> knownNames)
        : base(
            FTGateErrorCodes.ProviderUnknown,
            knownNames.Count == 0
                ? $"No authentication provider named '{name}' is configured, and none are configured at all."
                : $"No authentication provider named '{name}' is configured. Known providers: {string.Join(", ", knownNames.Select(n => $"'{n}'"))}.",
            knownNames.Count == 0
                ? "Add a provider (FTGate:Providers:<name> in configuration, or builder.AddMicrosoft/AddGoogle/AddOAuth2)."
                : "Use one of the known names (names are case-sensitive), or add the provider.",
            null)
    {
        Name = name;
        KnownNames = knownNames;
    }

    /// <summary>The name asked for.</summary>
    public string Name { get; }

    /// <summary>The names that are configured.</summary>
    public IReadOnlyCollection<string> KnownNames { get; }
}

/// <summary>The configuration is invalid: the message names the provider or account and the field.</summary>
public sealed class FTGateConfigurationException : FTGateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which item and field is wrong, and how.</param>
    /// <param name="remedy">How to fix it.</param>
    /// <param name="innerException">The underlying cause.</param>
    public FTGateConfigurationException(string message, string? remedy = null, Exception? innerException = null)
        : base(FTGateErrorCodes.ConfigurationInvalid, message, remedy, innerException)
    {
    }

    /// <summary>Creates the exception with a more specific error code than <c>configuration_invalid</c>.</summary>
    /// <param name="errorCode">The stable error code, for example <c>smartpop_account_unknown</c>.</param>
    /// <param name="message">Which item and field is wrong, and how.</param>
    /// <param name="remedy">How to fix it.</param>
    /// <param name="innerException">The underlying cause.</param>
    public FTGateConfigurationException(string errorCode, string message, string? remedy, Exception? innerException)
        : base(errorCode, message, remedy, innerException)
    {
    }
}

/// <summary>A token store write lost a race: the entry changed since it was read. Read it again and retry.</summary>
public sealed class TokenStoreConcurrencyException : FTGateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="expectedVersion">The version the writer expected.</param>
    /// <param name="actualVersion">The version found in the store (<see langword="null"/> when the entry is absent).</param>
    public TokenStoreConcurrencyException(string key, string? expectedVersion, string? actualVersion)
        : base(
            FTGateErrorCodes.TokenStoreConflict,
            $"The token store entry '{key}' was changed by another writer (expected version {expectedVersion ?? "<none>"}, found {actualVersion ?? "<none>"}).",
            "Read the entry again and retry; this is expected when several processes share a store.",
            null)
    {
        Key = key;
        ExpectedVersion = expectedVersion;
        ActualVersion = actualVersion;
    }

    /// <summary>The entry's key.</summary>
    public string Key { get; }

    /// <summary>The version the writer expected.</summary>
    public string? ExpectedVersion { get; }

    /// <summary>The version found in the store.</summary>
    public string? ActualVersion { get; }
}

/// <summary>A stored entry cannot be read: it is truncated, tampered with, or encrypted under another key.</summary>
public sealed class TokenStoreCorruptedException : FTGateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="location">The file (or other location) holding the entry.</param>
    /// <param name="reason">What is wrong with it.</param>
    /// <param name="innerException">The underlying cause.</param>
    public TokenStoreCorruptedException(string key, string location, string reason, Exception? innerException = null)
        : base(
            FTGateErrorCodes.TokenStoreCorrupted,
            $"The token store entry '{key}' in '{location}' cannot be read: {reason}.",
            "If the store's key file was replaced, restore it; otherwise delete the file and run Authorize Now again for that account.",
            innerException)
    {
        Key = key;
        Location = location;
    }

    /// <summary>The entry's key.</summary>
    public string Key { get; }

    /// <summary>The file (or other location) holding the entry.</summary>
    public string Location { get; }
}
