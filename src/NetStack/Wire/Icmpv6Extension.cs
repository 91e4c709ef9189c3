using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// A read-only view of an ICMP extension structure (RFC 4884 §7): a 4-octet header (version 2,
/// reserved, checksum over the whole structure) followed by objects (length, class-num, C-type, payload).
/// Used by ICMPv6 Destination Unreachable and Time Exceeded (ICMPv4 uses the same structure; wire4 owns its own view).
/// <para>Guarantee: once <see cref="TryParse"/> has returned true, every object lies in the buffer and
/// enumeration cannot fail.</para>
/// </summary>
public readonly ref struct Icmpv6Extension
{
    public const int HeaderLength = 4;
    public const int ObjectHeaderLength = 4;
    /// <summary>RFC 4884 §7: version 2.</summary>
    public const int Version2 = 2;
    /// <summary>RFC 4884 §5: the original datagram field is at least 128 octets when extensions follow.</summary>
    public const int MinimumOriginalDatagramLength = 128;

    private readonly ReadOnlySpan<byte> _buffer;

    private Icmpv6Extension(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    public static bool TryParse(ReadOnlySpan<byte> buffer, out Icmpv6Extension extension, out WireError error)
    {
        extension = default;
        if (buffer.Length < HeaderLength) { error = WireError.Truncated; return false; }
        if (buffer[0] >> 4 != Version2) { error = WireError.BadVersion; return false; }
        for (int i = HeaderLength; i < buffer.Length;)
        {
            if (i + ObjectHeaderLength > buffer.Length) { error = WireError.BadOption; return false; }
            int len = BinaryPrimitives.ReadUInt16BigEndian(buffer[i..]);
            // RFC 4884 §8: the object length counts its 4-octet header; it must fit the structure.
            if (len < ObjectHeaderLength || i + len > buffer.Length) { error = WireError.BadOption; return false; }
            i += len;
        }
        extension = new Icmpv6Extension(buffer);
        error = WireError.None;
        return true;
    }

    public int Version => _buffer[0] >> 4;
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer[2..]);
    /// <summary>RFC 4884 §7: a zero checksum means none was computed; otherwise it covers the structure.</summary>
    public bool ChecksumValid => Checksum == 0 || Wire.Checksum.Verify(_buffer);
    public ReadOnlySpan<byte> Bytes => _buffer;
    public Icmpv6ExtensionObjectEnumerator Objects => new(_buffer);
}

/// <summary>One object of an ICMP extension structure (RFC 4884 §8).</summary>
public readonly ref struct Icmpv6ExtensionObject
{
    internal Icmpv6ExtensionObject(byte classNum, byte cType, ReadOnlySpan<byte> payload)
    {
        ClassNum = classNum;
        CType = cType;
        Payload = payload;
    }

    public byte ClassNum { get; }
    public byte CType { get; }
    public ReadOnlySpan<byte> Payload { get; }
}

/// <summary>Enumerates objects of a validated <see cref="Icmpv6Extension"/>.</summary>
public ref struct Icmpv6ExtensionObjectEnumerator
{
    private readonly ReadOnlySpan<byte> _buffer;
    private int _next;
    private Icmpv6ExtensionObject _current;

    internal Icmpv6ExtensionObjectEnumerator(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _next = Icmpv6Extension.HeaderLength;
        _current = default;
    }

    public readonly Icmpv6ExtensionObject Current => _current;
    public readonly Icmpv6ExtensionObjectEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_next + Icmpv6Extension.ObjectHeaderLength > _buffer.Length) return false;
        int len = BinaryPrimitives.ReadUInt16BigEndian(_buffer[_next..]);
        if (len < Icmpv6Extension.ObjectHeaderLength || _next + len > _buffer.Length) return false;
        _current = new Icmpv6ExtensionObject(_buffer[_next + 2], _buffer[_next + 3], _buffer.Slice(_next + 4, len - 4));
        _next += len;
        return true;
    }
}

/// <summary>An extension object to write (RFC 4884 §8): class, sub-type and payload (a multiple of 4 octets).</summary>
public readonly record struct Icmpv6ExtensionObjectRepr(byte ClassNum, byte CType, ReadOnlyMemory<byte> Payload)
{
    public int Length => Icmpv6Extension.ObjectHeaderLength + Payload.Length;
}

/// <summary>An ICMP extension structure to write (RFC 4884 §7): version 2 header with its checksum, then the objects.</summary>
public readonly record struct Icmpv6ExtensionRepr(ReadOnlyMemory<Icmpv6ExtensionObjectRepr> Objects)
{
    public int BufferLength
    {
        get
        {
            int n = Icmpv6Extension.HeaderLength;
            foreach (var o in Objects.Span) n += o.Length;
            return n;
        }
    }

    public int Write(Span<byte> buffer)
    {
        int length = BufferLength;
        buffer[..Icmpv6Extension.HeaderLength].Clear();
        buffer[0] = Icmpv6Extension.Version2 << 4;
        int at = Icmpv6Extension.HeaderLength;
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
