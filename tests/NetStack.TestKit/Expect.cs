using System.Globalization;
using System.Text;
using NetStack.Wire;
using Xunit.Sdk;

namespace NetStack.TestKit;

/// <summary>
/// A terse packet checker for what a stack emitted, in the spirit of gVisor's <c>pkg/tcpip/checker</c>: each call parses
/// one layer with the core's wire views, checks the fields given (an argument left out is not checked) and the layer's
/// checksum, and moves inward. A failure names the field and prints the whole frame decoded, layer by layer:
/// <code>
/// Expect.Frame(f).Ethernet(dst: peerMac).Ipv4(src, dst, ttl: 64).Tcp(srcPort: 80, flags: TcpFlags.Syn | TcpFlags.Ack, mss: 1460);
/// Expect.Packet(ipBytes).Ip(src, dst).Udp(dstPort: 53);      // an IP packet of either family, no Ethernet header
/// Expect.Segment(tcpBytes, src, dst).Tcp(flags: TcpFlags.Rst); // a bare transport payload, checksummed over src/dst
/// </code>
/// The returned <see cref="PacketCheck"/> keeps what it parsed (<see cref="PacketCheck.TcpHeader"/>,
/// <see cref="PacketCheck.Payload"/>, ...) for the assertions the checker has no argument for.
/// </summary>
internal static class Expect
{
    /// <summary>An Ethernet frame: start with <see cref="PacketCheck.Ethernet"/> (or go straight to an IP layer).</summary>
    public static PacketCheck Frame(ReadOnlySpan<byte> frame) => new(frame.ToArray(), ethernet: true);

    /// <summary>An IP packet (IPv4 or IPv6 by its version nibble) with no link header.</summary>
    public static PacketCheck Packet(ReadOnlySpan<byte> packet) => new(packet.ToArray(), ethernet: false);

    /// <summary>A transport payload (TCP, UDP, ICMP) that was handed to IP with these addresses.</summary>
    public static PacketCheck Segment(ReadOnlySpan<byte> transport, IpAddress source, IpAddress destination) =>
        PacketCheck.ForTransport(transport.ToArray(), source, destination);

    /// <summary>One line a frame: every layer the wire views can read (what the failure messages print).</summary>
    public static string Describe(ReadOnlySpan<byte> frame) => FrameText.Describe(frame, ethernet: true);
}

/// <summary>The state of one <see cref="Expect"/> chain: the bytes, and where each layer found so far begins.</summary>
internal sealed class PacketCheck
{
    private readonly byte[] _bytes;
    private readonly bool _ethernet;
    private int _ipOffset = -1;       // start of the IP header in _bytes
    private int _ipEnd;               // end of the IP packet (total length) in _bytes
    private int _l4Offset = -1;       // start of the transport header
    private int _l4End;
    private IpProtocol _l4Protocol;
    private bool _pseudoOnly;         // a bare transport payload: no IP header to check

    internal PacketCheck(byte[] bytes, bool ethernet)
    {
        _bytes = bytes;
        _ethernet = ethernet;
        if (!ethernet) _ipOffset = 0;
    }

    internal static PacketCheck ForTransport(byte[] bytes, IpAddress source, IpAddress destination)
    {
        var c = new PacketCheck(bytes, ethernet: false) { _pseudoOnly = true, Source = source, Destination = destination, _l4Offset = 0, _l4End = bytes.Length };
        return c;
    }

