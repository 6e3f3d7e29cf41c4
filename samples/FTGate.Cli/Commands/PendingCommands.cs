using System.CommandLine;

namespace FTGate.Cli.Commands;

// Placeholders until FTGate.SmartPop and FTGate.Testing land on main.
internal static class TestCommand
{
    public static Command Create(GlobalOptions globals, CliConsole console)
    {
        Argument<string> name = new("NAME") { Description = "The account to test." };
        Option<bool> json = new("--json") { Description = "Print the test report as JSON." };
        Command command = new("test", "Test an account step by step: DNS, TCP, TLS, capabilities, token, login, STAT.") { name, json };
        command.SetAction(parse => NotYet(console));
        return command;
    }

    internal static int NotYet(CliConsole console)
    {
        console.Error.WriteLine("error: this command needs FTGate.SmartPop, which is not built yet.");
        return ExitCodes.Failure;
    }
}

internal static class FetchCommand
{
    public static Command Create(GlobalOptions globals, CliConsole console)
    {
        Argument<string> name = new("NAME") { Description = "The account to collect." };
        Option<string> maildir = new("--maildir") { Description = "The Maildir to deliver into (created if missing).", Required = true, HelpName = "DIR" };
        Option<bool> json = new("--json") { Description = "Print the fetch result as JSON." };
        Command command = new("fetch", "Collect new messages from an account into a Maildir.") { name, maildir, json };
        command.SetAction(parse => TestCommand.NotYet(console));
        return command;
    }
}

internal static class DemoCommand
{
    public static Command Create(GlobalOptions globals, CliConsole console)
    {
        Command command = new("demo", "Run the whole workflow against in-process test servers (no network, nothing to install).");
        command.SetAction(parse => TestCommand.NotYet(console));
        return command;
    }
}
