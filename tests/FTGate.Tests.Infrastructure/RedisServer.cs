using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FTGate.Tests.Infrastructure;

/// <summary>
/// A private, real <c>redis-server</c> on a free loopback port (tests/infra/start-redis.sh: append-only file with
/// <c>appendfsync always</c>, <c>maxmemory-policy noeviction</c>), in its own folder. <see cref="KillAsync"/> simulates a
/// crash, <see cref="StartAsync()"/> again on the same object restarts it on the same port and data.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private Process? _process;

    private RedisServer(string directory, int port)
    {
        Directory = directory;
        Port = port;
    }

    /// <summary>The server's folder (config, append-only file, log).</summary>
    public string Directory { get; }

    /// <summary>The loopback port.</summary>
    public int Port { get; }

    /// <summary>A StackExchange.Redis configuration string for this server.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>The running server's process id.</summary>
    public int ProcessId => _process?.Id ?? 0;

    /// <summary>Why redis-server cannot run here, or null when it can.</summary>
    public static string? UnavailableReason() =>
        ProcessRunner.OnPath("redis-server") ? null : "redis-server is not installed (Debian package redis-server).";

    /// <summary>Starts a new server on a free port.</summary>
    public static async Task<RedisServer> StartNewAsync(CancellationToken cancellationToken = default)
    {
        var server = new RedisServer(Infra.NewTempDirectory("ftg-redis"), FreePort());
        await server.StartAsync(cancellationToken);
        return server;
    }

    /// <summary>(Re)starts the server on its port and folder and waits until it answers PING.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { Path.Combine(Infra.InfraDirectory, "start-redis.sh"), "--dir", Directory, "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        // redis-server logs "Ready to accept connections" once it serves (after loading its append-only file): the log
        // file's change events are the signal (a restart appends to the same log, so count the lines).
        string logPath = Path.Combine(Directory, "redis.log");
        int readyBefore = ReadyLines(logPath);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check()
        {
            if (ReadyLines(logPath) > readyBefore)
            {
                ready.TrySetResult();
            }
        }

        using var watcher = new FileSystemWatcher(Directory, "redis.log") { NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.FileName };
        watcher.Changed += (_, _) => Check();
        watcher.Created += (_, _) => Check();
        watcher.EnableRaisingEvents = true;

        _process = new Process { StartInfo = info, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("redis-server exited while starting."));
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Check();
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(20), cancellationToken);
            if (await PingAsync(cancellationToken))
            {
                return;
            }
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
        }

        string log = File.Exists(logPath) ? await File.ReadAllTextAsync(logPath, cancellationToken) : "";
        throw new InvalidOperationException($"redis-server did not start on port {Port}: {log}");
    }

    private static int ReadyLines(string logPath)
    {
        try
        {
            using var stream = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            string text = reader.ReadToEnd();
            int count = 0;
            for (int i = text.IndexOf("Ready to accept connections", StringComparison.Ordinal); i >= 0; i = text.IndexOf("Ready to accept connections", i + 1, StringComparison.Ordinal))
            {
                count++;
            }

            return count;
        }
        catch (IOException)
        {
            return 0; // not written yet
        }
    }

    /// <summary>SIGKILLs the server (a crash) and waits for it to be gone.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Sends one inline command and returns the raw reply (for PING and loading checks).</summary>
    public async Task<string> CommandAsync(string command, CancellationToken cancellationToken = default)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"), cancellationToken);
        byte[] buffer = new byte[64 * 1024];
        int n = await stream.ReadAsync(buffer, cancellationToken);
        return Encoding.ASCII.GetString(buffer, 0, n);
    }

    private async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await CommandAsync("PING", cancellationToken)).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Stops the server and deletes its folder.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
