using System.Diagnostics;
using System.Text;

namespace FTGate.Cli.Tests;

/// <summary>Runs the real <c>ftgate</c> executable (the build output beside the tests) as a separate process.</summary>
internal sealed class CliProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _out = new();
    private readonly StringBuilder _error = new();
    private readonly LineWriter _lines = new();

    private CliProcess(Process process)
    {
        _process = process;
    }

    public static string Executable => Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "ftgate.exe" : "ftgate");

    /// <summary>Runs <c>ftgate ARGS --config CONFIG</c> to the end (60 s at most).</summary>
    public static async Task<CliRun> RunAsync(string config, string[] args, Dictionary<string, string?>? environment = null, string input = "")
    {
        await using CliProcess process = Start(config, args, environment, input);
        return await process.WaitAsync(TimeSpan.FromSeconds(60));
    }

    public static CliProcess Start(string config, string[] args, Dictionary<string, string?>? environment = null, string input = "")
    {
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(config);
        foreach ((string key, string? value) in environment ?? [])
        {
            start.Environment[key] = value;
        }

        var process = new CliProcess(new Process { StartInfo = start });
        process._process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (process._out)
                {
                    process._out.Append(line).Append('\n');
                }

                process._lines.WriteLine(line);
            }
        };
        process._process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (process._error)
                {
                    process._error.Append(line).Append('\n');
                }
            }
        };
        process._process.Start();
        process._process.BeginOutputReadLine();
        process._process.BeginErrorReadLine();
        process._process.StandardInput.Write(input);
        process._process.StandardInput.Close();
        return process;
    }

    /// <summary>Waits for an output line (a signal, not a sleep).</summary>
    public Task<string> WaitForLineAsync(Func<string, bool> match) => _lines.WaitForLineAsync(match);

    public string Error
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    /// <summary>Sends SIGTERM (as systemd and <c>kill</c> do to stop a service) or another signal, such as INT (Ctrl+C).</summary>
    public void Terminate(string signal = "TERM")
    {
        using Process kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    public bool HasExited => _process.HasExited;

    public async Task<CliRun> WaitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        _process.WaitForExit(); // drains the output events
        var run = new CliRun(_process.ExitCode, _out.ToString(), _error.ToString());
        TestContext.Current.SendDiagnosticMessage($"ftgate {string.Join(' ', _process.StartInfo.ArgumentList)}\n{run}");
        return run;
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
