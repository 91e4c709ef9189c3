using System.Buffers.Binary;
using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Tests.Ipv6.Support;
using NetStack.Wire;
using Xunit.Abstractions;

namespace NetStack.Tests.Neighbor;

/// <summary>
/// Issue 13 item 1, in virtual time: one rogue Router Advertisement (Retrans Timer 0xFFFFFFFF ms = 49 days), then
/// echo requests from hundreds of spoofed on-link sources, each of which makes the victim resolve a neighbour that
/// never answers. A legitimate neighbour (a second NetworkStack) pings the victim every 100 ms throughout: it must
/// never go more than 1 s without a reply (RFC 6583 §7: unresolved entries must not push out entries in use).
/// </summary>
public class NeighborFloodSimulationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan PingPeriod = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxGap = TimeSpan.FromSeconds(1);

    private static readonly Ipv6Address V6Victim = Ipv6Address.Parse("2001:db8:1::1");
    private static readonly Ipv6Address V6Legit = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly Ipv4Address V4Victim = Ipv4Address.Parse("192.0.2.1");
    private static readonly Ipv4Address V4Legit = Ipv4Address.Parse("192.0.2.2");

    private sealed record Lab(SimLan Net, NetworkStack Victim, NetworkInterface VictimIf, NetworkStack Legit, NetworkInterface LegitIf);

    private static Lab Build(ulong seed)
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var victim = net.AddStack(seed);
        var legit = net.AddStack(seed + 1);
        var vi = net.Attach(victim, hub, 1, new InterfaceConfig
        {
            // Three on-link IPv4 prefixes give 759 spoofable on-link IPv4 sources for the ARP variant.
            Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24"), Ipv4Cidr.Parse("198.51.100.1/24"), Ipv4Cidr.Parse("203.0.113.1/24")],
            Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:1::1/64")],
        });
        var li = net.Attach(legit, hub, 2, new InterfaceConfig
        {
            Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.2/24")],
            Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:1::2/64")],
        });
        return new Lab(net, victim, vi, legit, li);
    }

    /// <summary>The rogue RA: from a link-local router, Router Lifetime 0 (not a default router), Retrans Timer 0xFFFFFFFF.</summary>
    private static byte[] RogueRouterAdvertisement()
    {
        var router = Ipv6Address.Parse("fe80::bad");
        var ra = new RouterAdvertisementRepr(64, false, false, 0, 0, 0xFFFF_FFFF, new[] { NdpOptionRepr.SourceLinkLayer(V6Frames.PeerMac) });
        var m = new byte[ra.BufferLength];
        ra.Write(m, router, Ipv6Address.AllNodes);
        return V6Frames.Icmp(MacAddress.ForIpv6Multicast(Ipv6Address.AllNodes), router, Ipv6Address.AllNodes, m, hop: 255);
    }

    private static byte[] SpoofedV6Echo(int source, ushort seq)
    {
        var src = Ipv6Address.Parse($"2001:db8:1::{0x1000 + source:x}");
        var mac = new MacAddress(0x0266_0000_0000UL | (uint)source);
        var body = V6Frames.EchoRequest(0x5151, seq, 16, src, V6Victim);
        Icmpv6Packet.FillChecksum(body, src, V6Victim);
        return V6Frames.Ip(SimLan.Mac(1), src, V6Victim, IpProtocol.Icmpv6, body, srcMac: mac);
    }

    private static Ipv4Address SpoofedV4Source(int source)
    {
        // 3 × 253 on-link sources, skipping .0, .1 (ours), .2 (the legitimate neighbour) and .255.
        string[] nets = ["192.0.2.", "198.51.100.", "203.0.113."];
        return Ipv4Address.Parse(nets[source / 253 % 3] + (3 + source % 253).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static byte[] SpoofedV4Echo(int source, ushort seq)
    {
        var src = SpoofedV4Source(source);
        var mac = new MacAddress(0x0266_0000_0000UL | (uint)source);
        var f = new byte[14 + 20 + 8 + 16];
        new EthernetRepr(mac, SimLan.Mac(1), EtherType.Ipv4).Write(f);
        new Ipv4Repr(src, V4Victim, IpProtocol.Icmp, 24).Write(f.AsSpan(14));
        var icmp = f.AsSpan(34);
        icmp[0] = 8; // echo request
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], 0x5151);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], seq);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum.Compute(icmp));
        return f;
    }

    /// <summary>An ARP request for our address from a spoofed sender (RFC 826: it creates an entry for the sender).</summary>
    private static byte[] SpoofedArpRequest(int source)
    {
        var mac = new MacAddress(0x0266_0000_0000UL | (uint)source);
        var f = new byte[14 + 28];
        new EthernetRepr(mac, MacAddress.Broadcast, EtherType.Arp).Write(f);
        ArpRepr.Request(mac, SpoofedV4Source(source), V4Victim).Write(f.AsSpan(14));
        return f;
    }

    /// <summary>
    /// Runs the flood for <paramref name="duration"/> at <paramref name="perStep"/> frames per 10 ms from
    /// <paramref name="sources"/> spoofed sources in a seeded random order while the legitimate neighbour pings;
    /// returns the longest time the legitimate neighbour went without a reply.
    /// </summary>
    private TimeSpan LongestGap(bool ipv6, ulong seed, int sources, int perStep, TimeSpan duration, bool rogueRa, bool arpRequests = false)
    {
        var lab = Build(seed);
        IRandomSource rng = new SeededRandom(seed);
        lab.Net.Run(TimeSpan.FromSeconds(3)); // DAD, initial solicitations
        using var echo6 = lab.Legit.OpenIcmpv6Echo(0x4242);
        using var echo4 = new IcmpEchoSocket(lab.Legit, 0x4343);
        ushort seq = 0;
        var nextPing = lab.Net.Now;
        var start = lab.Net.Now;
        // Warm up: the legitimate neighbour is resolved and answering before the attack.
        var lastReply = Instant.MaxValue;
        var longest = TimeSpan.Zero;
        var floodStart = start + TimeSpan.FromSeconds(2);
        var end = floodStart + duration;
        bool raSent = false;
        ushort floodSeq = 0;
        while (lab.Net.Now < end)
        {
            var now = lab.Net.Now;
            if (now >= nextPing)
            {
                if (ipv6) echo6.SendEcho(V6Victim, seq++, new byte[8], now);
                else echo4.SendEcho(V4Victim, seq++, new byte[8], now);
                nextPing = now + PingPeriod;
            }
            if (now >= floodStart)
            {
                if (rogueRa && !raSent)
                {
                    lab.Victim.Receive(lab.VictimIf, RogueRouterAdvertisement(), now);
                    raSent = true;
                }
                for (int i = 0; i < perStep; i++)
                {
                    int s = (int)(rng.NextUInt32() % (uint)sources);
                    byte[] frame = ipv6 ? SpoofedV6Echo(s, floodSeq++)
                        : arpRequests && (i & 1) == 1 ? SpoofedArpRequest(s) : SpoofedV4Echo(s, floodSeq++);
                    lab.Victim.Receive(lab.VictimIf, frame, now);
                }
            }
            lab.Net.Run(Step);
            bool replied = false;
            while (echo6.TryReceive(out var r6)) replied |= r6.Kind == IcmpEchoResultKind.Reply && r6.From == V6Victim;
            while (echo4.TryReceive(out var r4)) replied |= r4.Kind == IcmpEchoResultKind.Reply && r4.From == V4Victim;
            if (replied)
            {
                var at = lab.Net.Now;
                if (lastReply != Instant.MaxValue && at - lastReply > longest) longest = at - lastReply;
                lastReply = at;
            }
        }
        if (lastReply == Instant.MaxValue) return duration;
        if (end - lastReply > longest) longest = end - lastReply;
        var stats = lab.Victim.Statistics;
        output.WriteLine($"seed {seed}: longest gap {longest.TotalMilliseconds} ms; cache-full drops {stats.Drops(DropReason.NeighborCacheFull)}, " +
            $"unreachable {stats.Drops(DropReason.NeighborUnreachable)}, retrans timer now {(ipv6 ? lab.Victim.GetIpv6Info(lab.VictimIf)!.RetransTimer : TimeSpan.Zero)}");
        return longest;
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(20261207UL)]
    public void Rogue_RA_with_49_day_retrans_timer_then_spoofed_IPv6_flood_leaves_the_legitimate_neighbour_answered(ulong seed)
    {
        // 700 spoofed on-link sources, 1,000 echo requests per second for 60 s (longer than the 15-45 s ReachableTime,
        // so the legitimate neighbour's entry goes STALE, DELAY and PROBE under the flood).
        var gap = LongestGap(ipv6: true, seed, sources: 700, perStep: 10, TimeSpan.FromSeconds(60), rogueRa: true);
        Assert.True(gap <= MaxGap, $"seed {seed}: the legitimate IPv6 neighbour went {gap.TotalMilliseconds} ms without a reply");
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(20261207UL)]
    public void Spoofed_IPv4_flood_with_ARP_requests_leaves_the_legitimate_neighbour_answered(ulong seed)
    {
        // 759 spoofed on-link sources over three prefixes: echo requests (unresolved entries) and ARP requests
        // addressed to us (entries learned unsolicited, RFC 826), 1,000 frames per second for 60 s.
        var gap = LongestGap(ipv6: false, seed, sources: 759, perStep: 10, TimeSpan.FromSeconds(60), rogueRa: false, arpRequests: true);
        Assert.True(gap <= MaxGap, $"seed {seed}: the legitimate IPv4 neighbour went {gap.TotalMilliseconds} ms without a reply");
    }

    [Theory]
    [InlineData(7UL)]
    public void Spoofed_IPv4_echo_flood_leaves_the_legitimate_neighbour_answered(ulong seed)
    {
        var gap = LongestGap(ipv6: false, seed, sources: 759, perStep: 10, TimeSpan.FromSeconds(60), rogueRa: false);
        Assert.True(gap <= MaxGap, $"seed {seed}: the legitimate IPv4 neighbour went {gap.TotalMilliseconds} ms without a reply");
    }
}
