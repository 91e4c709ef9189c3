using System.Diagnostics.Metrics;
using NetStack.Tap;
using NetStack.Tests.Api.Support;

namespace NetStack.Tests.Api;

/// <summary>The "NetStack" meter of an <see cref="IpStack"/>.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Meter_reports_frames_and_icmp_tagged_with_the_stack_name_and_only_drops_that_happened()
    {
        await using var net = await StackPair.StartAsync();
        await net.A.PingAsync(StackPair.AddressB, TimeSpan.FromSeconds(5));
        var seen = new List<(string Instrument, long Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == IpStackMetrics.MeterName && ReferenceEquals(instrument.Meter, net.A.Metrics!.Meter)) l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            seen.Add((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
        listener.Start();

        listener.RecordObservableInstruments();

        Assert.All(seen, m => Assert.Equal("A", m.Tags["netstack.stack.name"]));
        Assert.Contains(seen, m => m.Instrument == "netstack.link.frames" && (string?)m.Tags["network.io.direction"] == "transmit" && m.Value > 0);
        Assert.Contains(seen, m => m.Instrument == "netstack.icmp.messages" && (string?)m.Tags["network.type"] == "ipv4"
            && (string?)m.Tags["network.io.direction"] == "transmit" && m.Value >= 1);
        // Only reasons that occurred are reported (once every one of the 76 was, zeros included, on every collection).
        var drops = seen.Where(m => m.Instrument == "netstack.packet.dropped").ToList();
        Assert.All(drops, m => Assert.True(m.Value > 0));
        Assert.Equal(net.A.Statistics.NonZeroDrops().Count(), drops.Count);
    }
}
