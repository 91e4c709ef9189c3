using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Simulation;

/// <summary>
/// A point-to-point in-memory link between two devices, <see cref="A"/> and <see cref="B"/>, with per-direction
/// latency, bandwidth (serialization delay and a bounded queue) and MTU (see <see cref="LinkOptions"/>).
/// Frames are copied into pooled buffers; nothing allocates per frame in steady state. Each endpoint is an
/// <see cref="ITimedDevice"/> whose <see cref="ITimedDevice.NextArrival"/> is the arrival time of its next frame.
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
    /// <inheritdoc/>
    public int MaxFrameSize => FrameLengths.MaxFrameFor(Medium, Math.Max(_out.Options.Mtu, _in.Options.Mtu));
    /// <inheritdoc/>
    public MacAddress HardwareAddress { get; }

    /// <summary>Counters of frames this endpoint sends.</summary>
    public LinkStatistics SendStatistics => _out.Statistics;

    /// <summary>Counters of frames this endpoint receives.</summary>
    public LinkStatistics ReceiveStatistics => _in.Statistics;

    /// <inheritdoc/>
    public Instant NextArrival => _in.NextArrival;

    /// <inheritdoc/>
    public bool TryReceive(Span<byte> buffer, Instant now, out int length) => _in.TryReceive(buffer, now, out length);

    /// <inheritdoc/>
    public void Transmit(ReadOnlySpan<byte> frame, Instant now) => _out.Send(frame, now);
}
