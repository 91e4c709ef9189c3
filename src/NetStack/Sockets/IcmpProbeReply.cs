using System.Buffers.Binary;
using System.Net;
using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Sockets;

/// <summary>What an <see cref="IcmpProbeReply"/> is.</summary>
public enum IcmpProbeReplyKind
{
    /// <summary>An Echo Reply (ICMP type 0, ICMPv6 type 129).</summary>
    EchoReply,
    /// <summary>An error message quoting a datagram we sent (Destination Unreachable, Time Exceeded, Packet Too Big, Parameter Problem...).</summary>
    Error,
    /// <summary>Any other ICMP or ICMPv6 message (echo requests to us, NDP, MLD...).</summary>
    Other,
}

/// <summary>
/// One ICMP or ICMPv6 message received by an <c>IcmpProbeSocket</c> (NetStack.Tap), decoded for matching against probes:
/// who sent it, its type and code, the TTL / hop limit it arrived with, and for errors what the quoted datagram was
/// (destination, protocol, and the quoted transport bytes, from which echo identifier and sequence are read).
/// </summary>
/// <param name="Kind">Echo reply, error, or other.</param>
/// <param name="From">The sender of the message (the target, or the router reporting an error).</param>
/// <param name="To">The destination it was sent to (one of our addresses, or a group).</param>
/// <param name="Type">ICMP / ICMPv6 type.</param>
/// <param name="Code">ICMP / ICMPv6 code.</param>
/// <param name="RestOfHeader">Bytes 4..7 of the message (identifier + sequence, MTU, pointer).</param>
/// <param name="Ttl">TTL / hop limit of the message as received.</param>
/// <param name="Identifier">Echo identifier: the reply's own, or the quoted echo request's for an error (0 otherwise).</param>
/// <param name="Sequence">Echo sequence number, as <paramref name="Identifier"/>.</param>
/// <param name="QuotesEcho">An error whose quoted datagram is one of our echo requests.</param>
/// <param name="QuotedSource">Source address of the quoted datagram (errors only).</param>
/// <param name="QuotedDestination">Destination address of the quoted datagram (errors only).</param>
/// <param name="QuotedProtocol">Upper-layer protocol of the quoted datagram (errors only).</param>
/// <param name="QuotedTransport">The quoted transport header and data (errors only; at least 8 bytes when the quote holds them).</param>
/// <param name="Message">The whole ICMP message as received (for extensions, RFC 4884 / RFC 4950).</param>
/// <param name="InterfaceIndex">The interface it arrived on.</param>
/// <param name="ReceivedAt">When the stack received it.</param>
public sealed record IcmpProbeReply(
    IcmpProbeReplyKind Kind,
    IPAddress From,
    IPAddress To,
    byte Type,
    byte Code,
    uint RestOfHeader,
    int Ttl,
    ushort Identifier,
    ushort Sequence,
    bool QuotesEcho,
    IPAddress? QuotedSource,
    IPAddress? QuotedDestination,
    IpProtocol? QuotedProtocol,
    byte[] QuotedTransport,
    byte[] Message,
    int InterfaceIndex,
    Instant ReceivedAt)
{
    /// <summary>The MTU of an ICMPv4 Fragmentation Needed (RFC 1191 §4) or ICMPv6 Packet Too Big (RFC 4443 §3.2); 0 otherwise.</summary>
    public int Mtu => (From.AddressFamily, Type, Code) switch
    {
        (System.Net.Sockets.AddressFamily.InterNetwork, (byte)Icmpv4Type.DestinationUnreachable, (byte)Icmpv4UnreachableCode.FragmentationNeeded) => (int)(RestOfHeader & 0xFFFF),
        (System.Net.Sockets.AddressFamily.InterNetworkV6, (byte)Icmpv6Type.PacketTooBig, _) => (int)RestOfHeader,
        _ => 0,
    };

    /// <summary>
    /// Decodes a raw ICMP / ICMPv6 datagram. False when it is malformed or its checksum is wrong (raw sockets see
    /// messages before the network layer validates them; the layer counts the drop).
    /// </summary>
    public static bool TryDecode(RawDatagram datagram, out IcmpProbeReply reply)
    {
        reply = null!;
        var info = datagram.Info;
        var m = datagram.Payload.AsSpan();
        if (m.Length < IcmpProbeMessage.HeaderLength) return false;
        byte type, code;
        uint rest = BinaryPrimitives.ReadUInt32BigEndian(m[4..]);
        bool isEchoReply, isError;
        ReadOnlySpan<byte> quote;
        if (info.Source.IsV4)
        {
            if (!Icmpv4Packet.TryParse(m, out var icmp, out _) || !icmp.ChecksumValid) return false;
            type = (byte)icmp.Type;
            code = icmp.Code;
            isEchoReply = icmp.Type == Icmpv4Type.EchoReply;
            isError = icmp.IsError;
            quote = isError ? icmp.OriginalDatagram : default;
        }
        else
        {
            // RFC 4443 §2.3: the checksum covers the pseudo-header.
            if (!Icmpv6Packet.TryParse(m, out var icmp, out _) || !icmp.VerifyChecksum(info.Source.V6, info.Destination.V6)) return false;
            type = (byte)icmp.Type;
            code = icmp.Code;
            isEchoReply = icmp.Type == Icmpv6Type.EchoReply;
            isError = icmp.IsError;
            quote = isError ? icmp.InvokingPacket : default;
        }

        ushort id = 0, seq = 0;
        bool quotesEcho = false;
        IPAddress? qSrc = null, qDst = null;
        IpProtocol? qProto = null;
        byte[] qTransport = [];
        if (isEchoReply)
        {
            id = (ushort)(rest >> 16);
            seq = (ushort)rest;
        }
        else if (isError && TryParseQuote(info.Source.IsV4, quote, out var src, out var dst, out var proto, out var transport))
        {
            qSrc = src.ToIPAddress();
            qDst = dst.ToIPAddress();
            qProto = proto;
            qTransport = transport.ToArray();
            // RFC 792 / RFC 4443 §2.4(c): the quote holds at least the first 8 bytes of the echo request: type, code, checksum, id, seq.
            byte echoRequest = info.Source.IsV4 ? (byte)Icmpv4Type.EchoRequest : (byte)Icmpv6Type.EchoRequest;
            var icmpProto = info.Source.IsV4 ? IpProtocol.Icmp : IpProtocol.Icmpv6;
            if (proto == icmpProto && transport.Length >= IcmpProbeMessage.HeaderLength && transport[0] == echoRequest)
            {
                quotesEcho = true;
                id = BinaryPrimitives.ReadUInt16BigEndian(transport[4..]);
                seq = BinaryPrimitives.ReadUInt16BigEndian(transport[6..]);
            }
        }
        var kind = isEchoReply ? IcmpProbeReplyKind.EchoReply : isError ? IcmpProbeReplyKind.Error : IcmpProbeReplyKind.Other;
        reply = new IcmpProbeReply(kind, info.Source.ToIPAddress(), info.Destination.ToIPAddress(), type, code, rest, info.Ttl,
            id, seq, quotesEcho, qSrc, qDst, qProto, qTransport, datagram.Payload, info.InterfaceIndex, datagram.ReceivedAt);
        return true;
    }

    private static bool TryParseQuote(bool v4, ReadOnlySpan<byte> quote, out IpAddress source, out IpAddress destination,
        out IpProtocol protocol, out ReadOnlySpan<byte> transport)
    {
        if (v4)
        {
            if (Ipv4Packet.TryParseQuoted(quote, out var ip, out _))
            {
                source = ip.Source;
                destination = ip.Destination;
                protocol = ip.Protocol;
                transport = ip.Payload;
                return true;
            }
        }
        else if (Ipv6Packet.TryParseQuoted(quote, out var ip6, out _))
        {
            // Our probes carry no extension headers: the transport follows the fixed header.
            source = ip6.Source;
            destination = ip6.Destination;
            protocol = ip6.NextHeader;
            transport = ip6.Payload;
            return true;
        }
        source = default;
        destination = default;
        protocol = default;
        transport = default;
        return false;
    }
}
