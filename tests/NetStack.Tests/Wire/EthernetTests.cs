using CsCheck;
using NetStack.Tests.Support;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>Ethernet II with IEEE 802.1Q and 802.1ad tags.</summary>
public class EthernetTests
{
    internal static readonly Gen<MacAddress> GenMac = Gen.ULong[0, 0xFFFF_FFFF_FFFFUL].Select(v => new MacAddress(v));

    private static readonly Gen<VlanTag> GenTag = Gen.Select(Gen.Int[0, 4095], Gen.Int[0, 7], Gen.Bool)
        .Select((vid, pcp, dei) => VlanTag.Create(EtherType.Vlan, vid, pcp, dei));

    private static readonly Gen<EtherType> GenType = Gen.OneOfConst(EtherType.Ipv4, EtherType.Ipv6, EtherType.Arp, (EtherType)0x88CC);

    [Fact]
    public void Untagged_single_tagged_and_qinq_headers_round_trip()
    {
        Gen.Select(GenMac, GenMac, GenType, Gen.Int[0, 2], GenTag, GenTag, Gen.Byte.Array[0, 64]).Sample((src, dst, type, tags, t1, t2, payload) =>
        {
            // 802.1ad: with two tags the outer one is an S-tag (TPID 0x88A8).
            VlanTag? outer = tags switch { 0 => null, 1 => t1, _ => t1 with { Tpid = (ushort)EtherType.QinQ } };
            VlanTag? inner = tags == 2 ? t2 : null;
            var repr = new EthernetRepr(src, dst, type, outer, inner);
            var buffer = new byte[repr.HeaderLength + payload.Length];
            Assert.Equal(repr.HeaderLength, repr.Write(buffer));
            payload.CopyTo(buffer, repr.HeaderLength);

            Assert.True(EthernetFrame.TryParse(buffer, out var frame, out var error), error.ToString());
            Assert.Equal(repr, frame.ToRepr());
            Assert.Equal(tags, frame.TagCount);
            Assert.Equal(repr.HeaderLength, frame.HeaderSize);
            Assert.True(frame.Payload.SequenceEqual(payload));
            if (outer is { } o) Assert.Equal(o.Vid, frame.Tag(0).Vid);
        });
    }

    [Fact]
    public void Three_tags_are_refused_as_TooLong()
    {
        var repr = new EthernetRepr(new MacAddress(1), new MacAddress(2), EtherType.Vlan,
            VlanTag.Create(EtherType.QinQ, 10), VlanTag.Create(EtherType.Vlan, 20));
        var buffer = new byte[30];
        repr.Write(buffer);
        // The inner EtherType says "another tag": 0x8100 then a TCI then an EtherType.
        buffer[22] = 0; buffer[23] = 30; buffer[24] = 0x08; buffer[25] = 0x00;
        Assert.False(EthernetFrame.TryParse(buffer, out _, out var error));
        Assert.Equal(WireError.TooLong, error);
    }

    [Fact]
    public void An_802_3_length_field_is_Unsupported()
    {
        var buffer = new byte[60];
        buffer[12] = 0x00; buffer[13] = 0x2E; // length 46, not an EtherType (IEEE 802.3 §3.2.6)
        Assert.False(EthernetFrame.TryParse(buffer, out _, out var error));
        Assert.Equal(WireError.Unsupported, error);
    }

    [Fact]
    public void Every_prefix_of_every_captured_frame_decodes_without_throwing()
    {
        int frames = 0;
        foreach (var name in Captures.All())
        {
            foreach (var f in Captures.Read(name))
            {
                if (f.LinkType != Captures.LinkTypeEthernet) continue;
                frames++;
                for (int n = 0; n <= f.Data.Length; n++) _ = EthernetDecoder.Decode(f.Data.AsSpan(0, n));
            }
        }
        Assert.True(frames > 200, $"only {frames} Ethernet frames found");
    }

    [Fact]
    public void The_vlan_tag_of_a_dot1q_capture_agrees_with_tshark()
    {
        const string file = "zeek-icmp_dot1q.pcap";
        var rows = Tshark.Fields(file, ["vlan.id", "vlan.priority", "eth.src", "eth.dst"]);
        foreach (var f in Captures.Read(file))
        {
            Assert.True(EthernetFrame.TryParse(f.Data, out var eth, out _), f.ToString());
            var row = rows[f.Number];
            if (row[0].Length == 0) { Assert.Equal(0, eth.TagCount); continue; }
            Assert.Equal(1, eth.TagCount);
            Assert.Equal(Tshark.Number(row[0]), eth.Tag(0).Vid);
            Assert.Equal(Tshark.Number(row[1]), eth.Tag(0).Pcp);
            Assert.Equal(row[2], eth.Source.ToString());
            Assert.Equal(row[3], eth.Destination.ToString());
        }
    }
}
