using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Simulation;

/// <summary>
/// An in-memory transparent bridge (IEEE 802.1D §7.7-7.8 behaviour, simplified): it learns source MAC addresses
/// per port, forwards known unicast to the learned port, filters frames whose destination lives on the port they
/// came from, and floods broadcast, multicast and unknown unicast to every other port. Entries age out after
/// <see cref="AgingTime"/> (802.1D default 300 s); the table holds at most <see cref="TableLimit"/> entries
/// (further addresses are not learned and their frames are flooded, counted in <see cref="Statistics"/>).
/// <para>
/// Each port is an <see cref="InMemoryLink"/> whose host end <see cref="AddPort"/> returns, so per-port latency,
/// bandwidth and MTU come from <see cref="LinkOptions"/>. The switch is itself an <see cref="IPollable"/>: register
/// it with the <see cref="Simulator"/> (<see cref="Simulator.AddSwitch"/>) and it is polled when frames reach it.
/// </para>
/// <para>
/// Ports whose links offer offloads (<see cref="LinkOptions.Offloads"/>) hand the switch super-frames and partially
/// checksummed frames whole, and the switch forwards them whole, as a Linux bridge forwards GSO skbs between veths: a port
/// whose link does not offer the offload gets the wire frames, made in software (<see cref="LinkEndpoint.Transmit(ReadOnlySpan{byte}, Instant, in FrameTransmitInfo)"/>).
/// </para>
/// </summary>
public sealed class LearningSwitch : IPollable, IDisposable
{
    private readonly List<InMemoryLink> _links = [];
    private readonly List<INetDevice> _ports = [];
    private readonly List<InMemoryLink> _mirrors = [];
    private readonly Dictionary<MacAddress, (int Port, Instant LastSeen)> _table = [];
    private byte[] _buffer = new byte[2048];

