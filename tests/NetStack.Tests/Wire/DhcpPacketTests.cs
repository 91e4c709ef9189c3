using NetStack.Tests.Support;
using CsCheck;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

public class DhcpPacketTests
{
    private static readonly MacAddress Mac = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly Ipv4Address Server = Ipv4Address.Parse("192.0.2.1");
    private static readonly Ipv4Address Offered = Ipv4Address.Parse("192.0.2.50");

    private static readonly Gen<Ipv4Address> GenIp = Gen.UInt.Select(v => new Ipv4Address(v));
    private static readonly Gen<Ipv4Address?> GenOptIp = Gen.Frequency((1, Gen.Const(default(Ipv4Address?))), (2, GenIp.Select(a => (Ipv4Address?)a)));
    private static readonly Gen<uint?> GenOptUInt = Gen.Frequency((1, Gen.Const(default(uint?))), (2, Gen.UInt.Select(a => (uint?)a)));
    private static readonly Gen<Ipv4Address[]?> GenList = Gen.Frequency((1, Gen.Const(default(Ipv4Address[]?))), (2, GenIp.Array[1, 5].Select(a => (Ipv4Address[]?)a)));
    private static readonly Gen<byte[]?> GenBytes = Gen.Frequency((1, Gen.Const(default(byte[]?))), (2, Gen.Byte.Array[2, 40].Select(a => (byte[]?)a)));

    internal static readonly Gen<DhcpRepr> GenRepr =
        Gen.Select(
            Gen.Select(Gen.OneOfConst(BootpOp.Request, BootpOp.Reply), Gen.Byte[1, 8].Select(b => (DhcpMessageType)b), Gen.UInt, Gen.UShort, Gen.Bool, GenIp, GenIp, Gen.ULong[0, 0xFFFF_FFFF_FFFF]),
            Gen.Select(GenOptIp, GenList, GenList, GenBytes, GenBytes, Gen.UShort.Select(u => (ushort?)u), GenOptIp, GenOptIp),
            Gen.Select(GenOptUInt, GenOptIp, GenBytes, GenOptUInt, GenOptUInt, GenBytes),
            (a, b, c) => new DhcpRepr
            {
                Op = a.Item1, MessageType = a.Item2, TransactionId = a.Item3, Seconds = a.Item4, Broadcast = a.Item5,
                ClientAddress = a.Item6, YourAddress = a.Item7, ClientMac = new MacAddress(a.Item8),
                SubnetMask = b.Item1, Routers = b.Item2, DnsServers = b.Item3, HostName = b.Item4, DomainName = b.Item5,
                InterfaceMtu = b.Item6, BroadcastAddress = b.Item7, RequestedAddress = b.Item8,
                LeaseTime = c.Item1, ServerIdentifier = c.Item2, ParameterRequestList = c.Item3,
                RenewalTime = c.Item4, RebindingTime = c.Item5, ClientIdentifier = c.Item6,
            });

    private static byte[] Write(DhcpRepr r)
    {
        var b = new byte[r.BufferLength];
        Assert.Equal(b.Length, r.Write(b));
        return b;
    }

    private static DhcpRepr Offer() => new()
    {
        Op = BootpOp.Reply, MessageType = DhcpMessageType.Offer, TransactionId = 0x12345678, ClientMac = Mac,
        YourAddress = Offered, ServerIdentifier = Server, SubnetMask = Ipv4Address.Parse("255.255.255.0"),
        Routers = [Server], DnsServers = [Server, Ipv4Address.Parse("192.0.2.2")], LeaseTime = 600,
        InterfaceMtu = 1400, DomainName = "example.test"u8.ToArray(),
    };

    [Fact]
    public void Written_messages_parse_back_to_the_same_bytes_and_fields()
    {
        GenRepr.Sample(r =>
        {
            var bytes = Write(r);
            Assert.True(DhcpPacket.TryParse(bytes, out var p, out var e), e.ToString());
            var back = p.ToRepr();
            Assert.Equal(bytes, Write(back));
            Assert.Equal(r.TransactionId, p.TransactionId);
            Assert.Equal(r.MessageType, p.MessageType);
            Assert.Equal(r.Broadcast, p.IsBroadcast);
            Assert.Equal(r.ClientMac, p.ClientMac);
            Assert.Equal(r.LeaseTime, p.LeaseTime);
            Assert.Equal(r.ServerIdentifier, p.ServerIdentifier);
            Assert.Equal(r.DnsServers?.Count ?? 0, p.DnsServers.Count);
        });
    }

    [Fact]
    public void Messages_are_padded_to_the_BOOTP_minimum_of_300_octets()
    {
        // RFC 1542 §2.1: a BOOTP message is at least 300 octets.
        var r = new DhcpRepr { Op = BootpOp.Request, MessageType = DhcpMessageType.Discover, ClientMac = Mac };
        Assert.Equal(300, Write(r).Length);
    }

    [Fact]
    public void Offer_fields_and_options_are_read_back()
    {
        Assert.True(DhcpPacket.TryParse(Write(Offer()), out var p, out _));
        Assert.Equal(BootpOp.Reply, p.Op);
        Assert.Equal(DhcpMessageType.Offer, p.MessageType);
        Assert.Equal(Offered, p.YourAddress);
        Assert.Equal(Server, p.ServerIdentifier);
        Assert.Equal(Ipv4Address.Parse("255.255.255.0"), p.SubnetMask);
        Assert.Equal(Server, p.Routers[0]);
        Assert.Equal(2, p.DnsServers.Count);
        Assert.Equal(Ipv4Address.Parse("192.0.2.2"), p.DnsServers[1]);
        Assert.Equal((uint)600, p.LeaseTime);
        Assert.Equal((ushort)1400, p.InterfaceMtu);
        Assert.True(p.DomainName.SequenceEqual("example.test"u8));
        Assert.Equal(6, p.HardwareLength);
        Assert.Equal(1, p.HardwareType);
    }

