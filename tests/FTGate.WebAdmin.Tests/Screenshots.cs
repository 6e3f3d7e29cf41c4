using FTGate.Tests.Infrastructure;
using Microsoft.Playwright;

namespace FTGate.WebAdmin.Tests;

/// <summary>Saves full-page screenshots as test artifacts: artifacts/test-results/screenshots/webadmin (or FTGATE_SCREENSHOTS_DIR).</summary>
internal static class Screenshots
{
    public static string Directory { get; } = Environment.GetEnvironmentVariable("FTGATE_SCREENSHOTS_DIR") is { Length: > 0 } dir
        ? dir
        : Path.Combine(Infra.RepositoryRoot, "artifacts", "test-results", "screenshots", "webadmin");

    public static async Task SaveAsync(IPage page, string name)
    {
        System.IO.Directory.CreateDirectory(Directory);
        string path = Path.Combine(Directory, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        TestContext.Current.SendDiagnosticMessage("screenshot: " + path);
    }
}
