namespace FTGate.OAuth;

/// <summary>What a provider error code means and what to do about it: one entry of <see cref="FTGateErrorCatalog"/>.</summary>
public sealed class ErrorExplanation
{
    /// <summary>Creates an entry.</summary>
    /// <param name="code">The code as the provider shows it (for example <c>AADSTS50194</c> or <c>invalid_grant</c>).</param>
    /// <param name="provider">Who issues it: <c>Microsoft</c>, <c>Google</c> or <c>OAuth 2.0</c>.</param>
    /// <param name="meaning">What the provider is saying, in one line.</param>
    /// <param name="cause">Why it happens, in the setups the SDK supports.</param>
    /// <param name="fix">What to do, naming the portal page or setting.</param>
    public ErrorExplanation(string code, string provider, string meaning, string cause, string fix)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        ArgumentException.ThrowIfNullOrEmpty(provider);
        ArgumentException.ThrowIfNullOrEmpty(meaning);
        ArgumentException.ThrowIfNullOrEmpty(cause);
        ArgumentException.ThrowIfNullOrEmpty(fix);
        Code = code;
        Provider = provider;
        Meaning = meaning;
        Cause = cause;
        Fix = fix;
    }

    /// <summary>The code as the provider shows it (for example <c>AADSTS50194</c> or <c>invalid_grant</c>).</summary>
    public string Code { get; }

    /// <summary>Who issues it: <c>Microsoft</c>, <c>Google</c> or <c>OAuth 2.0</c>.</summary>
    public string Provider { get; }

    /// <summary>What the provider is saying, in one line.</summary>
    public string Meaning { get; }

    /// <summary>Why it happens.</summary>
    public string Cause { get; }

    /// <summary>What to do.</summary>
    public string Fix { get; }

    /// <summary>The entry as three lines: code and meaning, cause, fix.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => $"{Code} ({Provider}): {Meaning}{Environment.NewLine}cause: {Cause}{Environment.NewLine}fix: {Fix}";
}
