using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace FTGate.Docs.Tests;

/// <summary>
/// Compiles a snippet as a reader would: in a new project (<c>dotnet new console</c> or <c>classlib</c>: nullable and the
/// SDK's implicit usings on) that references only the packages the snippet names, with their dependencies.
/// </summary>
public static class SnippetCompiler
{
    /// <summary>The usings every SDK-style project gets (ImplicitUsings); anything else the snippet must write itself.</summary>
    public const string ImplicitUsings = """
        global using global::System;
        global using global::System.Collections.Generic;
        global using global::System.IO;
        global using global::System.Linq;
        global using global::System.Net.Http;
        global using global::System.Threading;
        global using global::System.Threading.Tasks;
        """;

    private const string AspNetCore = "Microsoft.AspNetCore.App";

    private static readonly Lazy<Dictionary<string, string>> Assemblies = new(LoadTrustedAssemblies);
    private static readonly Lazy<DepsFile> Deps = new(DepsFile.Load);
    private static readonly ConcurrentDictionary<string, MetadataReference> References = new(StringComparer.Ordinal);

    /// <summary>The packages a snippet may name: those this project references, directly or not, and the ASP.NET Core framework.</summary>
    public static IEnumerable<string> KnownPackages => Deps.Value.Names.Append(AspNetCore);

    /// <summary>Compiles the snippet; returns its errors as "file:line: CSnnnn: message" (empty when it compiles).</summary>
    /// <param name="snippet">The snippet.</param>
    /// <returns>The errors, each with its line in the Markdown file.</returns>
    public static IReadOnlyList<string> Compile(Snippet snippet)
    {
        ArgumentNullException.ThrowIfNull(snippet);
        var problems = new List<string>();
        IReadOnlyList<MetadataReference> references = ReferencesFor(snippet, problems);
        if (problems.Count > 0)
        {
            return problems;
        }

        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        SyntaxTree code = CSharpSyntaxTree.ParseText(snippet.Code, parse, path: snippet.File);
        SyntaxTree usings = CSharpSyntaxTree.ParseText(ImplicitUsings, parse, path: "ImplicitUsings.cs");
        bool topLevel = code.GetRoot().DescendantNodes().OfType<GlobalStatementSyntax>().Any();
        var options = new CSharpCompilationOptions(topLevel ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable);
        CSharpCompilation compilation = CSharpCompilation.Create("Snippet", [usings, code], references, options);
        using var output = new MemoryStream();
        Microsoft.CodeAnalysis.Emit.EmitResult result = compilation.Emit(output);
        foreach (Diagnostic error in result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error))
        {
            int line = error.Location.IsInSource && error.Location.SourceTree == code ? error.Location.GetLineSpan().StartLinePosition.Line + snippet.Line + 1 : snippet.Line;
            problems.Add($"{snippet.File}:{line}: {error.Id}: {error.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}");
        }

