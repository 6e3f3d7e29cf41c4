using System.Net.Http;
using System.Net.Sockets;
using System.Security.Authentication;
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

/// <summary>An error the CLI itself detects (bad flag combination, missing config entry): its exit code, message and fix.</summary>
internal sealed class CliException(int exitCode, string message, string? remedy = null) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public string? Remedy { get; } = remedy;
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
            console.Error.WriteLine("fix: " + remedy);
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
            throw new CliException(
                ExitCodes.UsageOrConfiguration,
                string.Join(Environment.NewLine + "error: ", MessagesOf(ex)),
                "Correct the flag for that field and run the command again; nothing was saved.");
        }
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
