using System.Text;

namespace FTGate.Cli;

/// <summary>Where the <c>ftgate</c> command writes and reads: the real terminal, or writers a test captures.</summary>
public sealed class CliConsole
{
    /// <summary>Creates a console over the given streams.</summary>
    /// <param name="output">Normal output (results, the authorization URL).</param>
    /// <param name="error">Errors and, with <c>--verbose</c>, logs.</param>
    /// <param name="input">Where prompts read from.</param>
    /// <param name="isInteractive">Whether a person is at a terminal: enables the progress bar and hidden-input prompts.</param>
    public CliConsole(TextWriter output, TextWriter error, TextReader input, bool isInteractive)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(input);
        Out = output;
        Error = error;
        In = input;
        IsInteractive = isInteractive;
    }

    /// <summary>The process's own console; interactive only when neither output nor input is redirected.</summary>
    /// <returns>The console.</returns>
    public static CliConsole FromSystemConsole()
    {
        bool interactive = !Console.IsOutputRedirected && !Console.IsInputRedirected;
        if (interactive)
        {
            Console.OutputEncoding = Encoding.UTF8;
        }

        return new CliConsole(Console.Out, Console.Error, Console.In, interactive);
    }

    /// <summary>Normal output.</summary>
    public TextWriter Out { get; }

    /// <summary>Error output.</summary>
    public TextWriter Error { get; }

    /// <summary>Prompt input.</summary>
    public TextReader In { get; }

    /// <summary>Whether a person is at a terminal.</summary>
    public bool IsInteractive { get; }

    /// <summary>Asks for a secret without echoing it (on a terminal) and never writes it anywhere.</summary>
    internal string ReadSecret(string prompt)
    {
        Error.Write(prompt);
        if (!IsInteractive)
        {
            string line = In.ReadLine() ?? "";
            Error.WriteLine();
            return line;
        }

        var value = new StringBuilder();
        while (true)
        {
            ConsoleKeyInfo key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (value.Length > 0)
                {
                    value.Length--;
                }

                continue;
            }

            if (!char.IsControl(key.KeyChar))
            {
                value.Append(key.KeyChar);
            }
        }

        Error.WriteLine();
        return value.ToString();
    }
}
