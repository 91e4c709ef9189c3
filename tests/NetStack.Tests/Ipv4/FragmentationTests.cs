using NetStack.Network;
using NetStack.Network.Fragmentation;
using NetStack.Network.Ipv4;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Wire;
using static NetStack.Tests.Ipv4.Kit.SingleHost;
using Ipv4Reassembler = NetStack.Network.Fragmentation.Reassembler<NetStack.Network.Ipv4.Ipv4FragmentKey, NetStack.Network.Ipv4.Ipv4Family>;

namespace NetStack.Tests.Ipv4;

public class FragmentationTests
{
    /// <summary>An echo request of <paramref name="dataLength"/> bytes from the peer, fragmented for a 1500-byte MTU.</summary>
    private static List<byte[]> FragmentedEcho(int dataLength, ushort id = 99)
    {
        var icmp = Frames.EchoRequest(0x4242, 1, Frames.Pattern(dataLength));
        var list = new List<byte[]>();
        foreach (var f in FragmentPlan.Create(icmp.Length, 1500, 20, 20))
            list.Add(Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Icmp, f.Length, 64, 0, id, false, f.More, f.Offset), icmp.AsSpan(f.Offset, f.Length)));
        return list;
    }

    [Fact]
    public void An_8000_byte_ping_reassembles_and_the_reply_is_fragmented_back_RFC791_3_2()
    {
        var h = new SingleHost();
        h.Introduce();
        var fragments = FragmentedEcho(8000);
        Assert.Equal(6, fragments.Count);
        var sent = new List<byte[]>();
        foreach (var f in fragments) sent.AddRange(h.PushIp(f));
        Assert.Equal(6, sent.Count);
        var r = new Ipv4Reassembler();
        ReassembledDatagram whole = default;
        foreach (var frame in sent)
        {
            Assert.True(Ipv4Packet.TryParse(Frames.IpOf(frame), out var ip, out _));
            Assert.True(ip.ChecksumValid);
            Assert.True(ip.TotalLength <= 1500);
            if (r.Add(new Ipv4FragmentKey(ip.Source, ip.Destination, ip.Protocol, ip.Identification), ip.Header, ip.FragmentOffset,
                ip.MoreFragments, ip.Payload, 0, h.Now, out var d) == ReassemblyOutcome.Complete) whole = d;
        }
        Assert.True(Icmpv4Packet.TryParse(whole.Payload, out var reply, out _));
        Assert.Equal(Icmpv4Type.EchoReply, reply.Type);
        Assert.True(reply.ChecksumValid);
        Assert.Equal(Frames.Pattern(8000), reply.EchoData.ToArray());
        Ipv4Reassembler.Release(whole);
        Assert.Equal(1, h.Stack.Statistics.FragmentsReassembled);
        Assert.Equal(0, h.Stack.Ipv4.Reassembler.DatagramCount);
    }

    [Fact]
    public void Fragments_in_reverse_order_reassemble_too()
    {
        var h = new SingleHost();
        h.Introduce();
        var fragments = FragmentedEcho(3000);
        fragments.Reverse();
        var sent = new List<byte[]>();
        foreach (var f in fragments) sent.AddRange(h.PushIp(f));
        Assert.Equal(3, sent.Count);
    }

    [Fact]
    public void Reassembly_timeout_sends_time_exceeded_code_1_when_fragment_zero_arrived_RFC792()
    {
        var h = new SingleHost();
        h.Introduce();
        var fragments = FragmentedEcho(3000);
        h.PushIp(fragments[0]);
        Assert.Empty(h.Advance(TimeSpan.FromSeconds(29)));
        var sent = h.Advance(TimeSpan.FromSeconds(2));
        var frame = Assert.Single(sent);
        var icmp = Expect.Frame(frame).Ipv4().Icmpv4(Icmpv4Type.TimeExceeded, (byte)Icmpv4TimeExceededCode.FragmentReassemblyTimeExceeded);
        Assert.Equal(fragments[0].AsSpan(0, 548).ToArray(), icmp.IcmpOriginalDatagram);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.Ipv4ReassemblyTimeout));
    }

    [Fact]
    public void Reassembly_timeout_without_fragment_zero_sends_nothing()
    {
        var h = new SingleHost();
        h.Introduce();
        h.PushIp(FragmentedEcho(3000)[1]);
        Assert.Empty(h.Advance(TimeSpan.FromSeconds(31)));
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.Ipv4ReassemblyTimeout));
    }

    [Fact]
    public void Conflicting_overlap_discards_the_datagram_and_is_counted()
    {
        var h = new SingleHost();
        h.Introduce();
        var fragments = FragmentedEcho(3000);
        h.PushIp(fragments[0]);
        var evil = Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Icmp, 16, 64, 0, 99, false, true, 1472), Frames.Pattern(16, 200));
        h.PushIp(evil);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.Ipv4ReassemblyOverlap));
        Assert.Equal(0, h.Stack.Ipv4.Reassembler.DatagramCount);
    }

    [Fact]
    public void Oversized_fragment_train_is_discarded_ping_of_death()
    {
        var h = new SingleHost();
        h.Introduce();
        var data = Frames.Pattern(1480);
        for (int off = 0; off <= 65520; off += 1480)
            h.PushIp(Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Icmp, 1480, 64, 0, 5, false, true, off), data));
        Assert.True(h.Stack.Statistics.Drops(DropReason.Ipv4ReassemblyTooLarge) >= 1);
        Assert.Equal(0, h.Stack.Ipv4.Reassembler.DatagramCount);
    }

    [Fact]
    public void Fragment_flood_keeps_reassembly_within_its_limits()
    {
        var limits = ReassemblyLimits.Default with { MaxDatagrams = 16, MaxBytes = 256 * 1024 };
        var h = new SingleHost(new Ipv4Settings { GratuitousArpCount = 0, Reassembly = limits });
        h.Introduce();
        var data = Frames.Pattern(1480);
        var rnd = (IRandomSource)new SeededRandom(77);
        for (int i = 0; i < 3000; i++)
        {
            var frag = Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Udp, 1480, 64, 0, (ushort)rnd.Next(65536), false, true, rnd.Next(40) * 1480), data);
            h.PushIp(frag);
            Assert.True(h.Stack.Ipv4.Reassembler.DatagramCount <= 16, "seed 77");
            Assert.True(h.Stack.Ipv4.Reassembler.BytesHeld <= limits.MaxBytes, "seed 77");
        }
        Assert.True(h.Stack.Statistics.Drops(DropReason.Ipv4ReassemblyLimit) > 0);
    }

    [Fact]
    public void Large_send_is_fragmented_at_multiples_of_8_under_the_MTU()
    {
        var h = new SingleHost();
        h.Introduce();
        Assert.Equal(IpSendResult.Sent, h.Stack.Send(Us, Peer, IpProtocol.Udp, Frames.Pattern(4000), IpSendOptions.Default, h.Now));
        var sent = h.TakeSent();
        Assert.Equal(3, sent.Count);
        int expectOffset = 0;
        ushort? id = null;
        foreach (var f in sent)
        {
            var ip = Expect.Frame(f).Ipv4(fragmentOffset: expectOffset, identification: id);
            id ??= ip.Ipv4Identification;
            expectOffset += ip.Ipv4Header.PayloadLength;
        }
        Assert.Equal(4000, expectOffset);
        Assert.Equal(3, h.Stack.Statistics.FragmentsCreated);
    }
}