    /// <summary>The bytes under check (the frame, packet or segment given).</summary>
    public byte[] Bytes => _bytes;
    /// <summary>The IP source, once an IP layer (or <see cref="Expect.Segment"/>) was checked.</summary>
    public IpAddress Source { get; private set; }
    /// <summary>The IP destination, once an IP layer was checked.</summary>
    public IpAddress Destination { get; private set; }
    /// <summary>The Ethernet header, once checked.</summary>
    public EthernetRepr EthernetHeader { get; private set; }
    /// <summary>The IPv4 header, once checked.</summary>
    public Ipv4Repr Ipv4Header { get; private set; }
    /// <summary>The IPv4 identification field, once checked.</summary>
    public ushort Ipv4Identification { get; private set; }
    /// <summary>The IPv6 header, once checked.</summary>
    public Ipv6Repr Ipv6Header { get; private set; }
    /// <summary>The TCP header and options, once checked.</summary>
    public TcpRepr TcpHeader { get; private set; }
    /// <summary>The UDP header, once checked.</summary>
    public UdpRepr UdpHeader { get; private set; }
    /// <summary>The IP packet (header included), once an IP layer was checked.</summary>
    public byte[] IpBytes => _bytes[_ipOffset.._ipEnd];
    /// <summary>The innermost payload checked so far: the transport's payload (TCP, UDP), the ICMP message, or the IP payload.</summary>
    public byte[] Payload { get; private set; } = [];
    /// <summary>The IPv4 options (the header past its first 20 bytes), once IPv4 was checked.</summary>
    public byte[] Ipv4Options { get; private set; } = [];
    /// <summary>The ICMP type and code (either family), once checked.</summary>
    public (byte Type, byte Code) IcmpTypeCode { get; private set; }
    /// <summary>The ICMP identifier and sequence number (echo messages), once checked.</summary>
    public (ushort Identifier, ushort Sequence) IcmpEcho { get; private set; }
    /// <summary>What follows the 8-byte ICMP header: an echo's data, or an error's quote (RFC 4884 extension included).</summary>
    public byte[] IcmpBody { get; private set; } = [];
    /// <summary>An ICMPv4 message past its header without any RFC 4884 extension (an error's quote), once checked.</summary>
    public byte[] IcmpOriginalDatagram { get; private set; } = [];
    /// <summary>The whole transport message (header included): TCP segment, UDP datagram or ICMP message.</summary>
    public byte[] Transport => _l4Offset < 0 ? [] : _bytes[_l4Offset.._l4End];

    /// <summary>Checks the Ethernet header.</summary>
    public PacketCheck Ethernet(MacAddress? src = null, MacAddress? dst = null, EtherType? type = null)
    {
        if (!_ethernet) Fail("Ethernet", "no Ethernet header (Expect.Packet)");
        if (!EthernetFrame.TryParse(_bytes, out var eth, out var err)) Fail("Ethernet", $"does not parse: {err}");
        EthernetHeader = eth.ToRepr();
        Field("Ethernet source", src, eth.Source);
        Field("Ethernet destination", dst, eth.Destination);
        Field("EtherType", type, eth.EtherType);
        return this;
    }

    /// <summary>Checks an ARP packet in the frame.</summary>
    public PacketCheck Arp(ArpOperation? op = null, MacAddress? senderMac = null, Ipv4Address? senderIp = null,
        MacAddress? targetMac = null, Ipv4Address? targetIp = null)
    {
        var payload = LinkPayload(EtherType.Arp, "ARP");
        if (!ArpPacket.TryParse(payload, out var arp, out var err)) Fail("ARP", $"does not parse: {err}");
        Field("ARP operation", op, arp.Operation);
        Field("ARP sender MAC", senderMac, arp.SenderHardwareAddress);
        Field("ARP sender IP", senderIp, arp.SenderProtocolAddress);
        Field("ARP target MAC", targetMac, arp.TargetHardwareAddress);
        Field("ARP target IP", targetIp, arp.TargetProtocolAddress);
        return this;
    }

