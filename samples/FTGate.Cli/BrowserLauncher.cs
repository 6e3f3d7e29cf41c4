using System.ComponentModel;
using System.Diagnostics;

namespace FTGate.Cli;

/// <summary>Opens a URL in the desktop's browser, when there is a desktop.</summary>
internal static class BrowserLauncher
{
    public static bool TryOpen(Uri url)
    {
        try
        {
            if (OperatingSystem.IsWindows())
            {
                using Process? process = Process.Start(new ProcessStartInfo(url.AbsoluteUri) { UseShellExecute = true });
                return process is not null;
            }

            if (OperatingSystem.IsMacOS())
            {
                using Process? process = Process.Start("open", url.AbsoluteUri);
                return process is not null;
            }

            // Linux and others: only with a graphical session (a server over SSH has none) and xdg-open installed.
            if (Environment.GetEnvironmentVariable("DISPLAY") is not { Length: > 0 } && Environment.GetEnvironmentVariable("WAYLAND_DISPLAY") is not { Length: > 0 })
            {
                return false;
            }

            var start = new ProcessStartInfo("xdg-open", url.AbsoluteUri) { RedirectStandardOutput = true, RedirectStandardError = true };
            using Process? xdg = Process.Start(start);
            return xdg is not null;
        }
        catch (Win32Exception)
        {
            return false;
        }
    }
}
