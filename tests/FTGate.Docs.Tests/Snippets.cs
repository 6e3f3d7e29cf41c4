using System.Text.RegularExpressions;

namespace FTGate.Docs.Tests;

/// <summary>One fenced C# block of a Markdown file.</summary>
/// <param name="File">The Markdown file, relative to the repository root.</param>
/// <param name="Line">The 1-based line of the opening fence.</param>
/// <param name="Code">The block's text.</param>
/// <param name="Packages">The packages its <c>// Packages:</c> line names; empty when it has none.</param>
/// <param name="ExcludedBecause">Why it is not compiled (the marker's reason), or <see langword="null"/>.</param>
public sealed record Snippet(string File, int Line, string Code, IReadOnlyList<string> Packages, string? ExcludedBecause)
{
    /// <summary>The marker that excludes the next fence: <c>&lt;!-- not compiled: why --&gt;</c> on the line before it.</summary>
    public static readonly Regex ExcludeMarker = new(@"^\s*<!--\s*not compiled:\s*(?<why>.+?)\s*-->\s*$", RegexOptions.CultureInvariant);

    private static readonly Regex Fence = new(@"^\s*```\s*(?<lang>[A-Za-z#+-]*)", RegexOptions.CultureInvariant);
    private static readonly Regex PackagesLine = new(@"^\s*//\s*Packages?:\s*(?<list>.+?)\s*$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

    /// <summary>The repository's root (the folder with FTGate.sln), found from the test's output folder.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Every Markdown file whose C# is checked: README.md, docs/, and the README of every package and sample.</summary>
    public static IEnumerable<string> MarkdownFiles()
    {
        yield return "README.md";
        foreach (string dir in new[] { "docs", "src", "samples" }.Where(d => Directory.Exists(Path.Combine(Root, d))))
        {
            var options = new EnumerationOptions { RecurseSubdirectories = true, MatchCasing = MatchCasing.CaseInsensitive };
            foreach (string path in Directory.EnumerateFiles(Path.Combine(Root, dir), "*.md", options).Order(StringComparer.Ordinal))
            {
                string relative = Path.GetRelativePath(Root, path).Replace('\\', '/');
                if (!relative.Contains("/bin/", StringComparison.Ordinal) && !relative.Contains("/obj/", StringComparison.Ordinal) && !relative.Contains("/node_modules/", StringComparison.Ordinal))
                {
                    yield return relative;
                }
            }
        }
    }

    /// <summary>Every C# block of every checked file.</summary>
    public static IReadOnlyList<Snippet> All() => MarkdownFiles().SelectMany(Read).ToList();

    /// <summary>The C# blocks of one Markdown file.</summary>
    /// <param name="file">The file, relative to the root.</param>
    /// <returns>Its C# blocks in order.</returns>
    public static IEnumerable<Snippet> Read(string file)
    {
        string[] lines = System.IO.File.ReadAllLines(Path.Combine(Root, file));
        for (int i = 0; i < lines.Length; i++)
        {
            Match open = Fence.Match(lines[i]);
            if (!open.Success)
            {
                continue;
            }

            int start = i;
            int end = i + 1;
            while (end < lines.Length && !Fence.IsMatch(lines[end]))
            {
                end++;
            }

            string lang = open.Groups["lang"].Value;
            if (lang.Equals("csharp", StringComparison.OrdinalIgnoreCase) || lang.Equals("cs", StringComparison.OrdinalIgnoreCase) || lang.Equals("c#", StringComparison.OrdinalIgnoreCase))
            {
                string[] body = lines[(start + 1)..Math.Min(end, lines.Length)];
                string? excluded = null;
                for (int p = start - 1; p >= 0; p--)
                {
                    if (lines[p].Trim().Length == 0)
                    {
                        continue;
                    }

                    Match marker = ExcludeMarker.Match(lines[p]);
                    excluded = marker.Success ? marker.Groups["why"].Value : null;
                    break;
                }

                List<string> packages = body.Select(l => PackagesLine.Match(l)).Where(m => m.Success)
                    .SelectMany(m => m.Groups["list"].Value.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    .Select(p => p.Split(' ', 2)[0]) // "Microsoft.Extensions.Hosting (10.0.0)" -> the name
                    .ToList();
                yield return new Snippet(file, start + 1, string.Join('\n', body), packages, excluded);
            }

            i = end;
        }
    }

    /// <summary>The snippet at a place, for theory data that names it by file and line.</summary>
    /// <param name="file">The file.</param>
    /// <param name="line">The fence's line.</param>
    /// <returns>The snippet.</returns>
    public static Snippet At(string file, int line) => Read(file).Single(s => s.Line == line);

    /// <inheritdoc/>
    public override string ToString() => $"{File}:{Line}";

    private static string FindRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "FTGate.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No FTGate.sln above {AppContext.BaseDirectory}: run the docs tests from the repository's build output.");
    }
}