    /// <summary>Checks an IPv4 header (its checksum always) and finds the transport inside.</summary>
    public PacketCheck Ipv4(Ipv4Address? src = null, Ipv4Address? dst = null, byte? ttl = null, IpProtocol? protocol = null,
        bool? dontFragment = null, bool? moreFragments = null, int? fragmentOffset = null, int? dscp = null, EcnCodepoint? ecn = null,
        int? headerLength = null, ushort? identification = null)
    {
        int start = IpStart(EtherType.Ipv4, "IPv4");
        if (!Ipv4Packet.TryParse(_bytes.AsSpan(start), out var ip, out var err)) Fail("IPv4", $"does not parse: {err}");
        if (!ip.ChecksumValid) Fail("IPv4", "header checksum is wrong");
        Ipv4Header = ip.ToRepr();
        Ipv4Identification = ip.Identification;
        Source = ip.Source;
        Destination = ip.Destination;
        Field("IPv4 source", src, ip.Source);
        Field("IPv4 destination", dst, ip.Destination);
        Field("IPv4 TTL", ttl, ip.Ttl);
        Field("IPv4 protocol", protocol, ip.Protocol);
        Field("IPv4 DF", dontFragment, ip.DontFragment);
        Field("IPv4 MF", moreFragments, ip.MoreFragments);
        Field("IPv4 fragment offset", fragmentOffset, ip.FragmentOffset);
        Field("IPv4 DSCP", dscp, ip.Dscp);
        Field("IPv4 ECN", ecn, ip.Ecn);
        Field("IPv4 header length", headerLength, ip.HeaderLength);
        Field("IPv4 identification", identification, ip.Identification);
        Ipv4Options = ip.Options.ToArray();
        _ipEnd = start + ip.Bytes.Length;
        _l4Protocol = ip.Protocol;
        _l4Offset = ip.FragmentOffset == 0 ? start + ip.HeaderLength : -1;
        _l4End = _ipEnd;
        Payload = ip.Payload.ToArray();
        return this;
    }

    /// <summary>Checks an IPv6 header and walks its extension headers to the upper layer.</summary>
    public PacketCheck Ipv6(Ipv6Address? src = null, Ipv6Address? dst = null, byte? hopLimit = null, IpProtocol? nextHeader = null,
        IpProtocol? upperLayer = null, int? trafficClass = null, uint? flowLabel = null)
    {
        int start = IpStart(EtherType.Ipv6, "IPv6");
        if (!Ipv6Packet.TryParse(_bytes.AsSpan(start), out var ip, out var err)) Fail("IPv6", $"does not parse: {err}");
        Ipv6Header = ip.ToRepr();
        Source = ip.Source;
        Destination = ip.Destination;
        Field("IPv6 source", src, ip.Source);
        Field("IPv6 destination", dst, ip.Destination);
        Field("IPv6 hop limit", hopLimit, ip.HopLimit);
        Field("IPv6 next header", nextHeader, ip.NextHeader);
        Field("IPv6 traffic class", trafficClass, (int)ip.TrafficClass);
        Field("IPv6 flow label", flowLabel, ip.FlowLabel);
        _ipEnd = start + Ipv6Packet.HeaderLength + ip.PayloadLength;
        if (!Ipv6HeaderChain.TryParse(ip, out var chain, out err)) Fail("IPv6", $"extension header chain does not parse: {err}");
        if (chain.End == Ipv6ChainEnd.UpperLayer)
        {
            _l4Protocol = chain.Protocol;
            _l4Offset = start + chain.ProtocolOffset;
        }
        else _l4Offset = -1;
        Field("IPv6 upper-layer protocol", upperLayer, _l4Offset < 0 ? (IpProtocol?)null : chain.Protocol);
        _l4End = _ipEnd;
        Payload = ip.Payload.ToArray();
        return this;
    }

    /// <summary>Checks the IP header of either family (whichever the packet is) against the addresses given.</summary>
    public PacketCheck Ip(IpAddress? src = null, IpAddress? dst = null, byte? hopLimit = null)
    {
        int start = IpStart(null, "IP");
        if (_bytes.Length <= start) Fail("IP", "no IP header");
        if (_bytes[start] >> 4 == 4) Ipv4(ttl: hopLimit);
        else Ipv6(hopLimit: hopLimit);
        Field("IP source", src, Source);
        Field("IP destination", dst, Destination);
        return this;
    }

