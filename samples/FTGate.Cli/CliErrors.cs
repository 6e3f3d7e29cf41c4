using System.Net.Http;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.RegularExpressions;
using FTGate;
using FTGate.OAuth;
using Microsoft.Extensions.Options;

namespace FTGate.Cli;

/// <summary>The exit codes of <c>ftgate</c> (the contract scripts rely on).</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int UsageOrConfiguration = 2;
    public const int AuthorizationNeeded = 3;
    public const int ConnectionFailure = 4;
}

/// <summary>An error the CLI itself detects (bad flag combination, missing config entry): its exit code, message(s) and fix.</summary>
internal sealed class CliException(int exitCode, string message, string? remedy = null, IReadOnlyList<string>? messages = null) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public string? Remedy { get; } = remedy;

    /// <summary>Several problems found at once (each printed on its own "error:" line); <see langword="null"/> for one.</summary>
    public IReadOnlyList<string>? Messages { get; } = messages;
}

/// <summary>Turns an exception into an exit code and one or two lines: what went wrong, and what to do.</summary>
internal static class CliErrors
{
    public static int Report(Exception exception, CliConsole console, bool verbose)
    {
        int exitCode = ExitCodeOf(exception);
        foreach (string line in MessagesOf(exception))
        {
            console.Error.WriteLine("error: " + line);
        }

        if (RemedyOf(exception) is { Length: > 0 } remedy)
        {
            Match named = Regex.Match(exception.Message, "^Provider '(?<name>[^']+)'", RegexOptions.CultureInvariant);
            string? provider = (exception as AuthorizationException)?.ProviderName ?? (named.Success ? named.Groups["name"].Value : null);
            console.Error.WriteLine("fix: " + InCliWords(remedy, provider));
        }

        if (verbose)
        {
            console.Error.WriteLine(exception.ToString());
        }

        return exitCode;
    }

    /// <summary>Runs the SDK's validation of a configuration not yet saved; failures name the field and nothing is saved.</summary>
    public static void ValidateBeforeSaving(IServiceProvider services)
    {
        try
        {
            services.ValidateFTGateConfiguration();
        }
        catch (Exception ex) when (ex is OptionsValidationException or AggregateException or FTGateConfigurationException)
        {
            List<string> messages = MessagesOf(ex).Select(WithFlag).ToList();
            throw new CliException(
                ExitCodes.UsageOrConfiguration,
                string.Join(" ", messages),
                "Run the command again with the flag named above; nothing was saved.",
                messages);
        }
    }

