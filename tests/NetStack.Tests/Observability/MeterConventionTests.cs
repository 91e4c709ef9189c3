using System.Net;
using System.Text.RegularExpressions;
using NetStack.Tap;

namespace NetStack.Tests.Observability;

/// <summary>The "NetStack" meter's names, units and attributes follow the OpenTelemetry semantic conventions; drops are reported only when they happened.</summary>
public sealed partial class MeterConventionTests
{
    [GeneratedRegex("^netstack(\\.[a-z][a-z0-9_]*)+$")]
    private static partial Regex OtelName();

    private static readonly HashSet<string> AllowedAttributes =
    [
        "netstack.stack.name", "network.type", "network.transport", "network.io.direction", "netstack.drop.reason",
        "netstack.fragment.operation", "netstack.tcp.open",
    ];

    [Fact]
    public async Task Instrument_names_units_and_attributes_follow_the_OpenTelemetry_conventions()
    {
        await using var p = await ObservedPair.StartAsync();
        await p.A.PingAsync(IPAddress.Parse("2001:db8::2"), TimeSpan.FromSeconds(30));
        var r = Reading.Collect(p.A);
        Assert.NotEmpty(r);
        foreach (var x in r)
        {
            Assert.Matches(OtelName(), x.Instrument);
            Assert.DoesNotContain("total", x.Instrument, StringComparison.Ordinal); // semconv: do not use "total"
            Assert.False(string.IsNullOrEmpty(x.Unit), x.Instrument);
            Assert.True(x.Unit == "By" || (x.Unit!.StartsWith('{') && x.Unit.EndsWith('}')), $"{x.Instrument}: unit {x.Unit}");
            foreach (var (key, value) in x.Tags)
            {
                Assert.Contains(key, AllowedAttributes);
                if (key == "network.type") Assert.Contains((string?)value, new[] { "ipv4", "ipv6" });
                if (key == "network.io.direction") Assert.Contains((string?)value, new[] { "receive", "transmit" });
                if (key == "network.transport") Assert.Contains((string?)value, new[] { "tcp", "udp" });
            }
        }
        Assert.True(Reading.Sum(r, "netstack.icmp.messages", ("network.type", "ipv6"), ("network.io.direction", "transmit")) >= 1);
        Assert.True(Reading.Sum(r, "netstack.link.frames", ("network.io.direction", "transmit")) > 0);
        Assert.True(Reading.Sum(r, "netstack.link.io", ("network.io.direction", "receive")) > 0);
    }

    [Fact]
    public async Task Drop_reasons_are_reported_only_when_non_zero()
    {
        await using var p = await ObservedPair.StartAsync();
        // Nothing dropped yet on B's side for a closed UDP port; then a datagram to one.
        await using (var u = await p.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0)))
            await u.SendToAsync(new byte[8], new IPEndPoint(IPAddress.Parse("192.0.2.2"), 9));
        var r = await Reading.WaitAsync(p.B, x => x.Any(m => m.Instrument == "netstack.packet.dropped"), "a drop on B");
        var drops = r.Where(x => x.Instrument == "netstack.packet.dropped").ToList();
        Assert.All(drops, d => Assert.True(d.Value > 0, $"{d.Tags["netstack.drop.reason"]} reported as {d.Value}"));
        var expected = p.B.Statistics.NonZeroDrops().Select(d => d.Key.ToString()).ToHashSet();
        Assert.Subset(expected, drops.Select(d => (string)d.Tags["netstack.drop.reason"]!).ToHashSet());
        Assert.True(drops.Count < Enum.GetValues<DropReason>().Length);
    }
}
