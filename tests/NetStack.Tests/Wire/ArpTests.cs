using CsCheck;
using NetStack.Tests.Support;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>RFC 826 ARP for Ethernet and IPv4.</summary>
public class ArpTests
{
    private static readonly Gen<Ipv4Address> GenIp = Gen.UInt.Select(v => new Ipv4Address(v));

    private static byte[] Sample() =>
        Build(ArpRepr.Request(new MacAddress(0x02_00_00_00_00_01), new Ipv4Address(192, 0, 2, 1), new Ipv4Address(192, 0, 2, 2)));

    private static byte[] Build(ArpRepr repr)
    {
        var b = new byte[repr.BufferLength];
        repr.Write(b);
        return b;
    }

    [Fact]
    public void Requests_and_replies_round_trip()
    {
        Gen.Select(Gen.OneOfConst(ArpOperation.Request, ArpOperation.Reply), EthernetTests.GenMac, GenIp, EthernetTests.GenMac, GenIp)
            .Sample((op, sha, spa, tha, tpa) =>
            {
                var repr = new ArpRepr(op, sha, spa, tha, tpa);
                Assert.True(ArpPacket.TryParse(Build(repr), out var arp, out var error), error.ToString());
                Assert.Equal(repr, arp.ToRepr());
            });
    }

    [Fact]
    public void Ethernet_padding_after_the_packet_is_ignored()
    {
        var b = new byte[46];
        Sample().CopyTo(b, 0);
        Assert.True(ArpPacket.TryParse(b, out var arp, out _));
        Assert.Equal(ArpPacket.Length, arp.Bytes.Length);
    }

    [Fact]
    public void Reply_swaps_sender_and_target()
    {
        var request = ArpRepr.Request(new MacAddress(1), new Ipv4Address(192, 0, 2, 1), new Ipv4Address(192, 0, 2, 2));
        var reply = ArpRepr.ReplyTo(request, new MacAddress(2));
        Assert.Equal(new ArpRepr(ArpOperation.Reply, new MacAddress(2), new Ipv4Address(192, 0, 2, 2), new MacAddress(1), new Ipv4Address(192, 0, 2, 1)), reply);
    }

    [Theory]
    [InlineData(1, 6)]    // hardware type 6 (IEEE 802)
    [InlineData(3, 0x86)] // protocol type 0x86DD
    [InlineData(4, 8)]    // hardware length 8
    [InlineData(5, 16)]   // protocol length 16
    [InlineData(7, 3)]    // RARP request (RFC 903)
    public void Other_address_types_sizes_or_operations_are_Unsupported(int offset, byte value)
    {
        var b = Sample();
        b[offset] = value;
        Assert.False(ArpPacket.TryParse(b, out _, out var error));
        Assert.Equal(WireError.Unsupported, error);
    }

    [Fact]
    public void Every_truncation_is_Truncated()
    {
        var b = Sample();
        for (int n = 0; n < b.Length; n++)
        {
            Assert.False(ArpPacket.TryParse(b.AsSpan(0, n), out _, out var error));
            Assert.Equal(WireError.Truncated, error);
        }
    }

    [Theory]
    [InlineData("cs-arp_resolution.pcapng")]
    [InlineData("zeek-icmp_dot1q.pcap")]
    public void Decoded_fields_agree_with_tshark(string file)
    {
        var rows = Tshark.Fields(file, ["arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.hw_mac", "arp.dst.proto_ipv4"], "arp");
        Assert.NotEmpty(rows);
        var frames = Captures.Read(file);
        foreach (var (number, row) in rows)
        {
            var d = EthernetDecoder.Decode(frames[number - 1].Data);
            Assert.True(d.Arp.HasValue, $"frame {number}: {d.FailedLayer} {d.Error}");
            var arp = d.Arp.Value;
            Assert.Equal(Tshark.Number(row[0]), (int)arp.Operation);
            Assert.Equal(row[1], arp.SenderHardwareAddress.ToString());
            Assert.Equal(row[2], arp.SenderProtocolAddress.ToString());
            Assert.Equal(row[3], arp.TargetHardwareAddress.ToString());
            Assert.Equal(row[4], arp.TargetProtocolAddress.ToString());
        }
    }
}
