using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace FTGate.Testing.Tests;

/// <summary>
/// Readable sizes (issue 18): no method, constructor, accessor, operator or local function in src/ is longer than
/// <see cref="MaxLines"/> lines. Every src/**/*.cs is parsed with Roslyn; a member's length runs from its first line
/// (attributes included, comments above it not) to its last.
/// </summary>
public sealed class MemberLengthTests
{
    /// <summary>The longest a member may be, in lines.</summary>
    public const int MaxLines = 80;

    /// <summary>
    /// Members still over <see cref="MaxLines"/> while another branch splits them, each with the issue that removes it.
    /// The list only shrinks: <see cref="AllowListedMembers_AreStillTooLong"/> fails once an entry is short enough, so
    /// delete the entry in the change that splits the member.
    /// </summary>
    private static readonly Dictionary<string, string> s_stillBeingSplit = new(StringComparer.Ordinal)
    {
    };

    [Fact]
    public void NoMemberInSrc_IsLongerThanTheLimit()
    {
        string[] offenders = LongMembers()
            .Where(m => !s_stillBeingSplit.ContainsKey(m.Key))
            .Select(m => $"{m.Key} ({m.Location}): {m.Lines} lines")
            .ToArray();

        Assert.True(
            offenders.Length == 0,
            $"{offenders.Length} member(s) in src/ are longer than {MaxLines} lines; split them into smaller methods:{Environment.NewLine}"
            + string.Join(Environment.NewLine, offenders));
    }

    [Fact]
    public void AllowListedMembers_AreStillTooLong()
    {
        HashSet<string> tooLong = LongMembers().Select(m => m.Key).ToHashSet(StringComparer.Ordinal);
        string[] done = s_stillBeingSplit.Keys.Where(key => !tooLong.Contains(key)).ToArray();

        Assert.True(
            done.Length == 0,
            $"These members are no longer over {MaxLines} lines (or were renamed); delete them from {nameof(MemberLengthTests)}.s_stillBeingSplit:{Environment.NewLine}"
            + string.Join(Environment.NewLine, done));
    }

    [Fact]
    public void TheCheck_SeesLongMembersOfEveryKind()
    {
        // Guards the check itself: if the walker stopped finding members, both tests above would pass on anything.
        string body = string.Concat(Enumerable.Repeat("        _ = 1;\n", MaxLines));
        string source = $$"""
            class C
            {
                C()
                {
            {{body}}    }

                int P
                {
                    get
                    {
            {{body}}        }
                }

                void M()
                {
                    void Local()
                    {
            {{body}}        }
                }

                void Short() { }
            }
            """;

        string[] found = Measure(CSharpSyntaxTree.ParseText(source, cancellationToken: TestContext.Current.CancellationToken), "x.cs").Where(m => m.Lines > MaxLines).Select(m => m.Key).ToArray();

        Assert.Equal(["x.cs: C..ctor", "x.cs: C.P.get", "x.cs: C.M", "x.cs: C.M.Local"], found);
    }

    private static List<MemberSize> LongMembers()
    {
        string root = RepositoryRoot();
        string src = Path.Combine(root, "src");
        var sizes = new List<MemberSize>();
        foreach (string file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (relative.Split('/').Any(part => part is "obj" or "bin"))
            {
                continue;
            }

            SyntaxTree tree = CSharpSyntaxTree.ParseText(File.ReadAllText(file), path: file, cancellationToken: TestContext.Current.CancellationToken);
            sizes.AddRange(Measure(tree, relative).Where(m => m.Lines > MaxLines));
        }

        Assert.NotEmpty(Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories));
        return sizes;
    }

    private static IEnumerable<MemberSize> Measure(SyntaxTree tree, string relativePath)
    {
        foreach (SyntaxNode node in tree.GetRoot().DescendantNodes())
        {
            if (node is not (BaseMethodDeclarationSyntax or AccessorDeclarationSyntax or LocalFunctionStatementSyntax
                or PropertyDeclarationSyntax { ExpressionBody: not null } or IndexerDeclarationSyntax { ExpressionBody: not null }))
            {
                continue;
            }

            FileLinePositionSpan span = node.GetLocation().GetLineSpan();
            int lines = span.EndLinePosition.Line - span.StartLinePosition.Line + 1;
            yield return new MemberSize($"{relativePath}: {NameOf(node)}", $"line {span.StartLinePosition.Line + 1}", lines);
        }
    }

    private static string NameOf(SyntaxNode? node) => node switch
    {
        MethodDeclarationSyntax m => $"{TypeOf(m)}.{m.Identifier.ValueText}",
        ConstructorDeclarationSyntax c => $"{TypeOf(c)}.{(c.Modifiers.Any(SyntaxKind.StaticKeyword) ? ".cctor" : ".ctor")}",
        DestructorDeclarationSyntax d => $"{TypeOf(d)}.Finalize",
        OperatorDeclarationSyntax o => $"{TypeOf(o)}.operator {o.OperatorToken.ValueText}",
        ConversionOperatorDeclarationSyntax c => $"{TypeOf(c)}.operator {c.Type}",
        PropertyDeclarationSyntax p => $"{TypeOf(p)}.{p.Identifier.ValueText}",
        IndexerDeclarationSyntax i => $"{TypeOf(i)}.this[]",
        EventDeclarationSyntax e => $"{TypeOf(e)}.{e.Identifier.ValueText}",
        AccessorDeclarationSyntax a => $"{NameOf(a.Parent?.Parent)}.{a.Keyword.ValueText}",
        LocalFunctionStatementSyntax l => $"{NameOf(l.Ancestors().FirstOrDefault(a => a is BaseMethodDeclarationSyntax or AccessorDeclarationSyntax or LocalFunctionStatementSyntax))}.{l.Identifier.ValueText}",
        _ => "?",
    };

    private static string TypeOf(SyntaxNode member) =>
        string.Join('.', member.Ancestors().OfType<BaseTypeDeclarationSyntax>().Reverse().Select(t => t.Identifier.ValueText));

    internal static string RepositoryRoot()
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

    private sealed record MemberSize(string Key, string Location, int Lines);
}
