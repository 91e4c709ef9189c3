using BenchmarkDotNet.Attributes;
using NetStack.Wire;

namespace NetStack.Benchmarks;

/// <summary>
/// Parse (with IPv4 header and UDP checksum verification) and emit (with both checksums) of
/// Ethernet + IPv4 + UDP frames. Both must allocate nothing.
/// </summary>
[MemoryDiagnoser]
public class WireBenchmarks
{
    private static readonly MacAddress SrcMac = new(0x02_00_00_00_00_01);
    private static readonly MacAddress DstMac = new(0x02_00_00_00_00_02);
    private static readonly Ipv4Address Src = new(192, 0, 2, 1);
    private static readonly Ipv4Address Dst = new(198, 51, 100, 2);

    private byte[] _frame = [];
    private byte[] _out = [];

    /// <summary>UDP payload bytes: a small datagram and a full 1500-byte-MTU one.</summary>
    [Params(18, 1472)]
    public int Payload { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _out = new byte[14 + 20 + 8 + Payload];
        new Random(7).NextBytes(_out.AsSpan(42));
        Emit();
        _frame = (byte[])_out.Clone();
        if (ParseEthernetIpv4Udp() < 0) throw new InvalidOperationException("emitted frame does not parse");
    }

    [Benchmark]
    public int ParseEthernetIpv4Udp()
    {
        if (!EthernetFrame.TryParse(_frame, out var eth, out _) || eth.EtherType != EtherType.Ipv4) return -1;
        if (!Ipv4Packet.TryParse(eth.Payload, out var ip, out _) || !ip.ChecksumValid || ip.Protocol != IpProtocol.Udp) return -2;
        if (!UdpDatagram.TryParse(ip.Payload, out var udp, out _) || !udp.VerifyChecksum(ip.Source, ip.Destination)) return -3;
        return udp.DestinationPort + udp.Payload.Length;
    }

    [Benchmark]
    public int Emit()
    {
        Span<byte> b = _out;
        int o = new EthernetRepr(SrcMac, DstMac, EtherType.Ipv4).Write(b);
        var udp = new UdpRepr(40000, 9, Payload);
        var ip = new Ipv4Repr(Src, Dst, IpProtocol.Udp, udp.BufferLength, Identification: 1, DontFragment: true);
        o += ip.Write(b[o..]);
        udp.Write(b[o..], Src, Dst); // payload already in place
        return o + udp.BufferLength;
    }
}
