namespace FTGate.Docs.Tests;

/// <summary>
/// Every fenced C# block in README.md, docs/ and the package READMEs compiles as written, in a new project that references
/// only the packages its <c>// Packages:</c> line names. A block that is only an illustration (a fragment) is excluded by
/// the line <c>&lt;!-- not compiled: why --&gt;</c> just before its fence: keep that rare.
/// </summary>
public sealed class DocsSnippetTests
{
    /// <summary>The compiled snippets, one test case each (named file:line).</summary>
    public static TheoryData<string, int> CompiledSnippets()
    {
        var data = new TheoryData<string, int>();
        foreach (Snippet snippet in Snippet.All().Where(s => s.ExcludedBecause is null))
        {
            data.Add(snippet.File, snippet.Line);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CompiledSnippets))]
    public void Snippet_CompilesWithTheNamedPackages(string file, int line)
    {
        Snippet snippet = Snippet.At(file, line);
        Assert.True(snippet.Packages.Count > 0, $"{snippet}: say which packages the snippet needs with a first line such as '// Packages: FTGate.OAuth, FTGate.SmartPop, Microsoft.Extensions.Hosting' (or exclude an illustration with '<!-- not compiled: why -->' on the line before its fence).");

        IReadOnlyList<string> errors = SnippetCompiler.Compile(snippet);

        Assert.True(errors.Count == 0, $"{snippet} does not compile with {string.Join(", ", snippet.Packages)} (and the SDK's implicit usings):\n{string.Join('\n', errors)}");
    }

    [Fact]
    public void Snippets_AreFound_InTheReadmeTheDocsAndEveryPackage()
    {
        IReadOnlyList<Snippet> all = Snippet.All();

        Assert.Contains(all, s => s.File == "README.md");
        Assert.Contains(all, s => s.File == "docs/embedding.md");
        Assert.Contains(all, s => s.File == "docs/testing.md");
        foreach (string package in Directory.GetDirectories(Path.Combine(Snippet.Root, "src")).Select(d => "src/" + Path.GetFileName(d)).Append("samples/FTGate.Cli"))
        {
            Assert.Contains(all, s => s.File == package + "/README.md" && s.ExcludedBecause is null);
        }
    }

    [Theory]
    [InlineData("docs/testing.md", "tests/FTGate.Docs.Tests/Examples/FetchFromTestPop3ServerTests.cs")]
    public void Docs_ShowTheExampleThatRunsHere_Verbatim(string doc, string example)
    {
        string expected = File.ReadAllText(Path.Combine(Snippet.Root, example)).ReplaceLineEndings("\n").Trim();

        Assert.True(Snippet.Read(doc).Any(s => s.Code.ReplaceLineEndings("\n").Trim() == expected), $"{doc} must show {example} exactly as it is (it is the test that runs): copy the file into the C# block.");
    }

    [Fact]
    public void Exclusions_AreRareAndSayWhy()
    {
        IReadOnlyList<Snippet> all = Snippet.All();
        List<Snippet> excluded = all.Where(s => s.ExcludedBecause is not null).ToList();

        Assert.All(excluded, s => Assert.True(s.ExcludedBecause!.Length >= 10, $"{s}: say why it is not compiled."));
        Assert.True(excluded.Count * 5 <= all.Count, $"{excluded.Count} of {all.Count} C# blocks are excluded: {string.Join(", ", excluded)}. Make them compile instead.");
    }

    [Fact]
    public void Compiler_RejectsASnippetThatNamesTooFewPackages()
    {
        // The issue this check exists for: a host snippet that names only the two FTGate packages but needs hosting.
        var snippet = new Snippet("test.md", 1, """
            // Packages: FTGate.OAuth, FTGate.SmartPop
            using FTGate;
            using Microsoft.Extensions.Hosting;

            HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
            builder.Services.AddFTGate().AddSmartPop();
            """, ["FTGate.OAuth", "FTGate.SmartPop"], null);

        IReadOnlyList<string> errors = SnippetCompiler.Compile(snippet);

        Assert.Contains(errors, e => e.Contains("CS0103", StringComparison.Ordinal) || e.Contains("CS0246", StringComparison.Ordinal));
        Assert.Empty(SnippetCompiler.Compile(snippet with { Packages = ["FTGate.OAuth", "FTGate.SmartPop", "Microsoft.Extensions.Hosting"] }));
    }

    [Fact]
    public void Compiler_UnknownPackage_SaysWhereToAddIt()
    {
        var snippet = new Snippet("test.md", 7, "// Packages: No.Such.Package\nclass C { }", ["No.Such.Package"], null);

        string error = Assert.Single(SnippetCompiler.Compile(snippet));

        Assert.Contains("test.md:7", error, StringComparison.Ordinal);
        Assert.Contains("FTGate.Docs.Tests.csproj", error, StringComparison.Ordinal);
    }
}
