using System.CommandLine;

namespace FTGate.Cli.Commands;

// Placeholder until FTGate.Testing lands on main.
internal static class DemoCommand
{
    public static Command Create(GlobalOptions globals, CliConsole console)
    {
        Command command = new("demo", "Run the whole workflow against in-process test servers (no network, nothing to install).");
        command.SetAction(parse =>
        {
            console.Error.WriteLine("error: the demo needs FTGate.Testing, which is not built yet.");
            return ExitCodes.Failure;
        });
        return command;
    }
}