        return problems;
    }

    private static IReadOnlyList<MetadataReference> ReferencesFor(Snippet snippet, List<string> problems)
    {
        var files = new HashSet<string>(StringComparer.Ordinal);
        string runtimeDir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        files.UnionWith(Directory.EnumerateFiles(runtimeDir, "*.dll").Where(IsManaged)); // the .NET runtime (Microsoft.NETCore.App)
        bool aspNetCore = false;
        foreach (string package in snippet.Packages)
        {
            if (package.Equals(AspNetCore, StringComparison.OrdinalIgnoreCase) || package.Equals("Microsoft.NET.Sdk.Web", StringComparison.OrdinalIgnoreCase))
            {
                aspNetCore = true;
                continue;
            }

            IReadOnlyCollection<string>? closure = Deps.Value.Closure(package, Assemblies.Value);
            if (closure is null)
            {
                problems.Add($"{snippet.File}:{snippet.Line}: the snippet names package '{package}', which tests/FTGate.Docs.Tests does not reference. Fix the name, or add a PackageReference to tests/FTGate.Docs.Tests/FTGate.Docs.Tests.csproj (and Directory.Packages.props).");
                continue;
            }

            files.UnionWith(closure);
            aspNetCore |= closure.Any(f => Path.GetFileNameWithoutExtension(f) == "FTGate.Testing"); // its FrameworkReference flows to the host
        }

        if (aspNetCore)
        {
            string aspDir = Path.GetDirectoryName(typeof(Microsoft.AspNetCore.Builder.WebApplication).Assembly.Location)!;
            files.UnionWith(Directory.EnumerateFiles(aspDir, "*.dll").Where(IsManaged));
        }

        return files.Select(f => References.GetOrAdd(f, static path => MetadataReference.CreateFromFile(path))).ToList();
    }

    private static bool IsManaged(string path)
    {
        try
        {
            System.Reflection.AssemblyName.GetAssemblyName(path);
            return true;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }

    private static Dictionary<string, string> LoadTrustedAssemblies()
    {
        string list = (string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!; // Set by the host for every .NET app.
        var byName = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string path in list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            byName.TryAdd(Path.GetFileNameWithoutExtension(path), path);
        }

        return byName;
    }

    /// <summary>This test project's deps.json: which package depends on which, and which assemblies each brings.</summary>
    private sealed class DepsFile
    {
        private readonly Dictionary<string, (IReadOnlyList<string> Dependencies, IReadOnlyList<string> Assemblies)> _libraries = new(StringComparer.OrdinalIgnoreCase);

        public IEnumerable<string> Names => _libraries.Keys;

        public static DepsFile Load()
        {
            string path = Path.Combine(AppContext.BaseDirectory, typeof(SnippetCompiler).Assembly.GetName().Name + ".deps.json");
            using JsonDocument json = JsonDocument.Parse(File.ReadAllBytes(path));
            var deps = new DepsFile();
            JsonElement target = json.RootElement.GetProperty("targets").EnumerateObject().First().Value;
            foreach (JsonProperty library in target.EnumerateObject())
            {
                string name = library.Name.Split('/')[0];
                List<string> dependencies = library.Value.TryGetProperty("dependencies", out JsonElement d) ? d.EnumerateObject().Select(p => p.Name).ToList() : [];
                List<string> assemblies = library.Value.TryGetProperty("runtime", out JsonElement r)
                    ? r.EnumerateObject().Select(p => Path.GetFileNameWithoutExtension(p.Name)).ToList()
                    : [];
                deps._libraries[name] = (dependencies, assemblies);
            }

            return deps;
        }

        /// <summary>
        /// The assembly files of a package and its dependencies; <see langword="null"/> when the package is unknown. A package
        /// that the shared framework provides (and NuGet therefore left out of deps.json) resolves to its own assembly.
        /// </summary>
        public IReadOnlyCollection<string>? Closure(string package, IReadOnlyDictionary<string, string> trusted)
        {
            if (!_libraries.ContainsKey(package) && !trusted.ContainsKey(package))
            {
                return null;
            }

            var files = new HashSet<string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var pending = new Stack<string>([package]);
            while (pending.TryPop(out string? name))
            {
                if (!seen.Add(name))
                {
                    continue;
                }

                // A package's dependencies (deps.json leaves out those the shared framework provides) and the assemblies its
                // assemblies reference (which covers those).
                IEnumerable<string> assemblies = [name];
                if (_libraries.TryGetValue(name, out var library))
                {
                    assemblies = library.Assemblies.Append(name);
                    foreach (string dependency in library.Dependencies)
                    {
                        pending.Push(dependency);
                    }
                }

                foreach (string assembly in assemblies)
                {
                    if (trusted.TryGetValue(assembly, out string? file) && files.Add(file))
                    {
                        foreach (string reference in AssemblyReferences(file))
                        {
                            pending.Push(reference);
                        }
                    }
                }
            }

            return files;
        }

        /// <summary>The names of the assemblies an assembly references.</summary>
        private static IEnumerable<string> AssemblyReferences(string file)
        {
            using var stream = File.OpenRead(file);
            using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
            System.Reflection.Metadata.MetadataReader reader = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader(pe);
            return reader.AssemblyReferences.Select(h => reader.GetString(reader.GetAssemblyReference(h).Name)).ToList();
        }
    }
}
