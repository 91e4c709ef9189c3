using NetStack.Tests.Architecture.FloorFixtures.Upper;

namespace NetStack.Tests.Architecture;

/// <summary>
/// The floors of docs/architecture.md, enforced on the compiled core: a type may use types of its own floor and of
/// the floors below it, never of a floor above. The table below is the one drawn in docs/architecture.md; change both together.
/// </summary>
public class FloorTests
{
    /// <summary>Bottom to top (docs/architecture.md, "Floors").</summary>
    public static readonly Floor[] Floors =
    [
        new("ground", "NetStack", "NetStack.Storage.*"),
        new("wire", "NetStack.Wire.*"),
        new("link", "NetStack.Link.*"),
        new("network", "NetStack.Network.*"),
        new("transport", "NetStack.Transport.*"),
        new("sockets+services", "NetStack.Sockets.*", "NetStack.Services.*"),
        new("roof", "NetStack.Composition.*"),
        new("simulation", "NetStack.Simulation.*"),
    ];

    private static string CoreAssembly => typeof(Instant).Assembly.Location;

    /// <summary>Types that still reach the composer (NetworkStack/StackOptions) while their contexts are being narrowed.
    /// Each entry must still be a violation (so the list only shrinks); the list goes when it is empty.</summary>
    private static readonly string[] NotYetNarrowed =
    [
        "NetStack.Network.Ipv4.Ipv4Layer", "NetStack.Network.Ipv4.IcmpEchoSocket", "NetStack.Network.Ipv6.Ipv6Layer",
        "NetStack.Transport.Udp.UdpLayer", "NetStack.Sockets.RawSocket", "NetStack.Sockets.MulticastGroups",
        "NetStack.Services.Dhcpv4Service", "NetStack.Services.Ipv4LeaseInstaller",
    ];

    [Fact]
    public void No_type_of_the_core_references_a_type_of_a_higher_floor()
    {
        var all = new FloorChecker(Floors, "NetStack").Check(CoreAssembly);
        var violations = all.Where(v => !(NotYetNarrowed.Contains(v.FromType) && v.ToFloor == "roof")).ToList();
        var narrowed = NotYetNarrowed.Where(t => !all.Any(v => v.FromType == t)).ToList();
        Assert.True(narrowed.Count == 0, "no longer reaching the roof, remove from NotYetNarrowed: " + string.Join(", ", narrowed));
        Assert.True(violations.Count == 0,
            $"{violations.Count} references from a lower floor to a higher one (see docs/architecture.md):\n"
            + string.Join("\n", violations.OrderBy(v => v.FromType, StringComparer.Ordinal).Select(v => "  " + v)));
    }

    [Fact]
    public void Every_namespace_of_the_core_is_on_a_floor()
    {
        Assert.Empty(new FloorChecker(Floors, "NetStack").UnmappedNamespaces(CoreAssembly));
    }

    [Fact]
    public void The_ground_floor_holds_time_randomness_statistics_and_drop_reasons()
    {
        var checker = new FloorChecker(Floors, "NetStack");
        foreach (var t in new[] { typeof(Instant), typeof(IRandomSource), typeof(StackStatistics), typeof(DropReason), typeof(IPollable) })
            Assert.Equal(0, checker.FloorOf(t.Namespace!));
        Assert.Equal(1, checker.FloorOf(typeof(global::NetStack.Wire.Medium).Namespace!));
    }

    // The checker itself, on fixtures compiled into this test assembly: "Lower" is floor 0, "Upper" floor 1.
    private static readonly Floor[] FixtureFloors =
    [
        new("lower", "NetStack.Tests.Architecture.FloorFixtures.Lower"),
        new("upper", "NetStack.Tests.Architecture.FloorFixtures.Upper"),
    ];

    private static IReadOnlyList<FloorViolation> CheckFixtures() =>
        new FloorChecker(FixtureFloors, "NetStack.Tests.Architecture.FloorFixtures").Check(typeof(FloorTests).Assembly.Location);

    [Theory]
    [InlineData("FieldOfUpper", "field")]
    [InlineData("DerivesFromUpper", "base type")]
    [InlineData("ImplementsUpper", "interface")]
    [InlineData("ParameterOfUpper", "signature")]
    [InlineData("NewsUpperInBody", "body")]
    [InlineData("CallsUpperStaticInBody", "body")]
    [InlineData("TypeofUpperInBody", "body")]
    [InlineData("UpperInGenericArgumentInBody", "body")]
    [InlineData("LambdaUsesUpper", "body")]
    public void The_checker_finds_a_lower_type_that_references_a_higher_one(string lowerType, string where)
    {
        var found = CheckFixtures().Where(v => v.FromType == "NetStack.Tests.Architecture.FloorFixtures.Lower." + lowerType).ToList();
        Assert.NotEmpty(found);
        Assert.All(found, v => Assert.Equal("upper", v.ToFloor));
        Assert.Contains(found, v => v.Where.Contains(where, StringComparison.Ordinal));
    }

    [Fact]
    public void The_checker_lets_a_higher_floor_use_a_lower_one_and_a_floor_use_itself()
    {
        var violations = CheckFixtures();
        Assert.DoesNotContain(violations, v => v.FromType.Contains(".Upper.", StringComparison.Ordinal));
        Assert.DoesNotContain(violations, v => v.FromType.EndsWith(".Clean", StringComparison.Ordinal));
        Assert.Equal(9, violations.Select(v => v.FromType).Distinct().Count());
        Assert.NotNull(new UsesLower().Value); // the fixtures are real code
    }
}
