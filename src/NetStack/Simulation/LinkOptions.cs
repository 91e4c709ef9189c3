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

    /// <summary>The largest IP packet carried; longer ones are dropped and counted.</summary>
    public int Mtu { get; init; } = 1500;
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

    /// <summary>The counters on one line.</summary>
    public override string ToString() =>
        $"sent={Sent} delivered={Delivered} queueDrops={QueueDrops} mtuDrops={MtuDrops} bufferDrops={BufferDrops}";
}
