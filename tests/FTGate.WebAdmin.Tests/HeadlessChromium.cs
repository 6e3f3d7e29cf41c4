using FTGate.Tests.Infrastructure;
using Microsoft.Playwright;

namespace FTGate.WebAdmin.Tests;

/// <summary>
/// Debian's Chromium (/usr/bin/chromium, installed by tests/infra/install.sh) driven by Microsoft.Playwright. Playwright's
/// own browser download is never used (browsers cannot be downloaded here): the system executable is launched with a fresh
/// profile and with background networking switched off, since this machine's network is closed.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    /// <summary>Debian's Chromium, or the executable named by FTGATE_CHROMIUM_PATH.</summary>
    public static readonly string ExecutablePath =
        Environment.GetEnvironmentVariable("FTGATE_CHROMIUM_PATH") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    private static readonly string[] s_arguments =
    [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ];

    private readonly IPlaywright _playwright;
    private readonly string _profile;

    private HeadlessChromium(IPlaywright playwright, IBrowserContext context, string profile)
    {
        _playwright = playwright;
        Context = context;
        _profile = profile;
    }

    public IBrowserContext Context { get; }

    /// <summary>Why the browser cannot run here, or null.</summary>
    public static string? UnavailableReason() =>
        File.Exists(ExecutablePath) ? null : $"Chromium is not installed ({ExecutablePath}; Debian package 'chromium', installed by tests/infra/install.sh).";

    /// <summary>Launches Chromium headless with a fresh user-data-dir. Call <see cref="Infra.Require"/> with <see cref="UnavailableReason"/> first.</summary>
    public static async Task<HeadlessChromium> LaunchAsync()
    {
        string profile = Infra.NewTempDirectory("ftg-chr");
        IPlaywright playwright = await Playwright.CreateAsync();
        try
        {
            IBrowserContext context = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                Args = s_arguments,
                ViewportSize = new ViewportSize { Width = 1100, Height = 900 },
                Timeout = 30_000,
            });
            context.SetDefaultTimeout(15_000);
            return new HeadlessChromium(playwright, context, profile);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Context.CloseAsync();
        _playwright.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
