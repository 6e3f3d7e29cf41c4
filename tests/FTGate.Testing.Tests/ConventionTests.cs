using System.Reflection;

namespace FTGate.Testing.Tests;

/// <summary>The house rules, checked by reflection over the public API of FTGate.Testing.</summary>
public sealed class ConventionTests
{
    private static readonly Type[] s_publicTypes = typeof(TestPop3Server).Assembly.GetExportedTypes();

    [Fact]
    public void PublicClasses_AreSealedOrStatic()
    {
        Assert.Empty(s_publicTypes.Where(t => t.IsClass && !t.IsSealed && !t.IsAbstract).Select(t => t.FullName));
    }

    [Fact]
    public void PublicAsyncMethods_TakeACancellationTokenLast()
    {
        string[] offenders = s_publicTypes
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => m.Name != nameof(IAsyncDisposable.DisposeAsync))
            .Where(m => typeof(Task).IsAssignableFrom(m.ReturnType) || m.ReturnType.Name.StartsWith("ValueTask", StringComparison.Ordinal))
            .Where(m => m.GetParameters() is not [.., { ParameterType: var last }] || last != typeof(CancellationToken))
            .Select(m => $"{m.DeclaringType!.Name}.{m.Name}")
            .ToArray();

        Assert.Empty(offenders);
    }

    [Fact]
    public void PublicTypes_LiveInTheRootNamespaces()
    {
        Assert.All(s_publicTypes, t => Assert.Contains(t.Namespace, new[] { "FTGate", "FTGate.Testing" }));
    }
}