    /// <summary>Checks a TCP segment (its checksum always, over the IP pseudo-header).</summary>
    public PacketCheck Tcp(ushort? srcPort = null, ushort? dstPort = null, TcpFlags? flags = null, SeqNumber? seq = null,
        SeqNumber? ack = null, ushort? window = null, int? payloadLength = null, ushort? mss = null, byte? windowScale = null,
        bool? sackPermitted = null, bool? timestamps = null, int? sackBlocks = null, ushort? urgentPointer = null)
    {
        var span = TransportSpan(IpProtocol.Tcp, "TCP");
        if (!TcpSegment.TryParse(span, out var seg, out var err)) Fail("TCP", $"does not parse: {err}");
        if (!seg.VerifyChecksum(Source, Destination)) Fail("TCP", "checksum is wrong");
        var repr = seg.ToRepr();
        TcpHeader = repr;
        Field("TCP source port", srcPort, seg.SourcePort);
        Field("TCP destination port", dstPort, seg.DestinationPort);
        Field("TCP flags", flags, seg.Flags);
        Field("TCP sequence number", seq, seg.SequenceNumber);
        Field("TCP acknowledgment number", ack, seg.AckNumber);
        Field("TCP window", window, seg.Window);
        Field("TCP payload length", payloadLength, seg.Payload.Length);
        Field("TCP MSS option", mss, repr.Mss);
        Field("TCP window scale option", windowScale, repr.WindowScale);
        Field("TCP SACK-permitted option", sackPermitted, repr.SackPermitted);
        Field("TCP timestamps option", timestamps, repr.Timestamps.HasValue);
        Field("TCP SACK block count", sackBlocks, repr.SackBlocks.Count);
        Field("TCP urgent pointer", urgentPointer, seg.UrgentPointer);
        Payload = seg.Payload.ToArray();
        return this;
    }

    /// <summary>
    /// Checks a UDP datagram and its checksum. Over IPv4 a zero checksum field ("none", RFC 768) fails unless
    /// <paramref name="checksumOptional"/>; over IPv6 the checksum is mandatory (RFC 8200 §8.1).
    /// </summary>
    public PacketCheck Udp(ushort? srcPort = null, ushort? dstPort = null, int? payloadLength = null, bool checksumOptional = false)
    {
        var span = TransportSpan(IpProtocol.Udp, "UDP");
        if (!UdpDatagram.TryParse(span, out var udp, out var err)) Fail("UDP", $"does not parse: {err}");
        if (udp.ChecksumField == 0 && Source.IsV4)
        {
            if (!checksumOptional) Fail("UDP", "carries no checksum");
        }
        else if (!udp.VerifyChecksum(Source, Destination)) Fail("UDP", "checksum is wrong");
        UdpHeader = udp.ToRepr();
        Field("UDP source port", srcPort, udp.SourcePort);
        Field("UDP destination port", dstPort, udp.DestinationPort);
        Field("UDP payload length", payloadLength, udp.Payload.Length);
        Payload = udp.Payload.ToArray();
        return this;
    }

    /// <summary>Checks an ICMPv4 message (its checksum always); <see cref="Payload"/> becomes the whole message.</summary>
    public PacketCheck Icmpv4(Icmpv4Type? type = null, byte? code = null, ushort? identifier = null, ushort? sequence = null)
    {
        var span = TransportSpan(IpProtocol.Icmp, "ICMPv4");
        if (!Icmpv4Packet.TryParse(span, out var icmp, out var err)) Fail("ICMPv4", $"does not parse: {err}");
        if (!icmp.ChecksumValid) Fail("ICMPv4", "checksum is wrong");
        Field("ICMPv4 type", type, icmp.Type);
        Field("ICMPv4 code", code, icmp.Code);
        IcmpOriginalDatagram = icmp.OriginalDatagram.ToArray();
        return IcmpCommon("ICMPv4", span, (byte)icmp.Type, icmp.Code, identifier, icmp.Identifier, sequence, icmp.SequenceNumber);
    }

