using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// A read-only view of an ICMP extension structure (RFC 4884 §7): a 4-byte header (version 2, checksum
/// over the whole structure) followed by objects (length, class-num, c-type, payload).
/// <para>
/// Guarantee: once <see cref="TryParse"/> has returned true, no accessor can throw; the version is 2
/// and every object lies inside the structure with a length of at least 4. The checksum is exposed,
/// not enforced. The view never copies. ICMPv4 and ICMPv6 errors carry the same structure (RFC 4884 §4.1, §4.2).
/// </para>
/// </summary>
public readonly ref struct IcmpExtension
{
    /// <summary>Bytes in the extension header (RFC 4884 §7).</summary>
    public const int HeaderLength = 4;
    /// <summary>Bytes in an object header (RFC 4884 §7).</summary>
    public const int ObjectHeaderLength = 4;
    /// <summary>RFC 4884 §7: the extension structure version.</summary>
    public const int CurrentVersion = 2;
    /// <summary>RFC 4884 §5: the original datagram field is at least 128 octets when extensions follow.</summary>
    public const int MinimumOriginalDatagramLength = 128;

    private readonly ReadOnlySpan<byte> _buffer;

    private IcmpExtension(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>Validates the header and walks the objects.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out IcmpExtension extension, out WireError error)
    {
        extension = default;
        if (buffer.Length < HeaderLength) { error = WireError.Truncated; return false; }
        if (buffer[0] >> 4 != CurrentVersion) { error = WireError.BadVersion; return false; }
        int i = HeaderLength;
        while (i < buffer.Length)
        {
            // RFC 4884 §7.2: each object has a 4-octet header; its length counts the header and the payload.
            if (buffer.Length - i < ObjectHeaderLength) { error = WireError.BadOption; return false; }
            int length = BinaryPrimitives.ReadUInt16BigEndian(buffer[i..]);
            if (length < ObjectHeaderLength || length > buffer.Length - i) { error = WireError.BadOption; return false; }
            i += length;
        }
        extension = new IcmpExtension(buffer);
        error = WireError.None;
        return true;
    }

    /// <summary>The extension version (2).</summary>
    public int Version => _buffer[0] >> 4;
    /// <summary>The checksum field.</summary>
    public ushort ChecksumField => BinaryPrimitives.ReadUInt16BigEndian(_buffer[2..]);
    /// <summary>RFC 4884 §7: the checksum covers the extension header and all objects.</summary>
    public bool ChecksumValid => Checksum.Verify(_buffer);
    /// <summary>The whole extension structure.</summary>
    public ReadOnlySpan<byte> Bytes => _buffer;

    /// <summary>The objects, in order; well formed by construction.</summary>
    public IcmpExtensionObjectEnumerator EnumerateObjects() => new(_buffer[HeaderLength..]);

    /// <summary>The objects, in order (same as <see cref="EnumerateObjects"/>).</summary>
    public IcmpExtensionObjectEnumerator Objects => EnumerateObjects();

    /// <summary>
    /// Writes an extension header and one RFC 4950 MPLS label stack object holding <paramref name="labels"/>
    /// (outermost first), computes the checksum and returns the bytes written.
    /// </summary>
    public static int WriteMplsLabelStack(Span<byte> buffer, ReadOnlySpan<MplsLabelEntry> labels)
    {
        int length = MplsStackLength(labels.Length);
        buffer[0] = CurrentVersion << 4;
        buffer[1] = 0;
        buffer[2] = 0;
        buffer[3] = 0;
        var obj = buffer[HeaderLength..];
        BinaryPrimitives.WriteUInt16BigEndian(obj, (ushort)(ObjectHeaderLength + labels.Length * MplsLabelEntry.Length));
        obj[2] = IcmpExtensionObject.ClassMplsLabelStack;
        obj[3] = IcmpExtensionObject.CTypeIncomingMplsLabelStack;
        for (int i = 0; i < labels.Length; i++) labels[i].Write(obj[(ObjectHeaderLength + i * MplsLabelEntry.Length)..]);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], Checksum.Compute(buffer[..length]));
        return length;
    }

    /// <summary>Length of an extension holding one MPLS label stack object of <paramref name="count"/> entries.</summary>
    public static int MplsStackLength(int count) => HeaderLength + ObjectHeaderLength + count * MplsLabelEntry.Length;
}

