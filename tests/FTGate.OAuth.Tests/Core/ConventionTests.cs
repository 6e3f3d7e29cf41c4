using System.Reflection;
using FTGate.OAuth;

namespace FTGate.OAuth.Tests.Core;

/// <summary>The house rules, checked by reflection over the public API of FTGate.OAuth.</summary>
public sealed class ConventionTests
{
    private static readonly Type[] s_publicTypes = typeof(IAuthProvider).Assembly.GetExportedTypes();

    /// <summary>Types that are open on purpose: the roots of the exception family.</summary>
    private static readonly HashSet<Type> s_designedForInheritance = [typeof(AuthorizationException)];

    [Fact]
    public void PublicClasses_AreSealedStaticOrAbstract()
    {
        string[] open = s_publicTypes
            .Where(t => t.IsClass && !t.IsSealed && !t.IsAbstract && !s_designedForInheritance.Contains(t))
            .Select(t => t.FullName!)
            .ToArray();

        Assert.Empty(open);
    }

    [Fact]
    public void PublicAsyncMethods_TakeACancellationTokenLast()
    {
        string[] offenders = s_publicTypes
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => typeof(Task).IsAssignableFrom(m.ReturnType) || m.ReturnType.Name.StartsWith("ValueTask", StringComparison.Ordinal))
            .Where(m => m.GetParameters() is not [.., { ParameterType: var last }] || last != typeof(CancellationToken))
            .Select(m => $"{m.DeclaringType!.Name}.{m.Name}")
            .ToArray();

        Assert.Empty(offenders);
    }

    [Fact]
    public void InternalNamespace_HasNoPublicTypes()
    {
        Assert.DoesNotContain(s_publicTypes, t => t.Namespace?.Contains(".Internal", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void PublicTypes_LiveInTheRootNamespaces()
    {
        Assert.All(s_publicTypes, t => Assert.Contains(t.Namespace, new[] { "FTGate", "FTGate.OAuth" }));
    }

    /// <summary>Issue 18: no other library's type in any package's public API (checked on the tracked PublicAPI files).</summary>
    [Fact]
    public void PublicApiFiles_NameNoMsalGoogleDuendeMailKitOrMimeKitType()
    {
        string src = Path.Combine(RepositoryRoot(), "src");
        string[] files = Directory.GetFiles(src, "PublicAPI.*.txt", SearchOption.AllDirectories);
        string[] forbidden = ["Microsoft.Identity.", "Google.Apis.", "Duende.", "MailKit.", "MimeKit."];

        string[] offenders = [.. files
            .SelectMany(f => File.ReadLines(f).Select(line => (File: Path.GetFileName(Path.GetDirectoryName(f)) + "/" + Path.GetFileName(f), Line: line)))
            .Where(x => !x.Line.StartsWith("*REMOVED*", StringComparison.Ordinal) && forbidden.Any(ns => x.Line.Contains(ns, StringComparison.Ordinal)))
            .Select(x => x.File + ": " + x.Line)];

        Assert.True(files.Length >= 3, "PublicAPI files not found under " + src);
        Assert.Empty(offenders);
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, "src", "FTGate.OAuth")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (with src/FTGate.OAuth) was not found above " + AppContext.BaseDirectory);
    }
}