    [Fact]
    public void Parsing_and_reading_options_does_not_allocate()
    {
        var b = Write(Offer());
        static long Read(byte[] b)
        {
            Assert.True(DhcpPacket.TryParse(b, out var p, out _));
            return p.TransactionId + (p.LeaseTime ?? 0) + p.DnsServers[1].Value + (p.SubnetMask?.Value ?? 0) + p.DomainName.Length + (long)p.MessageType;
        }
        Assert.Equal(0, Allocations.SteadyState(() => Read(b)));
    }

    [Fact]
    public void Missing_magic_cookie_is_BadField()
    {
        // RFC 2131 §3: the first four octets of 'options' are 99.130.83.99.
        var b = Write(Offer());
        b[DhcpPacket.MagicOffset] = 0;
        Assert.False(DhcpPacket.TryParse(b, out _, out var e));
        Assert.Equal(WireError.BadField, e);
    }

    [Fact]
    public void Unknown_op_is_BadField()
    {
        var b = Write(Offer());
        b[0] = 3;
        Assert.False(DhcpPacket.TryParse(b, out _, out var e));
        Assert.Equal(WireError.BadField, e);
    }

    [Fact]
    public void Option_overrunning_the_message_is_BadOption()
    {
        var b = Write(Offer());
        // The first option (message type, at 240) claims 200 octets in a 260-octet buffer.
        b[241] = 200;
        Assert.False(DhcpPacket.TryParse(b.AsSpan(0, 260), out _, out var e));
        Assert.Equal(WireError.BadOption, e);
    }

    [Fact]
    public void Subnet_mask_of_the_wrong_length_is_BadOption()
    {
        // RFC 2132 §3.3: the subnet mask option is 4 octets.
        var b = new byte[300];
        new DhcpRepr { Op = BootpOp.Reply, ClientMac = Mac }.Write(b);
        ReadOnlySpan<byte> opts = [DhcpOptionCode.SubnetMask, 3, 255, 255, 255, DhcpOptionCode.End];
        opts.CopyTo(b.AsSpan(240));
        Assert.False(DhcpPacket.TryParse(b, out _, out var e));
        Assert.Equal(WireError.BadOption, e);
    }

    [Fact]
    public void Options_in_an_overloaded_file_field_are_found()
    {
        // RFC 2132 §9.3: overload value 1 means 'file' holds options, read after the options field.
        var b = new byte[300];
        new DhcpRepr { Op = BootpOp.Reply, ClientMac = Mac }.Write(b);
        ReadOnlySpan<byte> opts = [DhcpOptionCode.Overload, 1, 1, DhcpOptionCode.MessageType, 1, 5, DhcpOptionCode.End];
        opts.CopyTo(b.AsSpan(240));
        ReadOnlySpan<byte> file = [DhcpOptionCode.LeaseTime, 4, 0, 0, 1, 0, DhcpOptionCode.End];
        file.CopyTo(b.AsSpan(DhcpPacket.FileOffset));
        Assert.True(DhcpPacket.TryParse(b, out var p, out _));
        Assert.Equal(1, p.Overload);
        Assert.Equal(DhcpMessageType.Ack, p.MessageType);
        Assert.Equal((uint)256, p.LeaseTime);
        Assert.True(p.BootFile.IsEmpty);
    }

    [Fact]
    public void Bad_option_inside_an_overloaded_sname_field_is_BadOption()
    {
        var b = new byte[300];
        new DhcpRepr { Op = BootpOp.Reply, ClientMac = Mac }.Write(b);
        ReadOnlySpan<byte> opts = [DhcpOptionCode.Overload, 1, 2, DhcpOptionCode.End];
        opts.CopyTo(b.AsSpan(240));
        b[DhcpPacket.SnameOffset + 62] = 12; // host name whose length runs past the 64-octet field
        b[DhcpPacket.SnameOffset + 63] = 10;
        Assert.False(DhcpPacket.TryParse(b, out _, out var e));
        Assert.Equal(WireError.BadOption, e);
    }

    [Fact]
    public void Truncation_at_every_length_never_throws_and_is_categorized()
    {
        var b = Write(Offer());
        for (int n = 0; n < b.Length; n++)
        {
            bool ok = DhcpPacket.TryParse(b.AsSpan(0, n), out _, out var e);
            if (n < DhcpPacket.MinLength) Assert.Equal(WireError.Truncated, e);
            else if (!ok) Assert.Equal(WireError.BadOption, e);
        }
    }

    [Fact]
    public void Random_bytes_never_throw_and_accepted_ones_read_without_throwing()
    {
        Gen.Byte.Array[0, 400].Sample(bytes =>
        {
            if (bytes.Length >= 240) { bytes[0] = 2; bytes[2] = 6; bytes[236] = 99; bytes[237] = 130; bytes[238] = 83; bytes[239] = 99; }
            if (DhcpPacket.TryParse(bytes, out var p, out _))
            {
                _ = p.ToRepr();
                foreach (var o in p.Options) _ = o.Value.Length;
            }
        });
    }
}