    /// <summary>
    /// Says a remedy in the CLI's words: the SDK's remedies name the host's button ("Run Authorize Now"); here the command
    /// to type is <c>ftgate authorize NAME</c> (with <c>--device-code</c> for the device sign-in).
    /// </summary>
    /// <param name="remedy">The SDK's remedy.</param>
    /// <param name="providerName">The provider it is about, when known.</param>
    /// <returns>The remedy naming commands.</returns>
    public static string InCliWords(string remedy, string? providerName)
    {
        ArgumentNullException.ThrowIfNull(remedy);
        string command = "ftgate authorize " + (providerName is null ? "PROVIDER" : Quote(providerName));
        string text = Regex.Replace(remedy, @"\((or )?(the )?device[- ]code sign-in\)|\(or the device sign-in\)", "(add --device-code on a machine without a browser)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        text = Regex.Replace(text, @"\b(click|run|use) Authorize Now\b", m => (char.IsUpper(m.Value[0]) ? "Run " : "run ") + command, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        return text.Replace("Authorize Now", command, StringComparison.Ordinal);
    }

    /// <summary>A name as it is typed in a shell: quoted when it has spaces or quotes.</summary>
    public static string Quote(string name) =>
        name.Length > 0 && name.All(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' or '@') ? name : "\"" + name.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    /// <summary>
    /// The flag that sets each field of a provider or account (<c>ftgate provider add</c>, <c>ftgate account add</c>).
    /// Secrets have no flag of their own: they come from an environment variable or a hidden prompt.
    /// </summary>
    private static readonly (string Field, string Flag)[] FieldFlags =
    [
        ("ClientSecret", "--client-secret-env VARIABLE or --client-secret-prompt"),
        ("ClientId", "--client-id"),
        ("TenantId", "--tenant"),
        ("DeviceAuthorizationEndpoint", "--device-endpoint"),
        ("AuthorizationEndpoint", "--authorization-endpoint"),
        ("TokenEndpoint", "--token-endpoint"),
        ("Authority", "--authority (or --discovery)"),
        ("Scopes", "--scope"),
        ("RedirectUri", "--redirect-uri"),
        ("UserName", "--user"),
        ("AuthProvider", "--provider"),
        ("PasswordEnvironmentVariable", "--password-env"),
        ("Password", "--password-env"),
        ("MaxMessageSize", "--max-size"),
        ("AllowInsecureAuthentication", "--allow-insecure-auth"),
        ("TrustedRootCertificateFile", "--ca-cert"),
        ("CheckCertificateRevocation", "--no-revocation-check"),
        ("Security", "--security"),
        ("Host", "--host"),
        ("Port", "--port"),
    ];

    /// <summary>One validation message with the flag that sets its field (the first field it names) appended.</summary>
    private static string WithFlag(string message)
    {
        string? flag = FieldFlags
            .Select(f => (f.Flag, Match: Regex.Match(message, $@"\b{f.Field}\b", RegexOptions.CultureInvariant)))
            .Where(f => f.Match.Success)
            .OrderBy(f => f.Match.Index)
            .Select(f => f.Flag)
            .FirstOrDefault();
        return flag is null ? message : $"{message} (flag: {flag})";
    }

    public static int ExitCodeOf(Exception exception) => exception switch
    {
        CliException cli => cli.ExitCode,
        OptionsValidationException or FTGateConfigurationException or UnknownAuthProviderException => ExitCodes.UsageOrConfiguration,
        AggregateException aggregate when aggregate.InnerExceptions.All(e => ExitCodeOf(e) == ExitCodes.UsageOrConfiguration) => ExitCodes.UsageOrConfiguration,
        NotSupportedException => ExitCodes.UsageOrConfiguration,
        TransientAuthorizationException => ExitCodes.ConnectionFailure,
        AuthorizationException when HasNetworkCause(exception) => ExitCodes.ConnectionFailure,
        AuthorizationException => ExitCodes.AuthorizationNeeded,
        FTGateException ftgate => ExitCodeOf(ftgate.ErrorCode),
        HttpRequestException or SocketException or AuthenticationException or IOException => ExitCodes.ConnectionFailure,
        _ => ExitCodes.Failure,
    };

    /// <summary>The exit code for a stable SDK error code (also used for failed test steps and fetches).</summary>
    public static int ExitCodeOf(string? errorCode) => errorCode switch
    {
        null => ExitCodes.Failure,
        FTGateErrorCodes.ConfigurationInvalid or FTGateErrorCodes.ProviderUnknown => ExitCodes.UsageOrConfiguration,
        FTGateErrorCodes.ProviderUnavailable => ExitCodes.ConnectionFailure,
        "pop3_authentication_rejected" or "pop3_access_disabled" => ExitCodes.AuthorizationNeeded,
        "pop3_insecure_authentication_refused" or "smartpop_account_unknown" => ExitCodes.UsageOrConfiguration,
        _ when errorCode.StartsWith("pop3_", StringComparison.Ordinal) => ExitCodes.ConnectionFailure,
        _ when errorCode.StartsWith("smartpop_", StringComparison.Ordinal) => ExitCodes.Failure,
        _ => ExitCodes.AuthorizationNeeded,
    };

    private static IEnumerable<string> MessagesOf(Exception exception) => exception switch
    {
        CliException { Messages: { } messages } => messages.Select(OneLine),
        OptionsValidationException options => options.Failures,
        AggregateException aggregate => aggregate.InnerExceptions.SelectMany(MessagesOf),
        _ => [OneLine(exception.Message)],
    };

    private static string? RemedyOf(Exception exception) => exception switch
    {
        CliException cli => cli.Remedy,
        FTGateException ftgate => ftgate.Remedy,
        OptionsValidationException or AggregateException => "Correct the field named above in the config file (or remove and add the item again with the right flags).",
        _ => null,
    };

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    private static bool HasNetworkCause(Exception exception)
    {
        for (Exception? e = exception.InnerException; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException or SocketException)
            {
                return true;
            }
        }

        return false;
    }
}
