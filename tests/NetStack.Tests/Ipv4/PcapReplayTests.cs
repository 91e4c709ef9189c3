using NetStack.Link;
using NetStack.Network;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Tests.Support;
using NetStack.Wire;
using NetStack.Network.Ipv4;
using NetStack.Composition;


namespace NetStack.Tests.Ipv4;

/// <summary>
/// Third-party captures replayed into a stack configured as the capture's target: we must answer the recorded
/// request the way the recorded host did (pcaps/MANIFEST.tsv gives their sources).
/// </summary>
public class PcapReplayTests
{
    private static (NetworkStack Stack, NetworkInterface Iface, TappedLink Device) TargetHost(MacAddress mac, string cidr)
    {
        var host = new TappedStack(new StackOptions { Ipv4 = new Ipv4Settings { GratuitousArpCount = 0 } }, seed: 5);
        var link = host.Add(mac, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse(cidr)], EnableIpv6 = false });
        return (host.Stack, link.Interface, link);
    }

    [Fact]
    public void ARP_request_of_cs_arp_resolution_gets_the_recorded_reply_RFC826()
    {
        var frames = Captures.Read("cs-arp_resolution.pcapng").Select(f => f.Data).ToList();
        Assert.True(EthernetFrame.TryParse(frames[1], out var recordedEth, out _));
        Assert.True(ArpPacket.TryParse(recordedEth.Payload, out var recorded, out _));
        var (stack, iface, device) = TargetHost(recorded.SenderHardwareAddress, recorded.SenderProtocolAddress + "/24");

        stack.Receive(iface, frames[0], Instant.FromSeconds(1));

        var ours = Assert.Single(device.Take());
        // The recorded reply carries 4 bytes of trailer padding; the Ethernet header and the ARP body must match exactly.
        Assert.Equal(frames[1].AsSpan(0, 14 + ArpPacket.Length).ToArray(), ours);
    }

    [Fact]
    public void Echo_requests_of_cs_icmp_echo_get_the_recorded_replies_RFC792()
    {
        var frames = Captures.Read("cs-icmp_echo.pcapng").Select(f => f.Data).ToList();
        Assert.True(EthernetFrame.TryParse(frames[1], out var replyEth, out _));
        Assert.True(Ipv4Packet.TryParse(replyEth.Payload, out var replyIp, out _));
        var (_, iface, device) = TargetHost(replyEth.Source, replyIp.Source + "/24");
        var requesterMac = replyEth.Destination;

        for (int i = 0; i < frames.Count; i += 2)
        {
            device.Inject(frames[i]);
            var sent = device.Take();
            if (i == 0)
            {
                // We do not know the requester yet: ARP for it, then the queued reply goes out (RFC 1122 §2.3.2.2).
                var arp = Assert.Single(sent);
                Assert.True(Frames.IsArp(arp, ArpOperation.Request));
                var request = Frames.ArpOf(arp);
                device.Inject(Frames.Ethernet(requesterMac, iface.HardwareAddress, EtherType.Arp,
                    Frames.Arp(new ArpRepr(ArpOperation.Reply, requesterMac, request.TargetProtocolAddress, iface.HardwareAddress, request.SenderProtocolAddress))));
                sent = device.Take();
            }
            var ours = Assert.Single(sent);
            var rec = Expect.Frame(frames[i + 1]).Ethernet().Ipv4();
            // Our reply goes where the recorded one went, between the same addresses, its header checksum valid (the kit).
            var ip = Expect.Frame(ours).Ethernet(dst: rec.EthernetHeader.Destination).Ipv4(src: rec.Source.V4, dst: rec.Destination.V4);
            // The ICMP message (type, code, checksum, identifier, sequence, data) is byte for byte the recorded one.
            Assert.Equal(rec.Payload, ip.Payload);
            device.Owner.Advance(TimeSpan.FromSeconds(1));
        }
    }

    private static byte[] ReassembleIcmp(IEnumerable<byte[]> frames)
    {
        var r = new Network.Fragmentation.Reassembler<Network.Ipv4.Ipv4FragmentKey, Network.Ipv4.Ipv4Family>();
        foreach (var f in frames)
        {
            Assert.True(EthernetFrame.TryParse(f, out var eth, out _));
            Assert.True(Ipv4Packet.TryParse(eth.Payload, out var ip, out _));
            var key = new Network.Ipv4.Ipv4FragmentKey(ip.Source, ip.Destination, ip.Protocol, ip.Identification);
            if (r.Add(key, ip.Header, ip.FragmentOffset, ip.MoreFragments, ip.Payload, 0, Instant.Zero, out var d) == Network.Fragmentation.ReassemblyOutcome.Complete)
            {
                var bytes = d.Payload.ToArray();
                d.Release();
                return bytes;
            }
        }
        throw new InvalidOperationException("fragments did not reassemble");
    }

    [Fact]
    public void Fragmented_echo_of_cs_ip_frag_source_is_reassembled_and_answered_with_the_recorded_message()
    {
        var frames = Captures.Read("cs-ip_frag_source.pcapng").Select(f => f.Data).ToList();
        Assert.True(EthernetFrame.TryParse(frames[3], out var replyEth, out _));
        Assert.True(Ipv4Packet.TryParse(replyEth.Payload, out var replyIp, out _));
        var (stack, iface, device) = TargetHost(replyEth.Source, replyIp.Source + "/24");
        var requesterMac = replyEth.Destination;
        var now = Instant.FromSeconds(1);
        // The requester (10.10.0.3) is off-link: the frames came through a router, the MAC the reply went to.
        // Give the stack that router as its gateway and let it learn the router's MAC from an ARP request.
        var router = new Ipv4Address((replyIp.Source.Value & 0xFFFFFF00) | 1);
        Assert.True(stack.AddIpv4Route(new Network.Ipv4.Ipv4Route(new Ipv4Cidr(Ipv4Address.Any, 0), router, iface.Index)));
        stack.Receive(iface, Frames.Ethernet(requesterMac, MacAddress.Broadcast, EtherType.Arp,
            Frames.Arp(ArpRepr.Request(requesterMac, router, replyIp.Source))), now);
        device.Take();

        // The requests were captured on their sender before checksum offload filled the IP header checksum (tshark
        // shows 0x0000); fill it in as the sender's NIC did, else we would rightly drop them (RFC 1122 §3.2.1.2).
        foreach (var f in frames.Take(3))
        {
            var header = f.AsSpan(14, (f[14] & 0x0F) * 4);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(header[10..], Checksum.Compute(header));
            stack.Receive(iface, f, now);
        }

        var ours = device.Take();
        Assert.True(ours.Count == 3, string.Join(", ", stack.Statistics.NonZeroDrops()) + $" rx={stack.Statistics.Ipv4PacketsReceived} frames={stack.Statistics.FramesReceived}");
        Assert.Equal(ReassembleIcmp(frames.Skip(3)), ReassembleIcmp(ours));
    }

    [Fact]
    public void Port_unreachable_of_zeek_icmp_destunreach_udp_reaches_the_UDP_transport()
    {
        var frame = Captures.Read("zeek-icmp-destunreach-udp.pcap")[0].Data;
        Assert.True(EthernetFrame.TryParse(frame, out var eth, out _));
        Assert.True(Ipv4Packet.TryParse(eth.Payload, out var ip, out _));
        var (stack, iface, _) = TargetHost(eth.Destination, ip.Destination + "/24");
        var udp = new RecordingTransport();
        stack.RegisterTransport(IpProtocol.Udp, udp);

        stack.Receive(iface, frame, Instant.FromSeconds(1));

        var (error, quoted) = Assert.Single(udp.Errors);
        Assert.Equal(3, error.Type);
        Assert.Equal(3, error.Code);
        Assert.Equal(ip.Source, error.Reporter.V4);
        Assert.Equal(ip.Destination, error.OriginalSource.V4);
        Assert.True(quoted.Length >= 8);
    }

    [Theory]
    [InlineData("tcpdump-ipv4_invalid_hdr_length.pcap")]
    [InlineData("zeek-ip4-trunc.pcap")]
    public void Malformed_IPv4_captures_end_as_counted_drops(string capture)
    {
        var frame = Captures.Read(capture)[0].Data;
        Assert.True(EthernetFrame.TryParse(frame, out var eth, out _));
        var (stack, iface, device) = TargetHost(eth.Destination, "192.0.2.1/24");
        stack.Receive(iface, frame, Instant.FromSeconds(1));
        Assert.Empty(device.Take());
        Assert.Equal(1, stack.Statistics.Drops(DropReason.Ipv4Malformed));
    }
}
