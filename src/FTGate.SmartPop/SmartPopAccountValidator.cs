using FTGate.OAuth;
using Microsoft.Extensions.Options;

namespace FTGate.SmartPop;

/// <summary>Validates <see cref="SmartPopAccount"/> at start; every message names the account and the field.</summary>
public sealed class SmartPopAccountValidator : IValidateOptions<SmartPopAccount>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, SmartPopAccount options)
    {
        ArgumentNullException.ThrowIfNull(options);
        IReadOnlyList<string> failures = GetFailures(string.IsNullOrEmpty(options.Name) ? name ?? string.Empty : options.Name, options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Validates an account built in code, throwing when it is invalid.</summary>
    /// <param name="account">The account.</param>
    /// <exception cref="FTGateConfigurationException">The account is invalid; the message lists every problem.</exception>
    public static void ThrowIfInvalid(SmartPopAccount account)
    {
        ArgumentNullException.ThrowIfNull(account);
        IReadOnlyList<string> failures = GetFailures(account.Name, account);
        if (failures.Count > 0)
        {
            throw new FTGateConfigurationException(string.Join(" ", failures), "Fix the fields named above.");
        }
    }

    private static List<string> GetFailures(string name, SmartPopAccount o)
    {
        var failures = new List<string>();
        string p = $"SmartPop account '{name}': ";
        if (string.IsNullOrWhiteSpace(name))
        {
            failures.Add("SmartPop account '': Name is required.");
        }

        AddConnectionFailures(failures, p, o);
        AddCredentialFailures(failures, p, o);
        AddCollectionFailures(failures, p, o);
        return failures;
    }

    private static void AddConnectionFailures(List<string> failures, string p, SmartPopAccount o)
    {
        if (string.IsNullOrWhiteSpace(o.Host))
        {
            failures.Add(p + "Host is required.");
        }

        if (o.Port is < 0 or > 65535)
        {
            failures.Add(p + $"Port {o.Port} is out of range (0-65535; 0 = default for Security).");
        }

        if (!Enum.IsDefined(o.Security))
        {
            failures.Add(p + $"Security '{o.Security}' is not SslOnConnect, StartTls or None.");
        }
        else if (o.Security == Pop3Security.None && !o.AllowInsecureAuthentication)
        {
            failures.Add(p + "Security None sends the token or password in clear text: use SslOnConnect or StartTls, or set AllowInsecureAuthentication (test servers only).");
        }

        if (string.IsNullOrWhiteSpace(o.UserName))
        {
            failures.Add(p + "UserName is required.");
        }

        if (o.TrustedRootCertificateFile is { Length: > 0 } roots && !File.Exists(roots))
        {
            failures.Add(p + $"TrustedRootCertificateFile '{roots}' does not exist; give the path of a PEM file with the private CA's root certificate, or remove the setting to use the system's roots.");
        }
    }

    private static void AddCredentialFailures(List<string> failures, string p, SmartPopAccount o)
    {
        int sources = (string.IsNullOrEmpty(o.Password) ? 0 : 1) + (string.IsNullOrWhiteSpace(o.PasswordEnvironmentVariable) ? 0 : 1) + (string.IsNullOrWhiteSpace(o.AuthProvider) ? 0 : 1);
        if (sources == 0)
        {
            failures.Add(p + "set exactly one of AuthProvider (OAuth2), Password or PasswordEnvironmentVariable; none is set.");
        }
        else if (sources > 1)
        {
            failures.Add(p + "set exactly one of AuthProvider, Password or PasswordEnvironmentVariable; several are set.");
        }
        else if (!string.IsNullOrWhiteSpace(o.PasswordEnvironmentVariable) && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(o.PasswordEnvironmentVariable)))
        {
            failures.Add(p + $"PasswordEnvironmentVariable names '{o.PasswordEnvironmentVariable}', which is not set in this process's environment.");
        }

        if (o.SaslMechanism is { } mechanism && (!Enum.IsDefined(mechanism) || !o.UsesOAuth))
        {
            failures.Add(p + (o.UsesOAuth ? $"SaslMechanism '{mechanism}' is not XOAuth2 or OAuthBearer." : "SaslMechanism applies only to OAuth2 accounts (AuthProvider); remove it."));
        }
    }

    private static void AddCollectionFailures(List<string> failures, string p, SmartPopAccount o)
    {
        if (o.DeleteAfterDays is < 0)
        {
            failures.Add(p + "DeleteAfterDays must be 0 or more.");
        }

        if (o.DeleteAfterDays is not null && !o.LeaveOnServer)
        {
            failures.Add(p + "DeleteAfterDays applies only with LeaveOnServer = true (with LeaveOnServer = false every message is deleted once delivered).");
        }

        if (o.MaxMessageSize <= 0)
        {
            failures.Add(p + "MaxMessageSize must be more than 0 bytes.");
        }

        if (o.MaxMessagesPerPoll < 0)
        {
            failures.Add(p + "MaxMessagesPerPoll must be 0 (no limit) or more.");
        }

        if (o.PollInterval < TimeSpan.FromSeconds(1))
        {
            failures.Add(p + $"PollInterval {o.PollInterval} is too short (at least 1 second; Gmail wants 5 minutes).");
        }

        if (o.ConnectTimeout <= TimeSpan.Zero)
        {
            failures.Add(p + "ConnectTimeout must be positive.");
        }

        if (o.CommandTimeout < TimeSpan.FromSeconds(1))
        {
            failures.Add(p + "CommandTimeout must be at least 1 second.");
        }

        if (o.FetchTimeout < TimeSpan.FromSeconds(1))
        {
            failures.Add(p + "FetchTimeout must be at least 1 second (for example \"00:10:00\" for 10 minutes).");
        }
    }
}

/// <summary>Validates <see cref="SmartPopOptions"/>.</summary>
public sealed class SmartPopOptionsValidator : IValidateOptions<SmartPopOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, SmartPopOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.MaxConcurrentFetches < 1)
        {
            failures.Add("SmartPop: MaxConcurrentFetches must be at least 1.");
        }

        if (options.MaxConnectionsPerHost < 1)
        {
            failures.Add("SmartPop: MaxConnectionsPerHost must be at least 1.");
        }

        if (options.MemoryBudgetBytes < 1024 * 1024)
        {
            failures.Add("SmartPop: MemoryBudgetBytes must be at least 1 MiB.");
        }

        if (options.PipelineMessageMaxBytes < 0 || options.PipelineBatchMaxBytes < 0)
        {
            failures.Add("SmartPop: PipelineMessageMaxBytes and PipelineBatchMaxBytes must be 0 or more.");
        }

        if (options.MaxBackoff < TimeSpan.FromSeconds(1))
        {
            failures.Add("SmartPop: MaxBackoff must be at least 1 second.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
