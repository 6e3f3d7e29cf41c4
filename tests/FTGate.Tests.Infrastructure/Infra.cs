using Xunit;

namespace FTGate.Tests.Infrastructure;

/// <summary>Where the repository is, and whether a missing prerequisite skips a test or fails it.</summary>
public static class Infra
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>True under CI (<c>CI=true</c>): there, missing integration prerequisites fail the tests instead of skipping them.</summary>
    public static bool IsCI => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The repository root (the folder holding FTGate.sln).</summary>
    public static string RepositoryRoot => s_root.Value;

    /// <summary>tests/infra.</summary>
    public static string InfraDirectory => Path.Combine(RepositoryRoot, "tests", "infra");

    /// <summary>
    /// Skips the current test with a loud message when <paramref name="unavailableReason"/> is set and we are not under CI;
    /// under CI it fails instead, because CI must run every integration test for real.
    /// </summary>
    public static void Require(string? unavailableReason)
    {
        if (unavailableReason is null)
        {
            return;
        }

        string message = $"INTEGRATION PREREQUISITE MISSING: {unavailableReason} Run 'bash tests/infra/install.sh' (or './build.sh test').";
        if (IsCI)
        {
            Assert.Fail(message + " (CI=true: integration tests must not be skipped.)");
        }

        Console.Error.WriteLine("SKIPPED: " + message);
        Assert.Skip(message);
    }

    /// <summary>A fresh folder under the system temp folder, short enough for Dovecot's unix sockets.</summary>
    public static string NewTempDirectory(string prefix)
    {
        string path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)]);
        Directory.CreateDirectory(path);
        return path;
    }

    private static string FindRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FTGate.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("FTGate.sln not found above " + AppContext.BaseDirectory);
    }
}
