using System.Diagnostics.Metrics;
using NetStack.Tap;
using NetStack.Tests.Api.Support;

namespace NetStack.Tests.Api;

/// <summary>The "NetStack" meter of an <see cref="IpStack"/>.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Meter_reports_frames_icmp_and_drops_by_reason_tagged_with_the_stack_name()
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

        Assert.All(seen, m => Assert.Equal("A", m.Tags["netstack.stack"]));
        Assert.Contains(seen, m => m.Instrument == "netstack.frames" && (string?)m.Tags["direction"] == "transmitted" && m.Value > 0);
        Assert.Contains(seen, m => m.Instrument == "netstack.icmp.messages" && (string?)m.Tags["family"] == "ipv4"
            && (string?)m.Tags["direction"] == "sent" && m.Value >= 1);
        Assert.Equal(Enum.GetValues<DropReason>().Length, seen.Count(m => m.Instrument == "netstack.drops"));
    }
}
