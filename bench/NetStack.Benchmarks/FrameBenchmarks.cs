using BenchmarkDotNet.Attributes;
using NetStack.Wire;

namespace NetStack.Benchmarks;

/// <summary>
/// Parse (every header validated, transport checksum verified over the pseudo-header) and emit (all checksums computed)
/// of Ethernet + IPv4 + TCP (with timestamps, as a bulk-transfer segment carries) and Ethernet + IPv6 + UDP frames.
/// Both must allocate nothing.
/// </summary>
[MemoryDiagnoser]
public class FrameBenchmarks
{
    private static readonly MacAddress SrcMac = new(0x02_00_00_00_00_01);
    private static readonly MacAddress DstMac = new(0x02_00_00_00_00_02);
    private static readonly Ipv4Address Src4 = new(192, 0, 2, 1);
    private static readonly Ipv4Address Dst4 = new(198, 51, 100, 2);
    private static readonly Ipv6Address Src6 = Ipv6Address.Parse("2001:db8:1::1");
    private static readonly Ipv6Address Dst6 = Ipv6Address.Parse("2001:db8:2::2");

    private byte[] _tcpFrame = [];
    private byte[] _udp6Frame = [];
    private byte[] _out = [];
    private byte[] _payload = [];

    /// <summary>Transport payload bytes: a small message and a full 1500-byte-MTU segment.</summary>
    [Params(18, 1400)]
    public int Payload { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _payload = new byte[Payload];
        new Random(7).NextBytes(_payload);
        _out = new byte[14 + 40 + 40 + Payload];
        _tcpFrame = _out.AsSpan(0, EmitEthernetIpv4Tcp()).ToArray();
        _udp6Frame = _out.AsSpan(0, EmitEthernetIpv6Udp()).ToArray();
        if (ParseEthernetIpv4Tcp() < 0 || ParseEthernetIpv6Udp() < 0) throw new InvalidOperationException("emitted frames do not parse");
    }

    [Benchmark]
    public int ParseEthernetIpv4Tcp()
    {
        if (!EthernetFrame.TryParse(_tcpFrame, out var eth, out _) || eth.EtherType != EtherType.Ipv4) return -1;
        if (!Ipv4Packet.TryParse(eth.Payload, out var ip, out _) || !ip.ChecksumValid || ip.Protocol != IpProtocol.Tcp) return -2;
        if (!TcpSegment.TryParse(ip.Payload, out var tcp, out _) || !tcp.VerifyChecksum(ip.Source, ip.Destination)) return -3;
        return tcp.DestinationPort + tcp.Payload.Length;
    }

    [Benchmark]
    public int EmitEthernetIpv4Tcp()
    {
        Span<byte> b = _out;
        int o = new EthernetRepr(SrcMac, DstMac, EtherType.Ipv4).Write(b);
        var tcp = new TcpRepr
        {
            SourcePort = 40000, DestinationPort = 80, SequenceNumber = new SeqNumber(1000), AckNumber = new SeqNumber(2000),
            Flags = TcpFlags.Ack | TcpFlags.Psh, Window = 501, Timestamps = new TcpTimestamps(12345, 678),
        };
        var ip = new Ipv4Repr(Src4, Dst4, IpProtocol.Tcp, tcp.BufferLength(Payload), Identification: 1, DontFragment: true);
        o += ip.Write(b[o..]);
        tcp.Write(b[o..], _payload, Src4, Dst4);
        return o + tcp.BufferLength(Payload);
    }

    [Benchmark]
    public int ParseEthernetIpv6Udp()
    {
        if (!EthernetFrame.TryParse(_udp6Frame, out var eth, out _) || eth.EtherType != EtherType.Ipv6) return -1;
        if (!Ipv6Packet.TryParse(eth.Payload, out var ip, out _)) return -2;
        if (!Ipv6HeaderChain.TryParse(ip, out var chain, out _) || chain.Protocol != IpProtocol.Udp) return -3;
        if (!UdpDatagram.TryParse(ip.Bytes[chain.ProtocolOffset..], out var udp, out _) || !udp.VerifyChecksum(ip.Source, ip.Destination)) return -4;
        return udp.DestinationPort + udp.Payload.Length;
    }

    [Benchmark]
    public int EmitEthernetIpv6Udp()
    {
        Span<byte> b = _out;
        int o = new EthernetRepr(SrcMac, DstMac, EtherType.Ipv6).Write(b);
        var udp = new UdpRepr(40000, 53, Payload);
        o += new Ipv6Repr(Src6, Dst6, IpProtocol.Udp, udp.BufferLength, 64).Write(b[o..]);
        udp.Write(b[o..], Src6, Dst6, _payload);
        return o + udp.BufferLength;
    }
}