    /// <summary>Creates a switch that forgets a station after <paramref name="agingTime"/> (300 s by default, IEEE 802.1D) and learns at most <paramref name="tableLimit"/> stations.</summary>
    public LearningSwitch(TimeSpan? agingTime = null, int tableLimit = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tableLimit, 1);
        AgingTime = agingTime ?? TimeSpan.FromSeconds(300);
        TableLimit = tableLimit;
    }

    /// <summary>How long a learned station is remembered.</summary>
    public TimeSpan AgingTime { get; }
    /// <summary>At most this many learned stations.</summary>
    public int TableLimit { get; }
    /// <summary>Frame counters.</summary>
    public SwitchStatistics Statistics { get; } = new();

    /// <summary>The switch side of every port, in port order (what the scheduler watches).</summary>
    public IReadOnlyList<INetDevice> Ports => _ports;

    /// <summary>The links of every port (host end is <see cref="InMemoryLink.A"/>).</summary>
    public IReadOnlyList<InMemoryLink> Links => _links;

    /// <summary>
    /// Adds a port and returns the host's end of its link. <paramref name="toSwitch"/> shapes what the host sends,
    /// <paramref name="fromSwitch"/> what it receives (defaults to <paramref name="toSwitch"/>).
    /// </summary>
    public LinkEndpoint AddPort(MacAddress hostMac, LinkOptions? toSwitch = null, LinkOptions? fromSwitch = null)
    {
        var link = new InMemoryLink(Medium.Ethernet, hostMac, MacAddress.Zero, toSwitch, fromSwitch ?? toSwitch);
        _links.Add(link);
        _ports.Add(link.B);
        if (_buffer.Length < link.B.MaxFrameSize) _buffer = new byte[link.B.MaxFrameSize];
        return link.A;
    }

    /// <summary>
    /// Adds a mirror (monitor, "SPAN") port and returns the monitor's end of its link: a copy of every frame the switch
    /// receives on any port (ingress mirroring, malformed frames included) is sent out of it. The mirror port takes no
    /// part in learning or forwarding, and what is sent into it is ignored. Put a <see cref="FrameTap"/> on the
    /// returned end (<see cref="Simulator.AddTap"/>) to log a whole segment. <paramref name="options"/> shapes the copies
    /// (give it an MTU at least the ports' so that no copy is dropped).
    /// </summary>
    public LinkEndpoint AddMirrorPort(LinkOptions? options = null)
    {
        var link = new InMemoryLink(Medium.Ethernet, MacAddress.Zero, MacAddress.Zero, options, options);
        _mirrors.Add(link);
        return link.A;
    }

    /// <summary>The port <paramref name="mac"/> was learned on, if the entry is present and not aged out at <paramref name="now"/>.</summary>
    public bool TryLookup(MacAddress mac, Instant now, out int port)
    {
        if (_table.TryGetValue(mac, out var e) && now - e.LastSeen < AgingTime) { port = e.Port; return true; }
        port = -1;
        return false;
    }

    /// <summary>Entries currently in the table (aged ones included until they are looked up or relearned).</summary>
    public int TableCount => _table.Count;

    /// <inheritdoc/>
    public Instant Poll(Instant now)
    {
        for (int p = 0; p < _ports.Count; p++)
        {
            while (_ports[p].TryReceive(_buffer, now, out int length, out var info)) Forward(p, _buffer.AsSpan(0, length), Onward(info), now);
        }
        return Instant.MaxValue; // aging is checked lazily at lookup
    }

    /// <summary>What a received frame asks of the port it leaves by: its offloads (partial checksum, segmentation), if any.</summary>
    private static FrameTransmitInfo Onward(in FrameReceiveInfo info) =>
        info.Virtio is { } v && (v.NeedsChecksum || v.GsoType != VirtioGsoType.None)
            ? new FrameTransmitInfo { Virtio = v with { Flags = (byte)(v.Flags & VirtioNetHeader.FlagNeedsChecksum) } }
            : default;

    private void Forward(int inPort, ReadOnlySpan<byte> frame, in FrameTransmitInfo offload, Instant now)
    {
        Statistics.Received++;
        foreach (var m in _mirrors)
        {
            Statistics.Mirrored++;
            m.B.Transmit(frame, now, offload);
        }
        if (!EthernetFrame.TryParse(frame, out var eth, out _)) { Statistics.Malformed++; return; }
        Learn(eth.Source, inPort, now);
        var dst = eth.Destination;
        if (!dst.IsMulticast && TryLookup(dst, now, out int outPort))
        {
            // 802.1D §7.7.1: a frame is not sent back out of the port it was received on.
            if (outPort == inPort) { Statistics.Filtered++; return; }
            Statistics.Forwarded++;
            _ports[outPort].Transmit(frame, now, offload);
            return;
        }
        Statistics.Flooded++;
        for (int p = 0; p < _ports.Count; p++)
        {
            if (p != inPort) _ports[p].Transmit(frame, now, offload);
        }
    }

    private void Learn(MacAddress source, int port, Instant now)
    {
        // Group addresses never appear as a valid source; they are not learned.
        if (source.IsMulticast) return;
        if (_table.ContainsKey(source) || _table.Count < TableLimit || EvictAged(now))
        {
            _table[source] = (port, now);
            return;
        }
        Statistics.TableFull++;
    }

    private bool EvictAged(Instant now)
    {
        MacAddress? victim = null;
        foreach (var (mac, e) in _table)
        {
            if (now - e.LastSeen >= AgingTime) { victim = mac; break; }
        }
        if (victim is { } v) { _table.Remove(v); return true; }
        return false;
    }

    /// <summary>Detaches every port.</summary>
    public void Dispose()
    {
        foreach (var l in _links) l.Dispose();
        foreach (var l in _mirrors) l.Dispose();
    }
}

/// <summary>Counters of a <see cref="LearningSwitch"/>.</summary>
public sealed class SwitchStatistics
{
    /// <summary>Frames received on any port.</summary>
    public long Received { get; internal set; }
    /// <summary>Frames sent out of the one port their destination was learned on.</summary>
    public long Forwarded { get; internal set; }
    /// <summary>Frames sent out of every other port (unknown, broadcast or multicast destination).</summary>
    public long Flooded { get; internal set; }
    /// <summary>Frames dropped because their destination is on the port they came from.</summary>
    public long Filtered { get; internal set; }
    /// <summary>Frames dropped because they did not parse as Ethernet.</summary>
    public long Malformed { get; internal set; }
    /// <summary>Copies sent out of mirror ports (one a received frame and mirror port).</summary>
    public long Mirrored { get; internal set; }
    /// <summary>Source addresses not learned because the table was full.</summary>
    public long TableFull { get; internal set; }
}
