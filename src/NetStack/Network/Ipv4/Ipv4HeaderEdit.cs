using System.Buffers.Binary;
using NetStack.Wire;

namespace NetStack.Network.Ipv4;

/// <summary>
/// The in-place edits a router makes to a header it forwards: TTL decrement with the RFC 1624
/// incremental checksum update (RFC 1812 §5.3.1, §5.2.2 "MAY be incrementally updated"), and a whole new checksum
/// after options were stamped. Kept beside the forwarding code because the wire view is read-only; the offsets are RFC 791's.
/// </summary>
internal static class Ipv4HeaderEdit
{
    private const int TtlOffset = 8;
    private const int ChecksumOffset = 10;

    /// <summary>Decrements the TTL of the header at the start of <paramref name="header"/> and patches its checksum.</summary>
    public static void DecrementTtl(Span<byte> header)
    {
        // TTL and protocol share the 16-bit word at offset 8.
        ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(header[TtlOffset..]);
        ushort newWord = (ushort)(oldWord - 0x0100);
        BinaryPrimitives.WriteUInt16BigEndian(header[TtlOffset..], newWord);
        ushort sum = BinaryPrimitives.ReadUInt16BigEndian(header[ChecksumOffset..]);
        // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
        BinaryPrimitives.WriteUInt16BigEndian(header[ChecksumOffset..], Checksum.Update(sum, oldWord, newWord));
    }

    /// <summary>Computes the checksum of <paramref name="header"/> (exactly the header, options included) afresh.</summary>
    public static void RecomputeChecksum(Span<byte> header)
    {
        header[ChecksumOffset] = 0;
        header[ChecksumOffset + 1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(header[ChecksumOffset..], Checksum.Compute(header));
    }
}
