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

    [Fact]
    public void No_type_of_the_core_references_a_type_of_a_higher_floor()
    {
        var violations = new FloorChecker(Floors, "NetStack").Check(CoreAssembly);
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

    /// <summary>The floors whose types are layers handed a narrow context (docs/architecture.md, "The contracts each layer receives").</summary>
    private static readonly string[] LayerFloors = ["network", "transport", "sockets+services"];

    private static bool OnFloor(FloorChecker checker, string ns, params string[] floors) =>
        checker.FloorOf(ns) is int f && f >= 0 && f < Floors.Length && floors.Contains(Floors[f].Name);

    [Fact]
    public void No_layer_discovers_what_another_can_do_by_casting()
    {
        // A layer gets what it may use from its context's members (IIpLayer.TryTakeSynWork, IIpFamilies.JoinGroup...),
        // never by testing whether the object it was handed also is something else (`ip as IReceiveLoad`). A type test or
        // cast from a layer to a type of the core in another namespace is such a discovery.
        var checker = new FloorChecker(Floors, "NetStack");
        var casts = FloorChecker.References(CoreAssembly)
            .Where(r => r.IsCast && OnFloor(checker, r.FromNamespace, LayerFloors)
                && checker.FloorOf(r.ToNamespace) >= 0 && r.ToNamespace != r.FromNamespace)
            .Select(r => r.ToString()).Distinct().ToList();
        Assert.True(casts.Count == 0, "Layers discovering capabilities by casting:\n  " + string.Join("\n  ", casts));
    }

    [Fact]
    public void Above_the_network_floor_no_type_names_a_family_layer()
    {
        // Transports, sockets and services configure the family layers through IIpFamilies' operations and send through
        // IIpLayer; the concrete layers and their interfaces stay the network floor's (and the composer's).
        string[] concrete = ["NetStack.Network.Ipv4.Ipv4Layer", "NetStack.Network.Ipv6.Ipv6Layer",
            "NetStack.Network.Ipv4.Ipv4Interface", "NetStack.Network.Ipv6.Ipv6Interface"];
        var checker = new FloorChecker(Floors, "NetStack");
        var reach = FloorChecker.References(CoreAssembly)
            .Where(r => OnFloor(checker, r.FromNamespace, "transport", "sockets+services") && concrete.Contains(r.ToType))
            .Select(r => r.ToString()).Distinct().ToList();
        Assert.True(reach.Count == 0, "Reach-arounds to a concrete family layer:\n  " + string.Join("\n  ", reach));
    }

    [Fact]
    public void Only_the_roof_and_the_simulation_name_the_composer()
    {
        var checker = new FloorChecker(Floors, "NetStack");
        var named = FloorChecker.References(CoreAssembly)
            .Where(r => r.ToType == "NetStack.Composition.NetworkStack"
                && !OnFloor(checker, r.FromNamespace, "roof", "simulation"))
            .Select(r => r.ToString()).Distinct().ToList();
        Assert.True(named.Count == 0, "Types below the roof that name NetworkStack:\n  " + string.Join("\n  ", named));
        // And the walk does see the composer where it is named (the rule above is not vacuous).
        Assert.Contains(FloorChecker.References(CoreAssembly), r => r.ToType == "NetStack.Composition.NetworkStack"
            && r.FromType == "NetStack.Composition.InterfaceReadiness");
    }

    [Fact]
    public void The_checker_sees_every_form_of_type_test_and_cast()
    {
        const string Fixture = "NetStack.Tests.Architecture.FloorFixtures.Casting.";
        var refs = FloorChecker.References(typeof(FloorTests).Assembly.Location);
        var casts = refs.Where(r => r.IsCast && r.FromType == Fixture + "DiscoversByCasting").Select(r => r.ToType).ToHashSet();
        Assert.Contains("NetStack.Tests.Architecture.FloorFixtures.Lower.IMarker", casts); // is
        Assert.Contains("NetStack.Tests.Architecture.FloorFixtures.Lower.Base", casts); // as
        Assert.Contains("NetStack.Tests.Architecture.FloorFixtures.Lower.Clean", casts); // (T)x
        Assert.Contains("NetStack.Tests.Architecture.FloorFixtures.Upper.UpperThing", casts); // pattern
        Assert.DoesNotContain(refs, r => r.IsCast && r.FromType == Fixture + "NeverCasts");
        Assert.Contains(refs, r => !r.IsCast && r.FromType == Fixture + "NeverCasts" && r.ToType.EndsWith(".Lower.Clean", StringComparison.Ordinal));
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
