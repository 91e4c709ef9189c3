using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// Reads a pcapng capture file (draft-ietf-opsawg-pcapng): Section Header Blocks in either byte order
/// (several sections allowed), Interface Description Blocks with <c>if_tsresol</c> and <c>if_tsoffset</c>,
/// Enhanced and Simple Packet Blocks; every other block type is skipped.
/// <para>
/// The constructor throws <see cref="InvalidDataException"/> when the file does not start with a valid
/// Section Header Block; after that nothing throws on bad content: a truncated or inconsistent block ends
/// reading with <see cref="Error"/> set. Blocks longer than <see cref="MaxBlockLength"/> are refused as
/// <see cref="WireError.BadLength"/>; at most <see cref="MaxInterfaces"/> interfaces per section.
/// </para>
/// </summary>
public sealed class PcapNgReader : IPcapReader
{
    /// <summary>The section header block type.</summary>
    public const uint SectionHeaderType = 0x0A0D0D0A;
    /// <summary>The interface description block type.</summary>
    public const uint InterfaceDescriptionType = 0x00000001;
    /// <summary>The simple packet block type.</summary>
    public const uint SimplePacketType = 0x00000003;
    /// <summary>The enhanced packet block type.</summary>
    public const uint EnhancedPacketType = 0x00000006;
    /// <summary>The byte-order magic of a section header.</summary>
    public const uint ByteOrderMagic = 0x1A2B3C4D;
    /// <summary>Blocks longer than this are refused as malformed.</summary>
    public const int MaxBlockLength = 1 << 20;
    /// <summary>At most this many interfaces per section.</summary>
    public const int MaxInterfaces = 256;

    private const int OptEndOfOpt = 0;
    private const int OptIfTsResol = 9;
    private const int OptIfTsOffset = 14;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private bool _bigEndian;
    private byte[] _buffer = new byte[4096];
    private readonly List<Interface> _interfaces = [];

    private readonly record struct Interface(PcapLinkType LinkType, uint SnapLength, byte TsResol, long TsOffsetSeconds);

    /// <summary>Opens a pcapng stream positioned at its first Section Header Block.</summary>
    /// <exception cref="InvalidDataException">The stream does not start with a valid Section Header Block.</exception>
    public PcapNgReader(Stream stream, bool leaveOpen = false)
        : this(stream, leaveOpen, ReadPrefix(stream))
    {
    }

