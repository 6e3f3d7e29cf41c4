using System.Reflection;
using FTGate.Redis;

namespace FTGate.Redis.Tests;

/// <summary>The house rules, checked on the FTGate.Redis assembly by reflection.</summary>
public sealed class ConventionTests
{
    private static readonly Assembly s_assembly = typeof(RedisTokenStore).Assembly;

    [Fact]
    public void PublicClasses_AreSealedOrStatic()
    {
        var open = s_assembly.GetExportedTypes().Where(t => t.IsClass && !t.IsSealed && !(t.IsAbstract && t.IsSealed)).Select(t => t.FullName).ToList();
        Assert.Empty(open);
    }

    [Fact]
    public void PublicAsyncMethods_TakeACancellationTokenLast()
    {
        var offenders = s_assembly.GetExportedTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => typeof(Task).IsAssignableFrom(m.ReturnType) && m.Name.EndsWith("Async", StringComparison.Ordinal))
            .Where(m => m.GetParameters() is not [.., { ParameterType: var last }] || last != typeof(CancellationToken))
            .Select(m => $"{m.DeclaringType!.Name}.{m.Name}")
            .ToList();
        Assert.Empty(offenders);
    }

    [Fact]
    public void InternalNamespace_IsNotPublic()
    {
        Assert.DoesNotContain(s_assembly.GetExportedTypes(), t => t.Namespace?.EndsWith(".Internal", StringComparison.Ordinal) == true);
    }
}
