using NetStack.Link;
using NetStack.Network;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Tests.Support;
using NetStack.Wire;
using Ipv4Options = NetStack.Network.Ipv4.Ipv4Options;

namespace NetStack.Tests.Ipv4;

/// <summary>
/// Third-party captures replayed into a stack configured as the capture's target: we must answer the recorded
/// request the way the recorded host did (pcaps/MANIFEST.tsv gives their sources).
/// </summary>
public class PcapReplayTests
{
    private static (NetworkStack Stack, NetworkInterface Iface, ChannelDevice Device) TargetHost(MacAddress mac, string cidr)
    {
        var stack = new NetworkStack(new StackOptions { Ipv4 = new Ipv4Options { GratuitousArpCount = 0 } }, new SeededRandom(5));
        var device = new ChannelDevice(mac);
        var iface = stack.AddInterface(device, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse(cidr)], EnableIpv6 = false }, Instant.FromSeconds(1));
        return (stack, iface, device);
    }

    [Fact]
    public void ARP_request_of_cs_arp_resolution_gets_the_recorded_reply_RFC826()
    {
        var frames = Captures.Read("cs-arp_resolution.pcapng").Select(f => f.Data).ToList();
        Assert.True(EthernetFrame.TryParse(frames[1], out var recordedEth, out _));
        Assert.True(ArpPacket.TryParse(recordedEth.Payload, out var recorded, out _));
        var (stack, iface, device) = TargetHost(recorded.SenderHardwareAddress, recorded.SenderProtocolAddress + "/24");

        stack.Receive(iface, frames[0], Instant.FromSeconds(1));

        var ours = Assert.Single(device.TakeSent());
        // The recorded reply carries 4 bytes of trailer padding; the Ethernet header and the ARP body must match exactly.
        Assert.Equal(frames[1].AsSpan(0, 14 + ArpPacket.Length).ToArray(), ours);
    }

    [Fact]
    public void Echo_requests_of_cs_icmp_echo_get_the_recorded_replies_RFC792()
    {
        var frames = Captures.Read("cs-icmp_echo.pcapng").Select(f => f.Data).ToList();
        Assert.True(EthernetFrame.TryParse(frames[1], out var replyEth, out _));
        Assert.True(Ipv4Packet.TryParse(replyEth.Payload, out var replyIp, out _));
        var (stack, iface, device) = TargetHost(replyEth.Source, replyIp.Source + "/24");
        var requesterMac = replyEth.Destination;
        var now = Instant.FromSeconds(1);

        for (int i = 0; i < frames.Count; i += 2)
        {
            stack.Receive(iface, frames[i], now);
            var sent = device.TakeSent();
            if (i == 0)
            {
                // We do not know the requester yet: ARP for it, then the queued reply goes out (RFC 1122 §2.3.2.2).
                var arp = Assert.Single(sent);
                Assert.True(Frames.IsArp(arp, ArpOperation.Request));
                var request = Frames.ArpOf(arp);
                stack.Receive(iface, Frames.Ethernet(requesterMac, iface.HardwareAddress, EtherType.Arp,
                    Frames.Arp(new ArpRepr(ArpOperation.Reply, requesterMac, request.TargetProtocolAddress, iface.HardwareAddress, request.SenderProtocolAddress))), now);
                sent = device.TakeSent();
            }
            var ours = Assert.Single(sent);
            Assert.True(EthernetFrame.TryParse(ours, out var eth, out _));
            Assert.True(EthernetFrame.TryParse(frames[i + 1], out var recEth, out _));
            Assert.Equal(recEth.Destination, eth.Destination);
            Assert.True(Ipv4Packet.TryParse(eth.Payload, out var ip, out _));
            Assert.True(Ipv4Packet.TryParse(recEth.Payload, out var rec, out _));
            Assert.True(ip.ChecksumValid);
            Assert.Equal(rec.Source, ip.Source);
            Assert.Equal(rec.Destination, ip.Destination);
            // The ICMP message (type, code, checksum, identifier, sequence, data) is byte for byte the recorded one.
            Assert.Equal(rec.Payload.ToArray(), ip.Payload.ToArray());
            now += TimeSpan.FromSeconds(1);
        }
    }
}
