using System.Text;
using System.Text.Json.Nodes;
using FTGate.Cli.Commands;
using FTGate.OAuth;
using FTGate.SmartPop;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FTGate.Cli;

/// <summary>
/// Builds the Generic Host for one command from the config file: exactly what an embedding mail server does with its own
/// <c>appsettings.json</c> — <c>AddFTGate(configuration.GetSection("FTGate"))</c> and <c>AddSmartPop()</c>.
/// </summary>
internal static class CliHost
{
    /// <summary>The token store key under which a prompted client secret is kept, encrypted like the tokens.</summary>
    public static string ClientSecretKey(string provider) => $"ftgate-cli/client-secret/{provider}";

    public static async Task<IHost> BuildAsync(CliConfig config, CliContext context, CancellationToken cancellationToken)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = config.Directory,
        });

        // The file itself (as it is in memory, so "provider add" can validate before saving), then what the CLI adds:
        // the token store folder made absolute, and secrets from environment variables or the encrypted store.
        builder.Configuration.AddJsonStream(new MemoryStream(config.ToUtf8()));
        builder.Configuration.AddInMemoryCollection(await OverridesAsync(config, cancellationToken));

        if (context.Verbose)
        {
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddProvider(new TextWriterLoggerProvider(context.Console.Error));
        }

        builder.Services.AddFTGate(builder.Configuration.GetSection("FTGate"))
            .AddSmartPop()
            .UseFileUidlStore(config.UidlDirectory);
        RunCommand.UseRedisWhenConfigured(builder.Services, builder.Configuration, config); // FTGate:Redis: every command is a farm node

        return builder.Build();
    }

    private static async Task<Dictionary<string, string?>> OverridesAsync(CliConfig config, CancellationToken cancellationToken)
    {
        var values = new Dictionary<string, string?>
        {
            ["FTGate:TokenStore:Directory"] = config.TokenDirectory,
        };

        FileTokenStore? store = null;
        foreach ((string name, JsonNode? node) in config.Providers)
        {
            if (node is not JsonObject provider)
            {
                continue;
            }

            if ((string?)provider["ClientSecretEnvironmentVariable"] is { Length: > 0 } variable
                && Environment.GetEnvironmentVariable(variable) is { Length: > 0 } secret)
            {
                values[$"FTGate:Providers:{name}:ClientSecret"] = secret;
            }
            else if (provider["ClientSecretInTokenStore"]?.GetValue<bool>() == true)
            {
                store ??= new FileTokenStore(config.TokenDirectory);
                if (await store.GetAsync(ClientSecretKey(name), cancellationToken) is { } entry)
                {
                    values[$"FTGate:Providers:{name}:ClientSecret"] = Encoding.UTF8.GetString(entry.Value.Span);
                }
            }
        }

        return values;
    }
}

/// <summary>With <c>--verbose</c>: the SDK's logs, one line each, on the error output.</summary>
internal sealed class TextWriterLoggerProvider(TextWriter writer) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(writer, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(TextWriter writer, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (writer)
            {
                writer.WriteLine($"{logLevel.ToString().ToLowerInvariant()[..4]}: {category}[{eventId.Id}] {formatter(state, exception)}");
            }
        }
    }
}
