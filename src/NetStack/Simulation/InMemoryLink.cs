using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Simulation;

/// <summary>
/// A point-to-point in-memory link between two devices, <see cref="A"/> and <see cref="B"/>, with per-direction
/// latency, bandwidth (serialization delay and a bounded queue) and MTU (see <see cref="LinkOptions"/>).
/// Frames are copied into pooled buffers; nothing allocates per frame in steady state. Each endpoint is an
/// <see cref="ITimedDevice"/> whose <see cref="ITimedDevice.NextArrival"/> is the arrival time of its next frame.
/// <para>
/// With <see cref="LinkOptions.Offloads"/> (off by default) the link behaves as a Linux veth pair: its ends advertise
/// checksum and segmentation offloads (<see cref="LinkEndpoint.Capabilities"/>), and a partially checksummed frame or a
/// TSO/USO super-frame of up to 64 KB crosses whole, handed to the other end with the virtio-net header a TAP would give
/// (<see cref="FrameReceiveInfo"/>: NEEDS_CSUM, gso_type, gso_size), as an skb crosses a veth unsegmented and
/// CHECKSUM_PARTIAL. Whoever reads an end without <see cref="FrameReceiveInfo"/> (a <see cref="FrameTap"/>) gets the
/// wire frames, made in software on delivery.
/// </para>
/// </summary>
public sealed class InMemoryLink : IDisposable
{
    private readonly LinkDirection _aToB;
    private readonly LinkDirection _bToA;

    /// <summary>Creates a link; <paramref name="aToB"/> and <paramref name="bToA"/> default to <see cref="LinkOptions.Default"/>.</summary>
    public InMemoryLink(Medium medium, MacAddress macA, MacAddress macB, LinkOptions? aToB = null, LinkOptions? bToA = null)
    {
        Medium = medium;
        _aToB = new LinkDirection(aToB ?? LinkOptions.Default, medium);
        _bToA = new LinkDirection(bToA ?? aToB ?? LinkOptions.Default, medium);
        A = new LinkEndpoint(medium, medium == Medium.Ethernet ? macA : MacAddress.Zero, _aToB, _bToA);
        B = new LinkEndpoint(medium, medium == Medium.Ethernet ? macB : MacAddress.Zero, _bToA, _aToB);
    }

    /// <summary>An Ethernet link, the same options both ways.</summary>
    public static InMemoryLink Ethernet(MacAddress macA, MacAddress macB, LinkOptions? options = null) =>
        new(Medium.Ethernet, macA, macB, options, options);

    /// <summary>A raw-IP (TUN-like) link, the same options both ways.</summary>
    public static InMemoryLink RawIp(LinkOptions? options = null) =>
        new(Medium.Ip, MacAddress.Zero, MacAddress.Zero, options, options);

    /// <summary>The link type of both ends.</summary>
    public Medium Medium { get; }
    /// <summary>One end of the link.</summary>
    public LinkEndpoint A { get; }
    /// <summary>The other end of the link.</summary>
    public LinkEndpoint B { get; }

    /// <summary>Counters of the direction from A to B.</summary>
    public LinkStatistics AToBStatistics => _aToB.Statistics;
    /// <summary>Counters of the direction from B to A.</summary>
    public LinkStatistics BToAStatistics => _bToA.Statistics;

    /// <summary>Returns every in-flight buffer to the pool.</summary>
    public void Dispose()
    {
        _aToB.Clear();
        _bToA.Clear();
    }
}

/// <summary>One end of an <see cref="InMemoryLink"/>.</summary>
public sealed class LinkEndpoint : INetDevice, ITimedDevice
{
    private readonly LinkDirection _out;
    private readonly LinkDirection _in;

    internal LinkEndpoint(Medium medium, MacAddress mac, LinkDirection outgoing, LinkDirection incoming)
    {
        Medium = medium;
        HardwareAddress = mac;
        _out = outgoing;
        _in = incoming;
    }

    /// <inheritdoc/>
    public Medium Medium { get; }
    /// <inheritdoc/>
    public int Mtu => _out.Options.Mtu;
    /// <summary>The MTU plus the link header, or a 64 KB super-frame plus the link header when either direction offers segmentation offloads.</summary>
    public int MaxFrameSize => FrameLengths.MaxFrameFor(Medium, Math.Max(Math.Max(_out.Options.Mtu, _in.Options.Mtu),
        ((_out.Options.Offloads | _in.Options.Offloads) & LinkOptions.SuperFrameOffloads) != 0 ? LinkOptions.GsoMaxSize : 0));

    /// <summary>
    /// The endpoint's description: transmit offloads are those of the direction it sends on, receive offloads those of the
    /// direction it receives from (<see cref="LinkOptions.Offloads"/>), gso_max_size 64 KB with segmentation offloads.
    /// </summary>
    public DeviceCapabilities Capabilities => new()
    {
        Medium = Medium,
        Mtu = Mtu,
        MaxFrameSize = MaxFrameSize,
        Offloads = (_out.Options.Offloads & LinkOptions.TransmitOffloads) | (_in.Options.Offloads & LinkOptions.ReceiveOffloads),
        GsoMaxSize = (_out.Options.Offloads & (DeviceOffloads.Tso4 | DeviceOffloads.Tso6 | DeviceOffloads.Uso)) != 0 ? LinkOptions.GsoMaxSize : 0,
    };
    /// <inheritdoc/>
    public MacAddress HardwareAddress { get; }

    /// <summary>Counters of frames this endpoint sends.</summary>
    public LinkStatistics SendStatistics => _out.Statistics;

    /// <summary>Counters of frames this endpoint receives.</summary>
    public LinkStatistics ReceiveStatistics => _in.Statistics;

    /// <inheritdoc/>
    public Instant NextArrival => _in.NextArrival;

    /// <summary>The next frame, a wire frame: an offloaded one arrives as the frames it stands for, made in software.</summary>
    public bool TryReceive(Span<byte> buffer, Instant now, out int length) =>
        _in.TryReceive(buffer, now, out length, out _, DeviceOffloads.None);

    /// <summary>
    /// The next frame with what the link says about it: an offloaded frame the receive offloads cover comes whole with its
    /// virtio-net header (as a TAP hands one over); any other as its wire frames.
    /// </summary>
    public bool TryReceive(Span<byte> buffer, Instant now, out int length, out FrameReceiveInfo info) =>
        _in.TryReceive(buffer, now, out length, out info, _in.Options.Offloads & LinkOptions.ReceiveOffloads);

    /// <inheritdoc/>
    public void Transmit(ReadOnlySpan<byte> frame, Instant now) => _out.Send(frame, now);

    /// <summary>
    /// An offloaded frame: carried whole when the direction offers what it asks (<see cref="LinkOptions.Offloads"/>), else
    /// sent as the wire frames <see cref="SoftwareSegmentation"/> makes (a switch forwarding a super-frame to a port without offloads).
    /// </summary>
    public void Transmit(ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info)
    {
        if (info.IsPlain) _out.Send(frame, now);
        else if (_out.Carries(info.Virtio, frame)) _out.Send(frame, now, info);
        else SoftwareSegmentation.Transmit(this, frame, now, info);
    }
}
