using FTGate.OAuth;
using FTGate.SmartPop;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Moq;

namespace FTGate.Hosting.Tests;

/// <summary>The poller is opt-in, registered once, and its status is the running service's.</summary>
public sealed class PollerRegistrationTests
{
    private static void Account(SmartPopAccount a)
    {
        a.Host = "pop.example.test";
        a.UserName = "alice@example.test";
        a.Password = "pw";
    }

    [Fact]
    public async Task AddSmartPop_WithoutPoller_RegistersNoBackgroundWork()
    {
        var services = new ServiceCollection();
        services.AddFTGate().AddSmartPop("alice", Account);
        await using ServiceProvider provider = services.BuildServiceProvider();

        Assert.Empty(provider.GetServices<IHostedService>());
        Assert.Null(provider.GetService<ISmartPopPollerStatus>());
        Assert.IsType<SmartPopClient>(provider.GetRequiredService<ISmartPopClient>());
    }

    [Fact]
    public async Task AddSmartPopPoller_CalledTwice_OneHostedServiceWhoseStatusIsReadable()
    {
        var services = new ServiceCollection();
        services.AddSingleton(Mock.Of<IMessageSink>());
        services.AddFTGate().AddSmartPop("alice", Account).AddSmartPopPoller().AddSmartPopPoller();
        await using ServiceProvider provider = services.BuildServiceProvider();

        IHostedService hosted = Assert.Single(provider.GetServices<IHostedService>());
        Assert.Same(hosted, provider.GetRequiredService<ISmartPopPollerStatus>());
        Assert.Same(hosted, provider.GetRequiredService<SmartPopService>());
        SmartPopAccountStatus alice = Assert.Single(provider.GetRequiredService<ISmartPopPollerStatus>().GetStatus());
        Assert.Equal("alice", alice.AccountName);
        Assert.Null(alice.LastPollAt);
    }

    [Fact]
    public async Task AddSmartPopPoller_NoSink_SaysWhatToRegister()
    {
        var services = new ServiceCollection();
        services.AddFTGate().AddSmartPop("alice", Account).AddSmartPopPoller();
        await using ServiceProvider provider = services.BuildServiceProvider();

        FTGateConfigurationException ex = Assert.Throws<FTGateConfigurationException>(() => provider.GetServices<IHostedService>().ToList());
        Assert.Contains("no IMessageSink is registered", ex.Message, StringComparison.Ordinal);
        Assert.Contains("UseMaildirSink", ex.Remedy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenericHost_StartStopDispose_DoesNotThrow()
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSingleton(Mock.Of<IMessageSink>());
        builder.Services.AddFTGate().AddSmartPop("alice", a =>
        {
            Account(a);
            a.Enabled = false; // No network: the loop ends at once.
        }).AddSmartPopPoller();
        IHost host = builder.Build();
        ISmartPopPollerStatus status = host.Services.GetRequiredService<ISmartPopPollerStatus>();

        await host.StartAsync(TestContext.Current.CancellationToken);
        await host.StopAsync(TestContext.Current.CancellationToken);
        host.Dispose();
        await ((IAsyncDisposable)host).DisposeAsync(); // A second disposal (using + RunAsync) is harmless too.

        Assert.Equal("alice", Assert.Single(status.GetStatus()).AccountName);
    }

    [Fact]
    public async Task StartAsync_Twice_Throws()
    {
        var services = new ServiceCollection();
        services.AddSingleton(Mock.Of<IMessageSink>());
        services.AddFTGate().AddSmartPop("alice", a =>
        {
            Account(a);
            a.Enabled = false;
        }).AddSmartPopPoller();
        await using ServiceProvider provider = services.BuildServiceProvider();
        SmartPopService poller = provider.GetRequiredService<SmartPopService>();

        await poller.StartAsync(TestContext.Current.CancellationToken);
        await Assert.ThrowsAsync<InvalidOperationException>(() => poller.StartAsync(TestContext.Current.CancellationToken));
        await poller.StopAsync(TestContext.Current.CancellationToken);
        await poller.StartAsync(TestContext.Current.CancellationToken); // Stopped: may start again.
        await poller.StopAsync(TestContext.Current.CancellationToken);
    }
}
