using System.Text;

namespace FTGate.Cli.Tests;

/// <summary>What one <c>ftgate</c> run printed and returned.</summary>
public sealed record CliRun(int ExitCode, string Out, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Out}--- stderr ---\n{Error}";
}

/// <summary>Runs the CLI in-process with captured output (the same entry point as the <c>ftgate</c> executable).</summary>
public sealed class CliRunner
{
    private readonly List<string> _everything = [];

    public CliRunner(string configPath)
    {
        ConfigPath = configPath;
    }

    public string ConfigPath { get; }

    /// <summary>Everything any run printed, for the "no secret ever printed" checks.</summary>
    public string AllOutput
    {
        get
        {
            lock (_everything)
            {
                return string.Join("\n", _everything);
            }
        }
    }

    /// <summary>Runs <c>ftgate ARGS --config PATH</c>.</summary>
    public Task<CliRun> RunAsync(params string[] args) => RunAsync(args, input: "");

    public async Task<CliRun> RunAsync(string[] args, string input, LineWriter? output = null)
    {
        output ??= new LineWriter();
        var error = new LineWriter();
        var console = new CliConsole(output, error, new StringReader(input), isInteractive: false);
        int exitCode = await FTGateCli.RunAsync([.. args, "--config", ConfigPath], console, TestContext.Current.CancellationToken);
        var run = new CliRun(exitCode, output.ToString(), error.ToString());
        lock (_everything)
        {
            _everything.Add(run.Out);
            _everything.Add(run.Error);
        }

        TestContext.Current.SendDiagnosticMessage($"ftgate {string.Join(' ', args)}\n{run}");
        return run;
    }
}

/// <summary>A thread-safe writer that lets a test wait for a line (the authorization URL) while the command runs.</summary>
public sealed class LineWriter : TextWriter
{
    private readonly StringBuilder _text = new();
    private readonly StringBuilder _line = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        lock (_text)
        {
            _text.Append(value);
            if (value != '\n')
            {
                _line.Append(value);
                return;
            }

            string line = _line.ToString().TrimEnd('\r');
            _line.Clear();
            foreach ((Func<string, bool> match, TaskCompletionSource<string> done) in _waiters.ToList())
            {
                if (match(line))
                {
                    done.TrySetResult(line);
                }
            }
        }
    }

    public Task<string> WaitForLineAsync(Func<string, bool> match)
    {
        var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_text)
        {
            foreach (string line in _text.ToString().Split('\n'))
            {
                if (match(line.TrimEnd('\r')))
                {
                    done.TrySetResult(line.TrimEnd('\r'));
                    return done.Task;
                }
            }

            _waiters.Add((match, done));
        }

        return done.Task;
    }

    public override string ToString()
    {
        lock (_text)
        {
            return _text.ToString();
        }
    }
}
