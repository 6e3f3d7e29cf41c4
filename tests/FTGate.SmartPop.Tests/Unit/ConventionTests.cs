using System.Reflection;

namespace FTGate.SmartPop.Tests.Unit;

/// <summary>The house rules, checked by reflection over the public API of FTGate.SmartPop.</summary>
public sealed class ConventionTests
{
    private static readonly Type[] s_publicTypes = typeof(ISmartPopClient).Assembly.GetExportedTypes();

    [Fact]
    public void PublicClasses_AreSealedStaticOrAbstract()
    {
        Assert.Empty(s_publicTypes.Where(t => t.IsClass && !t.IsSealed && !t.IsAbstract).Select(t => t.FullName));
    }

    [Fact]
    public void PublicAsyncMethods_TakeACancellationTokenLast()
    {
        string[] offenders = s_publicTypes
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => typeof(Task).IsAssignableFrom(m.ReturnType) || m.ReturnType.Name.StartsWith("ValueTask", StringComparison.Ordinal))
            .Where(m => m.Name is not "StartAsync" and not "StopAsync" || m.DeclaringType != typeof(SmartPopService))
            .Where(m => m.GetParameters() is not [.., { ParameterType: var last }] || last != typeof(CancellationToken))
            .Select(m => $"{m.DeclaringType!.Name}.{m.Name}")
            .ToArray();

        Assert.Empty(offenders);
    }

    [Fact]
    public void PublicApi_ExposesNoMailKitTypes()
    {
        static IEnumerable<Type> Signature(Type t) =>
            t.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly).SelectMany(m => m switch
            {
                MethodInfo method => method.GetParameters().Select(p => p.ParameterType).Append(method.ReturnType),
                PropertyInfo property => [property.PropertyType],
                FieldInfo field => [field.FieldType],
                ConstructorInfo ctor => ctor.GetParameters().Select(p => p.ParameterType),
                _ => [],
            }).Concat(t.GetInterfaces()).Append(t.BaseType ?? typeof(object));

        string[] leaks = s_publicTypes
            .SelectMany(t => Signature(t).Select(s => (t, s)))
            .Where(p => p.s.Namespace?.StartsWith("MailKit", StringComparison.Ordinal) == true || p.s.Namespace?.StartsWith("MimeKit", StringComparison.Ordinal) == true)
            .Select(p => $"{p.t.Name} -> {p.s.FullName}")
            .ToArray();

        Assert.Empty(leaks);
    }

    [Fact]
    public void InternalNamespace_HasNoPublicTypes()
    {
        Assert.DoesNotContain(s_publicTypes, t => t.Namespace?.Contains(".Internal", StringComparison.Ordinal) == true);
    }
}
