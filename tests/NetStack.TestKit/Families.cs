using System.Reflection;
using NetStack.Wire;
using Xunit.Sdk;

namespace NetStack.TestKit;

/// <summary>
/// Runs a theory once for each IP family: <c>[Theory, BothFamilies] public void Foo(IpVersion family)</c>. The test case
/// names carry the family (<c>Foo(family: V6)</c>), so a failure says which one.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
internal sealed class BothFamiliesAttribute : DataAttribute
{
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [[IpVersion.V4], [IpVersion.V6]];
}

/// <summary>The documentation addresses each family's tests use (RFC 5737 and RFC 3849), one place for all of them.</summary>
internal static class Families
{
    public static readonly Ipv4Address V4A = Ipv4Address.Parse("192.0.2.1");
    public static readonly Ipv4Address V4B = Ipv4Address.Parse("192.0.2.2");
    public static readonly Ipv6Address V6A = Ipv6Address.Parse("2001:db8::1");
    public static readonly Ipv6Address V6B = Ipv6Address.Parse("2001:db8::2");

    /// <summary>The first host (192.0.2.1 or 2001:db8::1).</summary>
    public static IpAddress A(IpVersion family) => family == IpVersion.V4 ? V4A : V6A;

    /// <summary>The second host (192.0.2.2 or 2001:db8::2).</summary>
    public static IpAddress B(IpVersion family) => family == IpVersion.V4 ? V4B : V6B;

    /// <summary>The IP header length without options or extension headers (20 or 40).</summary>
    public static int IpHeaderLength(IpVersion family) => family == IpVersion.V4 ? 20 : 40;
}

/// <summary>Runs a seeded body and puts the seed in front of any failure, so that a red run can be replayed.</summary>
internal static class Seeded
{
    public static void Run(ulong seed, Action body)
    {
        try { body(); }
        catch (Exception e) when (!e.Message.StartsWith("seed ", StringComparison.Ordinal))
        {
            throw new XunitException($"seed {seed} (the run replays exactly with it): {e.Message}", e);
        }
    }

    public static T Run<T>(ulong seed, Func<T> body)
    {
        T result = default!;
        Run(seed, () => { result = body(); });
        return result;
    }
}

/// <summary>
/// <c>InlineData</c> for a theory that runs on both IP families: each row runs once with <see cref="IpVersion.V4"/> and once
/// with <see cref="IpVersion.V6"/>, the family first: <c>[Theory, FamilyData(3), FamilyData(4)] public void Foo(IpVersion family, int n)</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
internal sealed class FamilyDataAttribute(params object[] data) : DataAttribute
{
    public object[] Data { get; } = data;

    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [[IpVersion.V4, .. Data], [IpVersion.V6, .. Data]];
}
