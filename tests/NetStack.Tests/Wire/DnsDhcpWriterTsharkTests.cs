using System.Buffers.Binary;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>
/// What our writers emit, checked by an independent decoder: the messages are wrapped in Ethernet / IPv4 /
/// UDP, written to a classic pcap, and read back with tshark, which must find the same fields and no
/// malformed packet.
/// </summary>
public class DnsDhcpWriterTsharkTests
{
    private static readonly MacAddress Mac = MacAddress.Parse("02:00:00:00:00:01");

    [Fact]
    public void Tshark_decodes_our_DHCP_messages_with_their_options()
    {
        var server = Ipv4Address.Parse("192.0.2.1");
        var yiaddr = Ipv4Address.Parse("192.0.2.50");
        DhcpRepr[] messages =
        [
            new() { Op = BootpOp.Request, MessageType = DhcpMessageType.Discover, TransactionId = 0xA1B2C3D4, ClientMac = Mac, Broadcast = true,
                ParameterRequestList = [1, 3, 6, 15], ClientIdentifier = [1, 2, 0, 0, 0, 0, 1], HostName = "client1"u8.ToArray() },
            new() { Op = BootpOp.Reply, MessageType = DhcpMessageType.Offer, TransactionId = 0xA1B2C3D4, ClientMac = Mac, YourAddress = yiaddr,
                ServerIdentifier = server, SubnetMask = Ipv4Address.Parse("255.255.255.0"), Routers = [server],
                DnsServers = [server, Ipv4Address.Parse("192.0.2.2")], LeaseTime = 3600, RenewalTime = 1800, RebindingTime = 3150,
                InterfaceMtu = 1400, BroadcastAddress = Ipv4Address.Parse("192.0.2.255"), DomainName = "example.test"u8.ToArray() },
            new() { Op = BootpOp.Request, MessageType = DhcpMessageType.Request, TransactionId = 0xA1B2C3D4, ClientMac = Mac,
                ServerIdentifier = server, RequestedAddress = yiaddr },
        ];
        var frames = messages.Select(m =>
        {
            var b = new byte[m.BufferLength];
            m.Write(b);
            return Frame(Ipv4Address.Any, Ipv4Address.Broadcast, m.Op == BootpOp.Request ? (ushort)68 : (ushort)67,
                m.Op == BootpOp.Request ? (ushort)67 : (ushort)68, b);
        }).ToList();
        var rows = Decode(frames, "dhcp.option.dhcp", "dhcp.id", "dhcp.hw.mac_addr", "dhcp.flags.bc", "dhcp.option.subnet_mask",
            "dhcp.option.router", "dhcp.option.domain_name_server", "dhcp.option.ip_address_lease_time", "dhcp.option.renewal_time_value",
            "dhcp.option.rebinding_time_value", "dhcp.option.interface_mtu", "dhcp.option.domain_name", "dhcp.option.requested_ip_address",
            "dhcp.option.dhcp_server_id", "dhcp.option.hostname", "_ws.malformed", "_ws.expert.severity");
        Assert.Equal(3, rows.Count);
        Assert.Equal(["1", "0xa1b2c3d4"], rows[0][..2]);
        // chaddr, and the client identifier (type 1 + MAC) which tshark also shows as a hardware address.
        Assert.All(rows[0][2].Split(','), mac => Assert.Equal("02:00:00:00:00:01", mac));
        Assert.True(rows[0][3] is "1" or "True");
        Assert.Equal("client1", rows[0][14]);
        Assert.Equal(["2", "0xa1b2c3d4"], rows[1][..2]);
        Assert.Equal(["255.255.255.0", "192.0.2.1", "192.0.2.1,192.0.2.2", "3600", "1800", "3150", "1400", "example.test"], rows[1][4..12]);
        Assert.Equal("192.0.2.1", rows[1][13]);
        Assert.Equal(["192.0.2.50", "192.0.2.1"], rows[2][12..14]);
        Assert.All(rows, r => Assert.Equal("", r[15]));
    }

