using NetStack.Wire;

namespace NetStack.Fuzz;

/// <summary>Every fuzz target, by name (<c>scripts/fuzz.sh list</c>).</summary>
public static class Targets
{
    public static readonly IReadOnlyList<FuzzTarget> All =
    [
        new("ethernet", "Ethernet II + 802.1Q tags (EthernetFrame): parse, walk, write back, round trip",
            WireTargets.Ethernet, PerFrame(f => [f])),
        new("arp", "ARP (ArpPacket): parse, write back, round trip",
            WireTargets.Arp, PerFrame(f => Dissected.Of(f) is { EtherType: EtherType.Arp, Network: { } n } ? [n] : [])),
        new("ipv4", "IPv4 header + options (Ipv4Packet, quoted form, Ipv4Options): parse, walk, round trip",
            WireTargets.Ipv4, PerFrame(f => Dissected.Of(f) is { EtherType: EtherType.Ipv4, Network: { } n } ? [n] : [])),
        new("ipv6", "IPv6 header + extension-header chain (Ipv6Packet, Ipv6HeaderChain, each header): parse, walk, round trip",
            WireTargets.Ipv6, PerFrame(f => Dissected.Of(f) is { EtherType: EtherType.Ipv6, Network: { } n } ? [n] : [])),
        new("ipv6-ext", "one IPv6 extension header (hop-by-hop/destination options, routing, fragment), alone and in a chain",
            WireTargets.Ipv6ExtensionHeaders, PerFrame(ExtensionHeaderSeeds)),
        new("icmpv4", "ICMPv4 (Icmpv4Packet, RFC 4884 extensions, MPLS labels, quoted datagram) and IGMP v1-v3",
            WireTargets.Icmpv4, PerFrame(f => [.. Dissected.Of(f).TransportOf(IpProtocol.Icmp), .. Dissected.Of(f).TransportOf(IpProtocol.Igmp)])),
        new("icmpv6", "ICMPv6 (Icmpv6Packet, extensions, quoted packet) with NDP messages + options and MLD v1/v2",
            WireTargets.Icmpv6, PerFrame(f => Dissected.Of(f).TransportOf(IpProtocol.Icmpv6))),
        new("ndp", "NDP messages and options alone (NdpMessage, NdpOption: prefix, MTU, RDNSS, nonce, redirected header)",
            WireTargets.Ndp, PerFrame(f => Dissected.Of(f).TransportOf(IpProtocol.Icmpv6).Where(t => t.Length > 0 && t[0] is >= 133 and <= 137))),
        new("udp", "UDP (UdpDatagram): parse, checksum, write back, round trip",
            WireTargets.Udp, PerFrame(f => Dissected.Of(f).TransportOf(IpProtocol.Udp))),
        new("tcp", "TCP header + options (TcpSegment, TcpOptionReader): parse, walk, write back, round trip",
            WireTargets.Tcp, PerFrame(f => Dissected.Of(f).TransportOf(IpProtocol.Tcp))),
        new("dns", "DNS messages (DnsMessage, DnsName with compression): validate, walk every question, record and name",
            WireTargets.Dns, PerFrame(f => [.. Dissected.Of(f).UdpPayloadOf(53), .. Dissected.Of(f).UdpPayloadOf(5353)])),
        new("dhcp", "DHCPv4 / BOOTP (DhcpPacket, options with overload): parse, walk, copy out",
            WireTargets.Dhcp, PerFrame(f => [.. Dissected.Of(f).UdpPayloadOf(67), .. Dissected.Of(f).UdpPayloadOf(68)])),
        new("stack", "whole stack: frames into a NetworkStack in virtual time (Ethernet + raw IP, TCP/UDP servers and clients)",
            input => StackHarness.Run(input, virtio: false), Seeds.StackRuns),
        new("virtio", "whole stack behind virtio-net headers (offloaded checksums, GSO super-frames) as an offloading TAP delivers",
            input => StackHarness.Run(input, virtio: true), Seeds.VirtioRuns),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);

    private static SeedMaker PerFrame(Func<byte[], IEnumerable<byte[]>> cut) =>
        captures => captures.SelectMany(c => c).SelectMany(cut);

    private static IEnumerable<byte[]> ExtensionHeaderSeeds(byte[] frame)
    {
        var d = Dissected.Of(frame);
        if (d.EtherType != EtherType.Ipv6 || d.Network is not { Length: > Ipv6Packet.HeaderLength } n) yield break;
        byte selector = (IpProtocol)n[6] switch
        {
            IpProtocol.HopByHop or IpProtocol.Ipv6DestinationOptions => 0,
            IpProtocol.Ipv6Routing => 1,
            IpProtocol.Ipv6Fragment => 2,
            _ => 255,
        };
        if (selector == 255) yield break;
        yield return [selector, .. n.AsSpan(Ipv6Packet.HeaderLength)];
    }
}