    /// <summary>Checks an ICMPv6 message (its checksum always); <see cref="Payload"/> becomes the whole message.</summary>
    public PacketCheck Icmpv6(Icmpv6Type? type = null, byte? code = null, ushort? identifier = null, ushort? sequence = null,
        uint? pointer = null, uint? mtu = null)
    {
        var span = TransportSpan(IpProtocol.Icmpv6, "ICMPv6");
        if (!Icmpv6Packet.TryParse(span, out var icmp, out var err)) Fail("ICMPv6", $"does not parse: {err}");
        if (!icmp.VerifyChecksum(Source.V6, Destination.V6)) Fail("ICMPv6", "checksum is wrong");
        Field("ICMPv6 type", type, icmp.Type);
        Field("ICMPv6 code", code, icmp.Code);
        Field("ICMPv6 parameter problem pointer", pointer, icmp.Pointer);
        Field("ICMPv6 MTU", mtu, icmp.Mtu);
        return IcmpCommon("ICMPv6", span, (byte)icmp.Type, icmp.Code, identifier, icmp.Identifier, sequence, icmp.SequenceNumber);
    }

    /// <summary>What both ICMP families share: the echo fields and what the check keeps.</summary>
    private PacketCheck IcmpCommon(string layer, ReadOnlySpan<byte> message, byte type, byte code,
        ushort? identifier, ushort actualIdentifier, ushort? sequence, ushort actualSequence)
    {
        Field(layer + " identifier", identifier, actualIdentifier);
        Field(layer + " sequence", sequence, actualSequence);
        IcmpTypeCode = (type, code);
        IcmpEcho = (actualIdentifier, actualSequence);
        IcmpBody = message[Math.Min(8, message.Length)..].ToArray();
        Payload = message.ToArray();
        return this;
    }

    /// <summary>Checks the innermost payload found so far byte for byte.</summary>
    public PacketCheck PayloadIs(ReadOnlySpan<byte> expected)
    {
        if (!Payload.AsSpan().SequenceEqual(expected))
            Fail("payload", $"{Payload.Length} bytes differ from the {expected.Length} expected (first difference at {FirstDifference(Payload, expected)})");
        return this;
    }

    /// <summary>An extra condition on what was parsed, failing with the decoded frame.</summary>
    public PacketCheck That(Func<PacketCheck, bool> condition, string what)
    {
        if (!condition(this)) Fail("condition", what);
        return this;
    }

    private static int FirstDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++) if (a[i] != b[i]) return i;
        return n;
    }

    private ReadOnlySpan<byte> LinkPayload(EtherType type, string layer)
    {
        if (!_ethernet) Fail(layer, "no Ethernet header to carry it");
        if (!EthernetFrame.TryParse(_bytes, out var eth, out var err)) Fail(layer, $"Ethernet does not parse: {err}");
        if (eth.EtherType != type) Fail(layer, $"EtherType is {eth.EtherType}, not {type}");
        return _bytes.AsSpan(eth.HeaderSize);
    }

    private int IpStart(EtherType? type, string layer)
    {
        if (_pseudoOnly) Fail(layer, "a bare transport payload has no IP header");
        if (!_ethernet) return 0;
        if (!EthernetFrame.TryParse(_bytes, out var eth, out var err)) Fail(layer, $"Ethernet does not parse: {err}");
        if (type is { } t && eth.EtherType != t) Fail(layer, $"EtherType is {eth.EtherType}, not {t}");
        if (type is null && eth.EtherType is not (EtherType.Ipv4 or EtherType.Ipv6)) Fail(layer, $"EtherType is {eth.EtherType}, not IP");
        _ipOffset = eth.HeaderSize;
        return eth.HeaderSize;
    }

    private ReadOnlySpan<byte> TransportSpan(IpProtocol protocol, string layer)
    {
        if (_l4Offset < 0 && _ipOffset < 0 && !_pseudoOnly)
        {
            Ip(); // not checked yet: parse the IP layer on the way (its checksum included)
        }
        if (_l4Offset < 0) Fail(layer, "no transport header (a later fragment, or an extension chain without one)");
        if (!_pseudoOnly && _l4Protocol != protocol) Fail(layer, $"the IP packet carries {_l4Protocol}, not {protocol}");
        return _bytes.AsSpan(_l4Offset, _l4End - _l4Offset);
    }

    private void Field<T>(string name, T? expected, T actual) where T : struct
    {
        if (expected is { } e && !EqualityComparer<T>.Default.Equals(e, actual)) Fail(name, $"is {actual}, expected {e}");
    }

    private void Field<T>(string name, T? expected, T? actual) where T : struct
    {
        if (expected is { } e && !EqualityComparer<T?>.Default.Equals(e, actual)) Fail(name, $"is {(actual is { } a ? a.ToString() : "absent")}, expected {e}");
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void Fail(string what, string problem) =>
        throw new XunitException($"{what} {problem}\n  in: {Describe()}");

    /// <summary>The bytes under check, decoded layer by layer.</summary>
    public string Describe() => _pseudoOnly
        ? FrameText.DescribeTransport(_bytes, _l4Protocol == 0 ? null : _l4Protocol, Source, Destination)
        : FrameText.Describe(_bytes, _ethernet);

    public override string ToString() => Describe();
}

