using System.CommandLine;
using System.Text;
using FTGate.OAuth;

namespace FTGate.Cli.Commands;

/// <summary><c>ftgate explain CODE</c>: cause and fix of a Microsoft (AADSTS) or Google error code, from the SDK's catalogue.</summary>
internal static class ExplainCommand
{
    public static Command Create(GlobalOptions globals, CliConsole console)
    {
        Argument<string?> code = new("CODE") { Description = "The code the provider showed: AADSTS50011 (or 50011), invalid_grant, \"Error 403: access_denied\" ...", Arity = ArgumentArity.ZeroOrOne };
        Option<bool> all = new("--all") { Description = "List every code the catalogue explains." };
        Option<bool> markdown = new("--markdown") { Description = "With --all: print the table docs/troubleshooting.md carries." };
        Command command = new("explain", "Explain a provider error code (AADSTS number or Google error): its cause and how to fix it.") { code, all, markdown };
        command.SetAction((parse, _) =>
        {
            CliContext context = globals.Context(parse, console);
            return context.RunAsync(() => Task.FromResult(Run(context, parse.GetValue(code), parse.GetValue(all), parse.GetValue(markdown))));
        });
        return command;
    }

    private static int Run(CliContext context, string? code, bool all, bool markdown)
    {
        if (all)
        {
            context.Out.Write(markdown ? MarkdownTable() : string.Join(Environment.NewLine, FTGateErrorCatalog.All.Select(e => $"{e.Code,-22} {e.Provider,-9} {e.Meaning}")) + Environment.NewLine);
            return ExitCodes.Success;
        }

        if (string.IsNullOrWhiteSpace(code))
        {
            throw new CliException(ExitCodes.UsageOrConfiguration, "Give the error code to explain.", "For example: ftgate explain AADSTS50011 (or 'ftgate explain --all' for the list).");
        }

        if (!FTGateErrorCatalog.TryExplain(code, out ErrorExplanation? explanation))
        {
            throw new CliException(
                ExitCodes.UsageOrConfiguration,
                $"'{code}' is not in the catalogue of provider errors.",
                "Check the code as the provider's page shows it (for example AADSTS50011 or invalid_grant); 'ftgate explain --all' lists the known codes. For Microsoft codes, https://login.microsoftonline.com/error?code=NUMBER shows Microsoft's own text.");
        }

        context.Out.WriteLine($"{explanation.Code} ({explanation.Provider}): {explanation.Meaning}");
        context.Out.WriteLine("cause: " + explanation.Cause);
        context.Out.WriteLine("fix: " + explanation.Fix);
        return ExitCodes.Success;
    }

    /// <summary>The catalogue as the Markdown table in docs/troubleshooting.md (a test keeps the two identical).</summary>
    internal static string MarkdownTable()
    {
        var sb = new StringBuilder();
        sb.Append("| Code | Provider | Meaning | Cause | Fix |\n|---|---|---|---|---|\n");
        foreach (ErrorExplanation e in FTGateErrorCatalog.All)
        {
            sb.Append($"| `{e.Code}` | {e.Provider} | {Cell(e.Meaning)} | {Cell(e.Cause)} | {Cell(e.Fix)} |\n");
        }

        return sb.ToString();
    }

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);
}
