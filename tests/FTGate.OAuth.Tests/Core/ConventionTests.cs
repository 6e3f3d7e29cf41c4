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
}