/// <summary>One-line decodings of frames for failure messages (as tcpdump prints them, roughly).</summary>
internal static class FrameText
{
    public static string Describe(ReadOnlySpan<byte> bytes, bool ethernet)
    {
        var sb = new StringBuilder();
        var ip = bytes;
        if (ethernet)
        {
            if (!EthernetFrame.TryParse(bytes, out var eth, out var err)) return $"{bytes.Length} bytes, not Ethernet ({err})";
            sb.Append(CultureInfo.InvariantCulture, $"eth {eth.Source} > {eth.Destination} {eth.EtherType}");
            if (eth.EtherType == EtherType.Arp)
            {
                if (ArpPacket.TryParse(eth.Payload, out var arp, out _))
                    sb.Append(CultureInfo.InvariantCulture, $" | ARP {arp.Operation} {arp.SenderProtocolAddress} ({arp.SenderHardwareAddress}) > {arp.TargetProtocolAddress} ({arp.TargetHardwareAddress})");
                else sb.Append(" | ARP (malformed)");
                return sb.ToString();
            }
            if (eth.EtherType is not (EtherType.Ipv4 or EtherType.Ipv6)) return sb.Append(CultureInfo.InvariantCulture, $" | {eth.Payload.Length} bytes").ToString();
            ip = eth.Payload;
            sb.Append(" | ");
        }
        if (ip.Length == 0) return sb.Append("empty").ToString();
        if (ip[0] >> 4 == 4)
        {
            if (!Ipv4Packet.TryParse(ip, out var p, out var err)) return sb.Append(CultureInfo.InvariantCulture, $"IPv4 (malformed: {err})").ToString();
            sb.Append(CultureInfo.InvariantCulture, $"IPv4 {p.Source} > {p.Destination} ttl {p.Ttl} id {p.Identification} len {p.TotalLength}");
            if (p.DontFragment) sb.Append(" DF");
            if (p.MoreFragments) sb.Append(" MF");
            if (p.FragmentOffset != 0) sb.Append(CultureInfo.InvariantCulture, $" off {p.FragmentOffset}");
            if (!p.ChecksumValid) sb.Append(" BAD-CHECKSUM");
            if (p.FragmentOffset != 0) return sb.Append(CultureInfo.InvariantCulture, $" | {p.Protocol} fragment").ToString();
            sb.Append(" | ");
            return sb.Append(DescribeTransport(p.Payload, p.Protocol, p.Source, p.Destination)).ToString();
        }
        if (ip[0] >> 4 == 6)
        {
            if (!Ipv6Packet.TryParse(ip, out var p, out var err)) return sb.Append(CultureInfo.InvariantCulture, $"IPv6 (malformed: {err})").ToString();
            sb.Append(CultureInfo.InvariantCulture, $"IPv6 {p.Source} > {p.Destination} hlim {p.HopLimit} next {p.NextHeader} plen {p.PayloadLength}");
            if (!Ipv6HeaderChain.TryParse(p, out var chain, out _) || chain.End != Ipv6ChainEnd.UpperLayer)
                return sb.Append(" | no upper layer").ToString();
            if (chain.HeaderCount > 0) sb.Append(CultureInfo.InvariantCulture, $" ({chain.HeaderCount} extension headers)");
            sb.Append(" | ");
            return sb.Append(DescribeTransport(p.Bytes[chain.ProtocolOffset..], chain.Protocol, p.Source, p.Destination)).ToString();
        }
        return sb.Append(CultureInfo.InvariantCulture, $"IP version {ip[0] >> 4}?").ToString();
    }

