using FTGate.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace FTGate.WebAdmin.Tests;

/// <summary>The web admin sample started in-process on a free loopback port with a fresh data folder.</summary>
internal sealed class WebAdminServer : IAsyncDisposable
{
    public const string AdminPassword = "test-admin-password";

    private readonly WebApplication _app;
    private readonly bool _keepData;

    private WebAdminServer(WebApplication app, Uri baseUri, string dataDirectory, bool keepData)
    {
        _app = app;
        _keepData = keepData;
        BaseUri = baseUri;
        DataDirectory = dataDirectory;
    }

    /// <summary>For example http://127.0.0.1:41234/.</summary>
    public Uri BaseUri { get; }

    /// <summary>The data folder (configuration file, tokens, Maildir).</summary>
    public string DataDirectory { get; }

    public string ConfigurationFile => Path.Combine(DataDirectory, "ftgate.json");

    /// <summary>Starts the admin; with <paramref name="logs"/>, at the production default log level (Information) into it.</summary>
    public static Task<WebAdminServer> StartAsync(CancellationToken cancellationToken, LogCapture? logs = null) =>
        StartAsync(cancellationToken, logs, dataDirectory: null);

    /// <summary>
    /// Starts the admin on <paramref name="dataDirectory"/> (kept on dispose, for a restart) or a fresh folder, with extra
    /// configuration and services.
    /// </summary>
    public static async Task<WebAdminServer> StartAsync(
        CancellationToken cancellationToken,
        LogCapture? logs,
        string? dataDirectory,
        Dictionary<string, string?>? settings = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        string data = dataDirectory ?? Infra.NewTempDirectory("ftg-wa");
        WebApplication app = WebAdminApp.Create(
            ["--urls", "http://127.0.0.1:0"],
            builder =>
            {
                var values = new Dictionary<string, string?>
                {
                    [WebAdminApp.AdminPasswordVariable] = AdminPassword,
                    ["WebAdmin:DataDirectory"] = data,
                    ["Logging:LogLevel:Default"] = logs is null ? "Warning" : "Information",
                    ["Logging:LogLevel:FTGate"] = "Information",
                };
                foreach ((string key, string? value) in settings ?? [])
                {
                    values[key] = value;
                }

                builder.Configuration.AddInMemoryCollection(values);
                if (logs is not null)
                {
                    builder.Logging.AddProvider(logs);
                }

                configure?.Invoke(builder);
            });
        await app.StartAsync(cancellationToken);
        var baseUri = new Uri(app.Urls.Single().Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");
        return new WebAdminServer(app, baseUri, data, keepData: dataDirectory is not null);
    }

    /// <summary>The application's services (a test's look at the token store or the session list).</summary>
    public IServiceProvider Services => _app.Services;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_keepData)
        {
            return;
        }

        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
