using System.Diagnostics.Metrics;
using System.Net;
using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Tap;
using NetStack.Wire;

namespace NetStack.Tests.Observability;

/// <summary>A device whose transmissions can be switched off (a cable pulled), to make TCP retransmit.</summary>
internal sealed class SwitchableDevice(INetDevice inner) : NetDeviceDecorator(inner)
{
    private volatile bool _blocked;

    public bool Blocked
    {
        get => _blocked;
        set => _blocked = value;
    }

    public override void Transmit(ReadOnlySpan<byte> frame, Instant now)
    {
        if (!_blocked) base.Transmit(frame, now);
    }
}

/// <summary>
/// Two dual-stack <see cref="IpStack"/>s over an in-memory link (A 192.0.2.1 / 2001:db8::1, B 192.0.2.2 / 2001:db8::2,
/// DAD off so the addresses are usable at once), A's transmissions switchable, with metrics on.
/// </summary>
internal sealed class ObservedPair : IAsyncDisposable
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private readonly IpStackLink _link;

    private ObservedPair(IpStackLink link, SwitchableDevice deviceA, IpStack a, IpStack b)
    {
        _link = link;
        DeviceA = deviceA;
        A = a;
        B = b;
    }

    public SwitchableDevice DeviceA { get; }
    public IpStack A { get; }
    public IpStack B { get; }

    public static async Task<ObservedPair> StartAsync(string nameA = "A", string nameB = "B")
    {
        var link = new IpStackLink(MacAddress.Parse("02:00:00:00:00:01"), MacAddress.Parse("02:00:00:00:00:02"));
        var deviceA = new SwitchableDevice(link.A);
        var a = new IpStack(deviceA, Config("192.0.2.1", "2001:db8::1"), Options(nameA, 1));
        var b = new IpStack(link.B, Config("192.0.2.2", "2001:db8::2"), Options(nameB, 2));
        await a.StartAsync();
        await b.StartAsync();
        return new ObservedPair(link, deviceA, a, b);
    }

    private static InterfaceConfig Config(string v4, string v6) => new()
    {
        Ipv4Addresses = [Ipv4Cidr.Parse(v4 + "/24")],
        Ipv6Addresses = [new Ipv6Cidr(Ipv6Address.Parse(v6), 64)],
        Slaac = false,
    };

    private static IpStackOptions Options(string name, ulong seed) => new()
    {
        Name = name,
        Random = new SeededRandom(seed),
        Stack = new StackOptions { Ipv6 = new Ipv6Settings { DupAddrDetectTransmits = 0 } },
    };

    public async ValueTask DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
        _link.Dispose();
    }
}

/// <summary>One collection of a stack's "NetStack" meter: (instrument, value, tags) triples.</summary>
internal sealed record Reading(string Instrument, long Value, IReadOnlyDictionary<string, object?> Tags, string? Unit)
{
    public static List<Reading> Collect(IpStack stack)
    {
        var seen = new List<Reading>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, stack.Metrics!.Meter)) l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var d = new Dictionary<string, object?>();
            foreach (var t in tags) d[t.Key] = t.Value;
            if (Equals(d.GetValueOrDefault("netstack.stack.name"), stack.Name)) seen.Add(new Reading(instrument.Name, value, d, instrument.Unit));
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }

    /// <summary>The sum of <paramref name="instrument"/>'s measurements whose tags include every pair of <paramref name="tags"/>.</summary>
    public static long Sum(IEnumerable<Reading> readings, string instrument, params (string Key, string Value)[] tags) =>
        readings.Where(r => r.Instrument == instrument && tags.All(t => Equals(r.Tags.GetValueOrDefault(t.Key), t.Value))).Sum(r => r.Value);

    /// <summary>Polls until <paramref name="condition"/> holds over a fresh collection (generous deadline).</summary>
    public static async Task<List<Reading>> WaitAsync(IpStack stack, Func<List<Reading>, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + ObservedPair.Limit;
        while (true)
        {
            var r = Collect(stack);
            if (condition(r)) return r;
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"{what}: not seen within {ObservedPair.Limit}; last reading:\n" +
                    string.Join("\n", r.Select(x => $"{x.Instrument} {x.Value} {string.Join(",", x.Tags.Select(t => $"{t.Key}={t.Value}"))}")));
            await Task.Delay(20);
        }
    }
}
