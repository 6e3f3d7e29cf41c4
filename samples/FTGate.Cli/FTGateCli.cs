using System.CommandLine;
using System.CommandLine.Invocation;
using FTGate.Cli.Commands;

namespace FTGate.Cli;

/// <summary>The <c>ftgate</c> command line: parses the arguments and runs one command.</summary>
public static class FTGateCli
{
    /// <summary>Runs <c>ftgate</c> with the given arguments.</summary>
    /// <param name="args">The arguments, as after <c>ftgate</c> on the command line.</param>
    /// <param name="console">Where to write and read.</param>
    /// <param name="cancellationToken">Stops the command (Ctrl+C).</param>
    /// <returns>The exit code: 0 success; 2 usage or configuration error; 3 authorization needed or refused; 4 connection, TLS or POP3 failure; 1 anything else.</returns>
    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);

        // Errors often quote a server: their control characters are escaped before they reach the terminal.
        console = new CliConsole(console.Out, new TerminalSafeWriter(console.Error), console.In, console.IsInteractive);

        var globals = new GlobalOptions();
        RootCommand root = new("ftgate: collect POP3 mail from Microsoft 365, Gmail and other OAuth2 hosts.\n"
            + "Configuration is one JSON file (--config, FTGATE_CONFIG, or ./ftgate.json); tokens live encrypted in ftgate.tokens/ beside it.")
        {
            globals.Config,
            globals.Verbose,
            ProviderCommands.Create(globals, console),
            AuthorizeCommand.Create(globals, console),
            ExplainCommand.Create(globals, console),
            AccountCommands.Create(globals, console),
            TestCommand.Create(globals, console),
            FetchCommand.Create(globals, console),
            StatusCommand.Create(globals, console),
            RebindCommand.Create(globals, console),
            DemoCommand.Create(globals, console),
            RunCommand.Create(globals, console),
        };

        ParseResult parse = root.Parse(args);
        if (parse.Action is ParseErrorAction)
        {
            // One line saying what is wrong, one saying where the usage is; exit code 2 (not System.CommandLine's 1).
            console.Error.WriteLine("error: " + string.Join(' ', parse.Errors[0].Message.Split((char[])['\r', '\n', '\t', ' '], StringSplitOptions.RemoveEmptyEntries)));
            string command = string.Join(' ', CommandPath(parse.CommandResult.Command, root));
            console.Error.WriteLine($"fix: see '{command} --help'.");
            return ExitCodes.UsageOrConfiguration;
        }

        var invocation = new InvocationConfiguration { Output = console.Out, Error = console.Error, EnableDefaultExceptionHandler = false };
        if (parse.CommandResult.Command.Name == "run")
        {
            // The daemon handles SIGINT/SIGTERM itself with a bounded grace (SmartPop:ShutdownGracePeriod) so the message in
            // flight finishes; System.CommandLine's own handling would end the process about 2 s after the signal.
            invocation.ProcessTerminationTimeout = null;
        }

        return await parse.InvokeAsync(invocation, cancellationToken);
    }

    private static IEnumerable<string> CommandPath(Command command, RootCommand root)
    {
        var names = new Stack<string>();
        for (Command? c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            names.Push(c == root ? "ftgate" : c.Name);
        }

        return names;
    }
}

/// <summary>The options every command accepts, before or after the command name.</summary>
internal sealed class GlobalOptions
{
    public Option<string?> Config { get; } = new("--config")
    {
        Description = "The configuration file (default: $FTGATE_CONFIG, else ./ftgate.json).",
        HelpName = "PATH",
        Recursive = true,
    };

    public Option<bool> Verbose { get; } = new("--verbose", "-v")
    {
        Description = "Show the SDK's logs and full exception details on the error output.",
        Recursive = true,
    };

    public CliContext Context(ParseResult parse, CliConsole console) =>
        new(console, CliConfig.ResolveLocation(parse.GetValue(Config)), parse.GetValue(Verbose));
}

/// <summary>What every command needs: the console, the config file's location, and whether to be verbose.</summary>
internal sealed record CliContext(CliConsole Console, string ConfigPath, bool Verbose)
{
    public TextWriter Out => Console.Out;

    /// <summary>Runs a command body, turning any exception into its exit code and a one- or two-line message.</summary>
    public async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return CliErrors.Report(ex, Console, Verbose);
        }
        catch (OperationCanceledException ex)
        {
            Console.Error.WriteLine("error: cancelled.");
            if (Verbose)
            {
                Console.Error.WriteLine(ex.ToString());
            }

            return ExitCodes.Failure;
        }
    }
}
