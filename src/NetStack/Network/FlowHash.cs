using System.Buffers.Binary;
using NetStack.Wire;

namespace NetStack.Network;

/// <summary>
/// The per-flow hash a router uses to choose among equal-cost paths: addresses, protocol, and the first four octets
/// of the transport header (ports for UDP and TCP; type, code and checksum for ICMP), which is what load balancers
/// commonly hash and what Paris traceroute keeps constant. Non-first fragments hash on addresses only.
/// </summary>
internal static class FlowHash
{
    public static uint Of(in Ipv4Packet ip)
    {
        uint h = Mix(0x9E3779B9u, ip.Source.Value);
        h = Mix(h, ip.Destination.Value);
        h = Mix(h, (uint)ip.Protocol);
        if (ip.FragmentOffset == 0 && ip.Payload.Length >= 4) h = Mix(h, BinaryPrimitives.ReadUInt32BigEndian(ip.Payload));
        return Finish(h);
    }

    public static uint Of(Ipv6Address source, Ipv6Address destination, IpProtocol protocol, ReadOnlySpan<byte> transport, uint flowLabel)
    {
        uint h = Mix(0x9E3779B9u, (uint)(source.High >> 32));
        h = Mix(h, (uint)source.High);
        h = Mix(h, (uint)(source.Low >> 32));
        h = Mix(h, (uint)source.Low);
        h = Mix(h, (uint)(destination.High >> 32));
        h = Mix(h, (uint)destination.High);
        h = Mix(h, (uint)(destination.Low >> 32));
        h = Mix(h, (uint)destination.Low);
        h = Mix(h, (uint)protocol);
        h = Mix(h, flowLabel);
        if (transport.Length >= 4) h = Mix(h, BinaryPrimitives.ReadUInt32BigEndian(transport));
        return Finish(h);
    }

    private static uint Mix(uint h, uint v)
    {
        h ^= v * 0xCC9E2D51u;
        h = uint.RotateLeft(h, 13);
        return h * 5 + 0xE6546B64u;
    }

    private static uint Finish(uint h)
    {
        h ^= h >> 16;
        h *= 0x85EBCA6Bu;
        h ^= h >> 13;
        h *= 0xC2B2AE35u;
        return h ^ (h >> 16);
    }
}
