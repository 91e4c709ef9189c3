using NetStack.Wire;

namespace NetStack.Fuzz;

/// <summary>
/// Cuts a captured Ethernet frame into its layers (for seeds: each wire target is seeded with the bytes its parser sees
/// in the stack). Uses the core's own parsers; a layer that does not parse is absent.
/// </summary>
public readonly record struct Dissected(EtherType EtherType, byte[]? Network, IpProtocol Protocol, byte[]? Transport,
    IpAddress Source, IpAddress Destination)
{
    public static Dissected Of(ReadOnlySpan<byte> frame)
    {
        if (!EthernetFrame.TryParse(frame, out var eth, out _)) return default;
        var l3 = eth.Payload;
        switch (eth.EtherType)
        {
            case EtherType.Ipv4:
                if (!Ipv4Packet.TryParse(l3, out var v4, out _)) return new(eth.EtherType, l3.ToArray(), default, null, default, default);
                byte[]? l4 = v4.IsFragment && v4.FragmentOffset != 0 ? null : v4.Payload.ToArray();
                return new(eth.EtherType, v4.Bytes.ToArray(), v4.Protocol, l4, v4.Source, v4.Destination);
            case EtherType.Ipv6:
                if (!Ipv6Packet.TryParse(l3, out var v6, out _)) return new(eth.EtherType, l3.ToArray(), default, null, default, default);
                var bytes = v6.Bytes;
                if (Ipv6HeaderChain.TryParse(bytes, out var chain, out _) && chain.End == Ipv6ChainEnd.UpperLayer)
                    return new(eth.EtherType, bytes.ToArray(), chain.Protocol, bytes[chain.ProtocolOffset..].ToArray(), v6.Source, v6.Destination);
                return new(eth.EtherType, bytes.ToArray(), v6.NextHeader, null, v6.Source, v6.Destination);
            default:
                return new(eth.EtherType, l3.ToArray(), default, null, default, default);
        }
    }

    /// <summary>The transport bytes when the frame carries <paramref name="protocol"/> (any family), else nothing.</summary>
    public byte[][] TransportOf(IpProtocol protocol) => Transport is not null && Protocol == protocol ? [Transport] : [];

    /// <summary>The payload of a UDP datagram from or to <paramref name="port"/>.</summary>
    public byte[][] UdpPayloadOf(ushort port)
    {
        if (Transport is null || Protocol != IpProtocol.Udp || !UdpDatagram.TryParse(Transport, out var udp, out _)) return [];
        return udp.SourcePort == port || udp.DestinationPort == port ? [udp.Payload.ToArray()] : [];
    }
}
