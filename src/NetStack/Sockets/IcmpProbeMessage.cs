using System.Buffers.Binary;
using NetStack.Wire;

namespace NetStack.Sockets;

/// <summary>
/// An ICMP or ICMPv6 message to send as a probe: any type and code, the four "rest of header" bytes
/// (identifier and sequence of an echo, an MTU, a pointer...) and a body. The checksum is computed when it is
/// written (RFC 792: over the message; RFC 4443 §2.3: over the IPv6 pseudo-header and the message).
/// </summary>
/// <param name="Type">ICMP / ICMPv6 type.</param>
/// <param name="Code">ICMP / ICMPv6 code.</param>
/// <param name="RestOfHeader">Bytes 4..7 of the message, big-endian.</param>
/// <param name="Body">What follows the 8-byte header.</param>
public readonly record struct IcmpProbeMessage(byte Type, byte Code, uint RestOfHeader, ReadOnlyMemory<byte> Body)
{
    /// <summary>The 8-byte header every ICMP and ICMPv6 message of interest starts with.</summary>
    public const int HeaderLength = 8;

    /// <summary>An Echo Request (ICMP type 8, RFC 792; ICMPv6 type 128, RFC 4443 §4.1).</summary>
    public static IcmpProbeMessage EchoRequest(IpVersion version, ushort identifier, ushort sequence, ReadOnlyMemory<byte> data) =>
        new(version == IpVersion.V4 ? (byte)Icmpv4Type.EchoRequest : (byte)Icmpv6Type.EchoRequest, 0,
            ((uint)identifier << 16) | sequence, data);

    /// <summary>The message's length in bytes: header and body.</summary>
    public int Length => HeaderLength + Body.Length;

    /// <summary>Writes the message with its checksum at the start of <paramref name="buffer"/> and returns its length.</summary>
    public int Write(Span<byte> buffer, IpAddress source, IpAddress destination)
    {
        int length = Length;
        var m = buffer[..length];
        m[0] = Type;
        m[1] = Code;
        m[2] = 0;
        m[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(m[4..], RestOfHeader);
        Body.Span.CopyTo(m[HeaderLength..]);
        if (destination.IsV4)
        {
            BinaryPrimitives.WriteUInt16BigEndian(m[2..], Checksum.Compute(m));
        }
        else
        {
            Icmpv6Packet.FillChecksum(m, source.V6, destination.V6);
        }
        return length;
    }
}
