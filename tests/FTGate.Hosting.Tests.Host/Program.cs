// A host as a mail server writes it: FTGate from configuration, the hosted poller, its own sink. The hosting tests run it as
// a child process against a TestPop3Server, wait for its "fetched" line, send SIGTERM and expect exit code 0.
//
//   FTGate.Hosting.Tests.Host generic|web OUTPUT_DIR [--FTGate:SmartPop:Accounts:NAME:Host=... configuration ...]
//
// Lines on stdout the tests read: "hosting <version>", "listening <url>" (web), "delivered <uidl>",
// "fetched <account> delivered=<n>", and after the host has stopped "status <json>", then "exited".
using System.Text.Json;
using System.Text.Json.Serialization;
using FTGate;
using FTGate.SmartPop;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
#if WEB
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
#endif

string mode = args[0];
string output = args[1];
string[] configuration = args[2..];
Console.WriteLine($"hosting {typeof(Host).Assembly.GetName().Version}");

ISmartPopPollerStatus status;
if (mode == "web")
{
#if WEB
    WebApplicationBuilder builder = WebApplication.CreateBuilder(configuration);
    AddMailServer(builder.Services, builder.Configuration, output);
    WebApplication app = builder.Build();
    app.Urls.Add("http://127.0.0.1:0");
    app.MapGet("/status", (ISmartPopPollerStatus poller) => poller.GetStatus());
    app.Lifetime.ApplicationStarted.Register(() =>
        Console.WriteLine($"listening {app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()}"));
    status = app.Services.GetRequiredService<ISmartPopPollerStatus>();
    await app.RunAsync();
#else
    throw new NotSupportedException("This build has no ASP.NET Core; run the net10.0 host for 'web'.");
#endif
}
else
{
    HostApplicationBuilder builder = Host.CreateApplicationBuilder(configuration);
    AddMailServer(builder.Services, builder.Configuration, output);
    IHost host = builder.Build();
    status = host.Services.GetRequiredService<ISmartPopPollerStatus>();
    await host.RunAsync();
}

// The host has stopped and disposed its services; the poller's last status is still readable.
Console.WriteLine("status " + JsonSerializer.Serialize(status.GetStatus(), new JsonSerializerOptions { Converters = { new JsonStringEnumConverter() } }));
Console.WriteLine("exited");
return 0;

static void AddMailServer(IServiceCollection services, IConfiguration configuration, string output)
{
    services.AddSingleton<IMessageSink>(new FileSink(output));
    services.AddFTGate(configuration.GetSection("FTGate"))
        .AddSmartPop()
        .AddSmartPopPoller();

    // Says on stdout when a fetch has returned (the tests' signal to send SIGTERM).
    ServiceDescriptor inner = services.Single(d => d.ServiceType == typeof(ISmartPopClient));
    services.Remove(inner);
    services.AddSingleton<ISmartPopClient>(sp => new AnnouncingClient((ISmartPopClient)inner.ImplementationFactory!(sp)));
}

/// <summary>Writes each message to a file named after its UIDL.</summary>
internal sealed class FileSink(string directory) : IMessageSink
{
    public async Task DeliverAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default)
    {
        string path = Path.Combine(directory, metadata.Uidl + ".eml");
        await using (FileStream file = File.Create(path))
        {
            await message.CopyToAsync(file, cancellationToken);
            file.Flush(flushToDisk: true);
        }

        Console.WriteLine($"delivered {metadata.Uidl}");
    }
}

/// <summary>The SDK's client, announcing each finished fetch.</summary>
internal sealed class AnnouncingClient(ISmartPopClient inner) : ISmartPopClient
{
    public async Task<FetchResult> FetchAsync(SmartPopAccount account, IMessageSink sink, IProgress<FetchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        FetchResult result = await inner.FetchAsync(account, sink, progress, cancellationToken);
        Console.WriteLine($"fetched {account.Name} delivered={result.Delivered}");
        return result;
    }

    public Task<TestReport> TestAsync(SmartPopAccount account, CancellationToken cancellationToken = default) => inner.TestAsync(account, cancellationToken);
}