    public static string DescribeTransport(ReadOnlySpan<byte> l4, IpProtocol? protocol, IpAddress src, IpAddress dst)
    {
        protocol ??= l4.Length >= TcpSegment.HeaderLength ? IpProtocol.Tcp : IpProtocol.Udp;
        switch (protocol)
        {
            case IpProtocol.Tcp:
                if (!TcpSegment.TryParse(l4, out var seg, out var err)) return $"TCP (malformed: {err})";
                var r = seg.ToRepr();
                var sb = new StringBuilder();
                sb.Append(CultureInfo.InvariantCulture, $"TCP {seg.SourcePort} > {seg.DestinationPort} [{seg.Flags}] seq {seg.SequenceNumber} ack {seg.AckNumber} win {seg.Window} len {seg.Payload.Length}");
                if (r.Mss is { } mss) sb.Append(CultureInfo.InvariantCulture, $" mss {mss}");
                if (r.WindowScale is { } ws) sb.Append(CultureInfo.InvariantCulture, $" wscale {ws}");
                if (r.SackPermitted) sb.Append(" sackOK");
                if (r.Timestamps is { } ts) sb.Append(CultureInfo.InvariantCulture, $" TS {ts.Value}/{ts.Echo}");
                if (r.SackBlocks.Count > 0) sb.Append(CultureInfo.InvariantCulture, $" sack {r.SackBlocks}");
                if (seg.UrgentPointer != 0) sb.Append(CultureInfo.InvariantCulture, $" urg {seg.UrgentPointer}");
                if (!seg.VerifyChecksum(src, dst)) sb.Append(" BAD-CHECKSUM");
                return sb.ToString();
            case IpProtocol.Udp:
                if (!UdpDatagram.TryParse(l4, out var udp, out err)) return $"UDP (malformed: {err})";
                return $"UDP {udp.SourcePort} > {udp.DestinationPort} len {udp.Payload.Length}" +
                    (udp.ChecksumField != 0 && !udp.VerifyChecksum(src, dst) ? " BAD-CHECKSUM" : "");
            case IpProtocol.Icmp:
                if (!Icmpv4Packet.TryParse(l4, out var i4, out err)) return $"ICMPv4 (malformed: {err})";
                return $"ICMPv4 {i4.Type} code {i4.Code} id {i4.Identifier} seq {i4.SequenceNumber} len {l4.Length}" + (i4.ChecksumValid ? "" : " BAD-CHECKSUM");
            case IpProtocol.Icmpv6:
                if (!Icmpv6Packet.TryParse(l4, out var i6, out err)) return $"ICMPv6 (malformed: {err})";
                return $"ICMPv6 {i6.Type} code {i6.Code} len {l4.Length}" + (src.IsV4 || i6.VerifyChecksum(src.V6, dst.V6) ? "" : " BAD-CHECKSUM");
            default:
                return $"{protocol} {l4.Length} bytes";
        }
    }
}