    [Fact]
    public void Tshark_decodes_our_compressed_DNS_messages()
    {
        var q = new byte[512];
        var wq = new DnsWriter(q, new DnsHeader(0x1234));
        Assert.True(wq.TryAddQuestion("www.example.test", DnsType.A));
        var r = new byte[512];
        var w = new DnsWriter(r, new DnsHeader(0x1234, IsResponse: true, RecursionAvailable: true));
        Assert.True(w.TryAddQuestion("www.example.test", DnsType.A));
        Assert.True(w.TryAddNameRecord(DnsSection.Answer, "www.example.test", DnsType.CNAME, 300, "web.example.test"));
        Assert.True(w.TryAddA(DnsSection.Answer, "web.example.test", 60, Ipv4Address.Parse("192.0.2.7")));
        Assert.True(w.TryAddA(DnsSection.Answer, "web.example.test", 60, Ipv4Address.Parse("192.0.2.8")));
        Assert.True(w.TryAddSoa(DnsSection.Authority, "example.test", 3600, "ns.example.test", "hostmaster.example.test", 1, 2, 3, 4, 30));
        var client = Ipv4Address.Parse("192.0.2.10");
        var server = Ipv4Address.Parse("192.0.2.53");
        var rows = Decode(
            [Frame(client, server, 40000, 53, q.AsSpan(0, wq.Length).ToArray()), Frame(server, client, 53, 40000, r.AsSpan(0, w.Length).ToArray())],
            "dns.id", "dns.flags.response", "dns.qry.name", "dns.count.answers", "dns.cname", "dns.a", "dns.soa.mname", "dns.soa.rname",
            "dns.soa.minimum_ttl", "_ws.malformed");
        Assert.Equal(2, rows.Count);
        Assert.Equal(["0x1234", "www.example.test"], [rows[0][0], rows[0][2]]);
        Assert.Equal(["0x1234", "www.example.test", "3", "web.example.test", "192.0.2.7,192.0.2.8", "ns.example.test", "hostmaster.example.test", "30"],
            [rows[1][0], .. rows[1][2..9]]);
        Assert.All(rows, row => Assert.Equal("", row[9]));
    }

    /// <summary>Ethernet + IPv4 (no options, valid header checksum) + UDP (checksum 0, allowed over IPv4).</summary>
    private static byte[] Frame(Ipv4Address src, Ipv4Address dst, ushort sport, ushort dport, byte[] payload)
    {
        var f = new byte[14 + 20 + 8 + payload.Length];
        new EthernetRepr(Mac, MacAddress.Broadcast, EtherType.Ipv4).Write(f);
        var ip = f.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payload.Length));
        ip[8] = 64;
        ip[9] = 17;
        src.Write(ip[12..]);
        dst.Write(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum.Compute(ip[..20]));
        var udp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, sport);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], dport);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload.Length));
        payload.CopyTo(udp[8..]);
        return f;
    }

    private static List<string[]> Decode(IReadOnlyList<byte[]> frames, params string[] fields)
    {
        string path = Path.Combine(Path.GetTempPath(), $"netstack-wireapp-{Guid.NewGuid():N}.pcap");
        try
        {
            using (var fs = File.Create(path))
            {
                Span<byte> h = stackalloc byte[24];
                BinaryPrimitives.WriteUInt32LittleEndian(h, 0xA1B2C3D4);
                BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 2);
                BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 4);
                BinaryPrimitives.WriteUInt32LittleEndian(h[16..], 65535);
                BinaryPrimitives.WriteUInt32LittleEndian(h[20..], 1); // LINKTYPE_ETHERNET
                fs.Write(h);
                Span<byte> rec = stackalloc byte[16];
                foreach (var f in frames)
                {
                    rec.Clear();
                    BinaryPrimitives.WriteUInt32LittleEndian(rec[8..], (uint)f.Length);
                    BinaryPrimitives.WriteUInt32LittleEndian(rec[12..], (uint)f.Length);
                    fs.Write(rec);
                    fs.Write(f);
                }
            }
            return DhcpPcapTests.Tshark(path, fields);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