/// <summary>One object of an ICMP extension structure (RFC 4884 §7.2).</summary>
public readonly ref struct IcmpExtensionObject
{
    /// <summary>RFC 4950 §7: MPLS Label Stack Class.</summary>
    public const byte ClassMplsLabelStack = 1;
    /// <summary>RFC 4950 §7: C-Type 1, Incoming MPLS Label Stack.</summary>
    public const byte CTypeIncomingMplsLabelStack = 1;

    /// <summary>An object of class <paramref name="classNum"/> and type <paramref name="cType"/>.</summary>
    public IcmpExtensionObject(byte classNum, byte cType, ReadOnlySpan<byte> payload)
    {
        ClassNum = classNum;
        CType = cType;
        Payload = payload;
    }

    /// <summary>The object's class number.</summary>
    public byte ClassNum { get; }
    /// <summary>The object's class sub-type.</summary>
    public byte CType { get; }
    /// <summary>The object payload after its 4-byte header.</summary>
    public ReadOnlySpan<byte> Payload { get; }
    /// <summary>Bytes of the object, header included.</summary>
    public int Length => IcmpExtension.ObjectHeaderLength + Payload.Length;

    /// <summary>An RFC 4950 incoming MPLS label stack.</summary>
    public bool IsMplsLabelStack => ClassNum == ClassMplsLabelStack && CType == CTypeIncomingMplsLabelStack;
    /// <summary>Number of whole 4-byte label stack entries (RFC 4950 §7).</summary>
    public int MplsEntryCount => IsMplsLabelStack ? Payload.Length / MplsLabelEntry.Length : 0;
    /// <summary>The i-th label stack entry, outermost first; default when out of range.</summary>
    public MplsLabelEntry MplsEntry(int i) => (uint)i < (uint)MplsEntryCount
        ? MplsLabelEntry.Read(Payload[(i * MplsLabelEntry.Length)..])
        : default;
}

/// <summary>Walks the objects of a validated ICMP extension structure.</summary>
public ref struct IcmpExtensionObjectEnumerator
{
    private readonly ReadOnlySpan<byte> _objects;
    private int _offset;
    private IcmpExtensionObject _current;

    /// <summary>Enumerates the objects in <paramref name="objects"/>.</summary>
    public IcmpExtensionObjectEnumerator(ReadOnlySpan<byte> objects)
    {
        _objects = objects;
        _offset = 0;
        _current = default;
    }

    /// <summary>The current object.</summary>
    public readonly IcmpExtensionObject Current => _current;

    /// <summary>Returns this enumerator (for <c>foreach</c>).</summary>
    public readonly IcmpExtensionObjectEnumerator GetEnumerator() => this;

    /// <summary>Moves to the next object; false at the end or at a malformed object.</summary>
    public bool MoveNext()
    {
        if (_objects.Length - _offset < IcmpExtension.ObjectHeaderLength) return false;
        int length = BinaryPrimitives.ReadUInt16BigEndian(_objects[_offset..]);
        if (length < IcmpExtension.ObjectHeaderLength || length > _objects.Length - _offset) { _offset = _objects.Length; return false; }
        _current = new IcmpExtensionObject(_objects[_offset + 2], _objects[_offset + 3],
            _objects.Slice(_offset + IcmpExtension.ObjectHeaderLength, length - IcmpExtension.ObjectHeaderLength));
        _offset += length;
        return true;
    }
}

/// <summary>
/// One MPLS label stack entry (RFC 3032 §2.1, as carried by RFC 4950): label (20 bits), traffic class
/// (3 bits, formerly EXP, RFC 5462), bottom-of-stack bit and TTL.
/// </summary>
public readonly record struct MplsLabelEntry(uint Label, byte TrafficClass, bool BottomOfStack, byte Ttl)
{
    /// <summary>Bytes in one label stack entry.</summary>
    public const int Length = 4;

    /// <summary>Reads an entry from the first 4 bytes of <paramref name="source"/>.</summary>
    public static MplsLabelEntry Read(ReadOnlySpan<byte> source)
    {
        uint v = BinaryPrimitives.ReadUInt32BigEndian(source);
        return new MplsLabelEntry(v >> 12, (byte)((v >> 9) & 7), ((v >> 8) & 1) != 0, (byte)v);
    }

    /// <summary>Writes the entry to the first 4 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination) =>
        BinaryPrimitives.WriteUInt32BigEndian(destination,
            ((Label & 0xFFFFF) << 12) | ((uint)(TrafficClass & 7) << 9) | (BottomOfStack ? 0x100u : 0) | Ttl);
}
