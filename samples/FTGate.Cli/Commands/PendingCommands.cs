using System.CommandLine;

namespace FTGate.Cli.Commands;

// Placeholders until FTGate.SmartPop and FTGate.Testing land on main.
internal static class DemoCommand
{
    public static Command Create(GlobalOptions globals, CliConsole console)
    {
        Command command = new("demo", "Run the whole workflow against in-process test servers (no network, nothing to install).");
        command.SetAction(parse => TestCommand.NotYet(console));
        return command;
    }
}
