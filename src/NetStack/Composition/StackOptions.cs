namespace NetStack.Composition;

/// <summary>
/// Limits and defaults of a stack. Every cache, queue and table is bounded by one of these, and hitting
/// the bound is a counted drop. Family- and protocol-specific options live in their own classes, referenced here.
/// </summary>
public sealed class StackOptions
{
    /// <summary>Frames taken from one device in one <see cref="NetworkStack.Poll"/> before timers run.</summary>
    public int MaxFramesPerPoll { get; init; } = 256;

    /// <summary>
    /// The most frames the egress queue holds: what the stack produces while processing one received frame (replies,
    /// ICMP errors, forwarded packets, the fragments of a large echo reply) waits there until the receive call has
    /// returned (docs/architecture.md, "The poll cycle"). Beyond it a frame is a counted drop (<see cref="DropReason.EgressQueueFull"/>).
    /// </summary>
    public int MaxEgressQueueFrames { get; init; } = 256;

    /// <summary>The most bytes the egress queue holds (raised to twice the largest frame of any interface).</summary>
    public int MaxEgressQueueBytes { get; init; } = 1 << 20;

    /// <summary>
    /// Load-based SYN shedding (issue 13, RFC 4987 §3): while the stack is overloaded, SYNs to listeners from on-link
    /// sources with no resolved neighbour entry are dropped first (spoofed on-link sources, RFC 6583 §7), and of the
    /// others at most this many are answered (with a SYN,ACK or a cookie) per <see cref="NetworkStack.Poll"/>; the rest
    /// are dropped before any answer, state or cookie (counted <see cref="DropReason.TcpSynShed"/>), so that a flood
    /// costs the loop the read of its frames and little more, and segments of established connections are not stuck
    /// behind it in the device's queue. Overloaded means the previous receive batch of some device filled <see cref="MaxFramesPerPoll"/> (the device
    /// still held frames: the loop is behind) or the runtime reported a backlog (<see cref="NetworkStack.ReportReceiveBacklog"/>).
    /// When the loop keeps up, every SYN is answered as usual (cookies once the SYN queue is full). 0 disables shedding.
    /// </summary>
    public int SynsPerPollUnderLoad { get; init; } = 64;

    /// <summary>IPv4 settings: defaults (TTL), limits (reassembly, neighbour cache) and behaviour (forwarding, ICMP).</summary>
    public Network.Ipv4.Ipv4Settings Ipv4 { get; init; } = new();
    /// <summary>IPv6 settings: defaults (hop limit), limits (addresses, prefixes, routers, caches) and behaviour (forwarding, SLAAC).</summary>
    public Network.Ipv6.Ipv6Settings Ipv6 { get; init; } = new();
}
