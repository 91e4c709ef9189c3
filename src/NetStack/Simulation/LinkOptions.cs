using NetStack.Link;

namespace NetStack.Simulation;

/// <summary>
/// One direction of an in-memory link. A frame sent at <c>t</c> starts serializing when the wire is free,
/// takes <c>bytes * 8 / BitsPerSecond</c> (frame bytes only: no preamble, FCS or inter-frame gap), and
/// arrives <see cref="Latency"/> after its last bit left.
/// </summary>
public sealed record LinkOptions
{
    /// <summary>Zero latency, unlimited bandwidth, MTU 1500.</summary>
    public static readonly LinkOptions Default = new();

    /// <summary>Propagation delay.</summary>
    public TimeSpan Latency { get; init; }

    /// <summary>Line rate; 0 means frames take no time to serialize.</summary>
    public long BitsPerSecond { get; init; }

    /// <summary>Frames waiting for (or being put on) the wire before further frames are dropped and counted.</summary>
    public int QueueLimit { get; init; } = 1000;

    /// <summary>Frames in flight (serialized, not yet received) before further frames are dropped and counted.</summary>
    public int InFlightLimit { get; init; } = 65_536;

    /// <summary>The largest IP packet carried; longer ones are dropped and counted (a super-frame: each of its segments).</summary>
    public int Mtu { get; init; } = 1500;

    /// <summary>
    /// The device offloads this direction offers, as a veth pair does (<see cref="VethOffloads"/>); none by default, so
    /// that every frame is a wire frame. Transmit offloads (<see cref="DeviceOffloads.TransmitChecksum"/>,
    /// <see cref="DeviceOffloads.Tso4"/>, <see cref="DeviceOffloads.Tso6"/>, <see cref="DeviceOffloads.Uso"/>) are
    /// offered to the sending end: a partially checksummed frame or a TSO/USO super-frame (up to
    /// <see cref="GsoMaxSize"/>) crosses whole, as an skb crosses a veth (CHECKSUM_PARTIAL, GSO). Receive offloads
    /// (<see cref="DeviceOffloads.ReceiveChecksum"/>, <see cref="DeviceOffloads.ReceiveTcp4"/> ...) say what the
    /// receiving end is handed as such, with the virtio-net header a TAP would give (<see cref="FrameReceiveInfo"/>);
    /// anything else is made into wire frames in software on delivery (<see cref="SoftwareSegmentation"/>), as is every
    /// offloaded frame read through the receive call without <see cref="FrameReceiveInfo"/>.
    /// </summary>
    public DeviceOffloads Offloads { get; init; }

    /// <summary>What a Linux veth advertises and does: checksum offload both ways, TSO4/TSO6/USO, super-frames received whole.</summary>
    public const DeviceOffloads VethOffloads = DeviceOffloads.TransmitChecksum | DeviceOffloads.ReceiveChecksum
        | DeviceOffloads.Tso4 | DeviceOffloads.Tso6 | DeviceOffloads.Uso
        | DeviceOffloads.ReceiveTcp4 | DeviceOffloads.ReceiveTcp6 | DeviceOffloads.ReceiveUdp4 | DeviceOffloads.ReceiveUdp6;

    /// <summary>The largest super-frame (IP packet) of a link with segmentation offloads (a veth's and a TAP's gso_max_size).</summary>
    public const int GsoMaxSize = 65536;

    /// <summary>The transmit offloads among <see cref="DeviceOffloads"/> (what the sending end is offered).</summary>
    internal const DeviceOffloads TransmitOffloads = DeviceOffloads.TransmitChecksum | DeviceOffloads.Tso4 | DeviceOffloads.Tso6 | DeviceOffloads.Uso;

    /// <summary>The receive offloads (what a receiver may be handed with a virtio-net header).</summary>
    internal const DeviceOffloads ReceiveOffloads = DeviceOffloads.ReceiveChecksum | DeviceOffloads.ReceiveTcp4 | DeviceOffloads.ReceiveTcp6
        | DeviceOffloads.ReceiveUdp4 | DeviceOffloads.ReceiveUdp6;

    /// <summary>Segmentation offloads, transmit or receive: super-frames may cross.</summary>
    internal const DeviceOffloads SuperFrameOffloads = DeviceOffloads.Tso4 | DeviceOffloads.Tso6 | DeviceOffloads.Uso
        | DeviceOffloads.ReceiveTcp4 | DeviceOffloads.ReceiveTcp6 | DeviceOffloads.ReceiveUdp4 | DeviceOffloads.ReceiveUdp6;
}

/// <summary>Counters of one direction of an in-memory link.</summary>
public sealed class LinkStatistics
{
    /// <summary>Frames offered to this direction.</summary>
    public long Sent { get; internal set; }
    /// <summary>Frames delivered at the far end.</summary>
    public long Delivered { get; internal set; }
    /// <summary>Dropped because the transmit queue (or the in-flight limit) was full.</summary>
    public long QueueDrops { get; internal set; }
    /// <summary>Dropped because the IP packet exceeded the MTU.</summary>
    public long MtuDrops { get; internal set; }
    /// <summary>Dropped because the receiver's buffer was smaller than the frame.</summary>
    public long BufferDrops { get; internal set; }
    /// <summary>Offloaded frames (partial checksum, super-frame) carried whole, as offered (<see cref="LinkOptions.Offloads"/>).</summary>
    public long OffloadedFrames { get; internal set; }
    /// <summary>TSO/USO super-frames carried whole (among <see cref="OffloadedFrames"/>).</summary>
    public long SuperFrames { get; internal set; }
    /// <summary>Wire frames made in software on delivery from offloaded ones the receiver was not to be handed as such.</summary>
    public long SegmentedOnDelivery { get; internal set; }
    /// <summary>Dropped because a frame's offload header did not describe it (never sent by a correct stack).</summary>
    public long OffloadDrops { get; internal set; }

    /// <summary>The counters on one line.</summary>
    public override string ToString() =>
        $"sent={Sent} delivered={Delivered} queueDrops={QueueDrops} mtuDrops={MtuDrops} bufferDrops={BufferDrops} offloaded={OffloadedFrames} superFrames={SuperFrames} segmentedOnDelivery={SegmentedOnDelivery} offloadDrops={OffloadDrops}";
}
