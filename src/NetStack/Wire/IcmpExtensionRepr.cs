using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>An extension object to write (RFC 4884 §8): class, sub-type and payload (a multiple of 4 octets).</summary>
public readonly record struct IcmpExtensionObjectRepr(byte ClassNum, byte CType, ReadOnlyMemory<byte> Payload)
{
    /// <summary>Bytes of the object, header included.</summary>
    public int Length => IcmpExtension.ObjectHeaderLength + Payload.Length;
}

/// <summary>An ICMP extension structure to write (RFC 4884 §7): version 2 header with its checksum, then the objects.</summary>
public readonly record struct IcmpExtensionRepr(ReadOnlyMemory<IcmpExtensionObjectRepr> Objects)
{
    /// <summary>Bytes the extension takes.</summary>
    public int BufferLength
    {
        get
        {
            int n = IcmpExtension.HeaderLength;
            foreach (var o in Objects.Span) n += o.Length;
            return n;
        }
    }

    /// <summary>Writes the extension with its checksum; returns the bytes written.</summary>
    public int Write(Span<byte> buffer)
    {
        int length = BufferLength;
        buffer[..IcmpExtension.HeaderLength].Clear();
        buffer[0] = IcmpExtension.CurrentVersion << 4;
        int at = IcmpExtension.HeaderLength;
        foreach (var o in Objects.Span)
        {
            BinaryPrimitives.WriteUInt16BigEndian(buffer[at..], (ushort)o.Length);
            buffer[at + 2] = o.ClassNum;
            buffer[at + 3] = o.CType;
            o.Payload.Span.CopyTo(buffer[(at + 4)..]);
            at += o.Length;
        }
        // RFC 4884 §7: the checksum covers the extension structure only.
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], Checksum.Compute(buffer[..length]));
        return length;
    }
}