    internal PcapNgReader(Stream stream, bool leaveOpen, ReadOnlySpan<byte> type)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _leaveOpen = leaveOpen;
        if (type.Length != 4 || BinaryPrimitives.ReadUInt32LittleEndian(type) != SectionHeaderType)
            throw new InvalidDataException("Not a pcapng file: it does not start with a Section Header Block.");
        var error = ReadSectionHeader();
        if (error != WireError.None)
            throw new InvalidDataException($"Not a pcapng file: corrupt Section Header Block ({error}).");
    }

    private static byte[] ReadPrefix(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var magic = new byte[4];
        int n = PcapStream.ReadFully(stream, magic);
        return n == 4 ? magic : magic[..n];
    }

    /// <summary>Why reading stopped, if it stopped on a malformed file.</summary>
    public WireError Error { get; private set; }
    /// <summary>Packets read so far.</summary>
    public long FramesRead { get; private set; }

    /// <summary>Interfaces described so far in the current section.</summary>
    public int InterfaceCount => _interfaces.Count;

    /// <summary>The link type of interface <paramref name="id"/> of the current section.</summary>
    public PcapLinkType InterfaceLinkType(int id) => _interfaces[id].LinkType;

    /// <summary>Reads the next packet; false at the end of the file or on a malformed block (see <see cref="Error"/>).</summary>
    public bool TryRead(out PcapRecord record)
    {
        record = default;
        Span<byte> head = stackalloc byte[8];
        while (Error == WireError.None)
        {
            int n = PcapStream.ReadFully(_stream, head);
            if (n == 0) return false; // clean end of file
            if (n < 8) return Fail(WireError.Truncated);
            uint type = U32(head);
            if (type == SectionHeaderType)
            {
                // The byte order of a new section is only known after its byte-order magic.
                var e = ReadSectionHeader(head[4..]);
                if (e != WireError.None) return Fail(e);
                continue;
            }
            uint total = U32(head[4..]);
            // pcapng §3.1: Block Total Length is a multiple of 4 and covers type, both lengths and the body.
            if (total < 12 || total % 4 != 0) return Fail(WireError.BadLength);
            if (total > MaxBlockLength) return Fail(WireError.BadLength);
            int bodyAndTrailer = (int)total - 8;
            PcapStream.Ensure(ref _buffer, bodyAndTrailer);
            var block = _buffer.AsSpan(0, bodyAndTrailer);
            if (PcapStream.ReadFully(_stream, block) != bodyAndTrailer) return Fail(WireError.Truncated);
            if (U32(block[^4..]) != total) return Fail(WireError.BadLength);
            var body = block[..^4];
            switch (type)
            {
                case InterfaceDescriptionType:
                {
                    var e = ReadInterface(body);
                    if (e != WireError.None) return Fail(e);
                    continue;
                }
                case EnhancedPacketType:
                    return ReadEnhanced(body, out record);
                case SimplePacketType:
                    return ReadSimple(body, out record);
                default:
                    continue; // §3.1: unknown blocks are skipped.
            }
        }
        return false;
    }

    private WireError ReadSectionHeader(ReadOnlySpan<byte> lengthField = default)
    {
        // SHB: type(4) length(4) byte-order magic(4) major(2) minor(2) section length(8) options... length(4)
        Span<byte> fixedPart = stackalloc byte[8];
        int have = 0;
        if (lengthField.Length == 4) { lengthField.CopyTo(fixedPart); have = 4; }
        if (PcapStream.ReadFully(_stream, fixedPart[have..]) != 8 - have) return WireError.Truncated;
        uint magicLe = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart[4..]);
        if (magicLe == ByteOrderMagic) _bigEndian = false;
        else if (BinaryPrimitives.ReadUInt32BigEndian(fixedPart[4..]) == ByteOrderMagic) _bigEndian = true;
        else return WireError.BadField;
        uint total = U32(fixedPart);
        if (total < 28 || total % 4 != 0 || total > MaxBlockLength) return WireError.BadLength;
        int rest = (int)total - 12;
        PcapStream.Ensure(ref _buffer, rest);
        var block = _buffer.AsSpan(0, rest);
        if (PcapStream.ReadFully(_stream, block) != rest) return WireError.Truncated;
        if (U32(block[^4..]) != total) return WireError.BadLength;
        // §4.1: readers refuse a major version they do not know (1 is current).
        if (U16(block) != 1) return WireError.BadVersion;
        _interfaces.Clear(); // interface ids are per section
        return WireError.None;
    }

    private WireError ReadInterface(ReadOnlySpan<byte> body)
    {
        // IDB body: link type(2) reserved(2) snap length(4) options...
        if (body.Length < 8) return WireError.Truncated;
        if (_interfaces.Count >= MaxInterfaces) return WireError.TooLong;
        var linkType = (PcapLinkType)U16(body);
        uint snap = U32(body[4..]);
        byte tsresol = 6;
        long tsoffset = 0;
        var options = body[8..];
        while (options.Length >= 4)
        {
            int code = U16(options);
            int length = U16(options[2..]);
            if (code == OptEndOfOpt) break;
            int padded = (length + 3) & ~3;
            if (options.Length < 4 + padded) return WireError.BadOption;
            var value = options.Slice(4, length);
            if (code == OptIfTsResol)
            {
                if (length != 1) return WireError.BadOption;
                tsresol = value[0];
                // Units finer than 10^-19 s or 2^-63 s do not fit the 64-bit arithmetic below.
                if ((tsresol & 0x80) == 0 ? tsresol > 19 : (tsresol & 0x7F) > 63) return WireError.Unsupported;
            }
            else if (code == OptIfTsOffset)
            {
                if (length != 8) return WireError.BadOption;
                tsoffset = _bigEndian ? BinaryPrimitives.ReadInt64BigEndian(value) : BinaryPrimitives.ReadInt64LittleEndian(value);
            }
            options = options[(4 + padded)..];
        }
        _interfaces.Add(new Interface(linkType, snap, tsresol, tsoffset));
        return WireError.None;
    }

    private bool ReadEnhanced(ReadOnlySpan<byte> body, out PcapRecord record)
    {
        record = default;
        // EPB body: interface id(4) ts high(4) ts low(4) captured length(4) original length(4) data, padded to 32 bits...
        if (body.Length < 20) return Fail(WireError.Truncated);
        uint id = U32(body);
        if (id >= (uint)_interfaces.Count) return Fail(WireError.BadField);
        ulong units = ((ulong)U32(body[4..]) << 32) | U32(body[8..]);
        uint captured = U32(body[12..]);
        uint original = U32(body[16..]);
        if (captured > (uint)(body.Length - 20)) return Fail(WireError.BadLength);
        var itf = _interfaces[(int)id];
        if (!TryToNanoseconds(units, itf, out long ns)) return Fail(WireError.BadField);
        record = new PcapRecord(ns, (int)Math.Min(original, int.MaxValue), itf.LinkType, (int)id, body.Slice(20, (int)captured));
        FramesRead++;
        return true;
    }

    private bool ReadSimple(ReadOnlySpan<byte> body, out PcapRecord record)
    {
        record = default;
        // SPB body: original length(4) data. §4.4: captured length = min(original, snap length of interface 0, what the block holds).
        if (body.Length < 4) return Fail(WireError.Truncated);
        if (_interfaces.Count == 0) return Fail(WireError.BadField);
        var itf = _interfaces[0];
        uint original = U32(body);
        long captured = Math.Min(original, body.Length - 4);
        if (itf.SnapLength != 0) captured = Math.Min(captured, itf.SnapLength);
        // An SPB carries no timestamp.
        record = new PcapRecord(0, (int)Math.Min(original, int.MaxValue), itf.LinkType, 0, body.Slice(4, (int)captured));
        FramesRead++;
        return true;
    }

    private static bool TryToNanoseconds(ulong units, Interface itf, out long ns)
    {
        // §4.2 if_tsresol: MSB clear => units of 10^-n s, set => units of 2^-n s.
        UInt128 value;
        int n = itf.TsResol & 0x7F;
        if ((itf.TsResol & 0x80) == 0)
        {
            value = n <= 9 ? (UInt128)units * Pow10(9 - n) : (UInt128)units / Pow10(n - 9);
        }
        else
        {
            value = ((UInt128)units * 1_000_000_000UL) >> n;
        }
        Int128 total = (Int128)value + (Int128)itf.TsOffsetSeconds * 1_000_000_000;
        if (total > long.MaxValue || total < long.MinValue) { ns = 0; return false; }
        ns = (long)total;
        return true;
    }

    private static ulong Pow10(int n)
    {
        ulong r = 1;
        for (int i = 0; i < n; i++) r *= 10;
        return r;
    }

    private bool Fail(WireError error)
    {
        Error = error;
        return false;
    }

    private ushort U16(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b);
    private uint U32(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);

    /// <summary>Closes the stream unless it was opened with leaveOpen.</summary>
    public void Dispose()
    {
        if (!_leaveOpen) _stream.Dispose();
    }
}
