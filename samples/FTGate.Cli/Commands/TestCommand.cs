using System.CommandLine;
using System.Text.Json.Nodes;
using FTGate.SmartPop;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FTGate.Cli.Commands;

/// <summary><c>ftgate test NAME</c>: SmartPop's step-by-step connection test, one line per step.</summary>
internal static class TestCommand
{
    public static Command Create(GlobalOptions globals, CliConsole console)
    {
        Argument<string> name = new("NAME") { Description = "The account to test." };
        Option<bool> json = new("--json") { Description = "Print the test report as JSON." };
        Command command = new("test", "Test an account step by step (DNS, TCP, TLS, capabilities, token, login, STAT); exit 0 only if all pass.") { name, json };
        command.SetAction((parse, ct) =>
        {
            CliContext context = globals.Context(parse, console);
            return context.RunAsync(() => RunAsync(context, parse.GetRequiredValue(name), parse.GetValue(json), ct));
        });
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, string name, bool json, CancellationToken cancellationToken)
    {
        CliConfig config = CliConfig.LoadExisting(context.ConfigPath);
        (string key, JsonObject entry) = AccountCommands.FindAccount(config, name);
        AccountCommands.RequirePasswordVariable(key, entry);
        using IHost host = await CliHost.BuildAsync(config, context, cancellationToken);
        host.Services.ValidateFTGateConfiguration();

        SmartPopAccount account = host.Services.GetRequiredService<ISmartPopAccounts>().Get(key);
        TestReport report = await host.Services.GetRequiredService<ISmartPopClient>().TestAsync(account, cancellationToken);
        if (json)
        {
            CliJson.Write(context.Out, report);
        }
        else
        {
            Print(context.Out, report);
        }

        return report.FailedStep is { } failed ? ExitCodeOf(failed) : ExitCodes.Success;
    }

    internal static void Print(TextWriter output, TestReport report)
    {
        foreach (TestStep step in report.Steps)
        {
            string mark = step.Status switch
            {
                TestStepStatus.Passed => "✔",
                TestStepStatus.Failed => "✘",
                TestStepStatus.Warning => "!",
                _ => "-",
            };
            string text = step.Status == TestStepStatus.Failed ? step.Cause ?? step.Detail ?? "" : step.Detail ?? "";
            output.WriteLine($"{mark} {step.Kind,-16} {TerminalText.Escape(text)}".TrimEnd());
            if (step.Status is TestStepStatus.Failed or TestStepStatus.Warning)
            {
                if (step.Status == TestStepStatus.Warning && step.Cause is { } why)
                {
                    output.WriteLine($"  why: {TerminalText.Escape(why)}"); // a failed step's cause is its line already
                }

                if (step.ServerReply is { } reply)
                {
                    output.WriteLine($"  server said: {TerminalText.Escape(reply)}");
                }

                if (step.Remedy is { } remedy)
                {
                    output.WriteLine($"  fix: {CliErrors.InCliWords(remedy, null)}");
                }
            }
        }

        output.WriteLine(report.Succeeded ? $"All steps passed ({report.Duration.TotalSeconds:0.0} s)." : $"Failed at {report.FailedStep?.Kind}.");
    }

    private static int ExitCodeOf(TestStep failed) =>
        failed.ErrorCode is { } code ? CliErrors.ExitCodeOf(code)
        : failed.Kind is TestStepKind.TokenAcquisition or TestStepKind.TokenInspection or TestStepKind.Login ? ExitCodes.AuthorizationNeeded
        : ExitCodes.ConnectionFailure;
}
