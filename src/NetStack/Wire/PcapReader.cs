using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// Reads a classic libpcap capture file (tcpdump.org "pcap" format, draft-ietf-opsawg-pcap): microsecond
/// (magic 0xA1B2C3D4) and nanosecond (0xA1B23C4D) resolution, written in either byte order.
/// <para>
/// The constructor throws <see cref="InvalidDataException"/> when the 24-byte file header is missing or
/// corrupt; after that nothing throws on bad content: a truncated or impossible record ends reading with
/// <see cref="Error"/> set. Records longer than <see cref="MaxRecordLength"/> are refused as <see cref="WireError.BadLength"/>.
/// The data buffer is reused: no allocation per frame once it has grown to the largest record.
/// </para>
/// </summary>
public sealed class PcapReader : IPcapReader
{
    /// <summary>The magic number of a file with microsecond timestamps.</summary>
    public const uint MagicMicroseconds = 0xA1B2C3D4;
    /// <summary>The magic number of a file with nanosecond timestamps.</summary>
    public const uint MagicNanoseconds = 0xA1B23C4D;
    /// <summary>Bytes of the file header.</summary>
    public const int FileHeaderLength = 24;
    /// <summary>Bytes of a record header.</summary>
    public const int RecordHeaderLength = 16;

    /// <summary>The largest record accepted (libpcap's own maximum snap length is 256 KiB).</summary>
    public const int MaxRecordLength = 1 << 20;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly bool _bigEndian;
    private readonly bool _nanoseconds;
    private byte[] _buffer = new byte[2048];

    /// <summary>Opens a classic pcap stream positioned at its file header.</summary>
    /// <exception cref="InvalidDataException">The file header is truncated or its magic, version or link type field is not valid.</exception>
    public PcapReader(Stream stream, bool leaveOpen = false)
        : this(stream, leaveOpen, ReadPrefix(stream))
    {
    }

    internal PcapReader(Stream stream, bool leaveOpen, ReadOnlySpan<byte> magic)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _leaveOpen = leaveOpen;
        Span<byte> header = stackalloc byte[FileHeaderLength];
        magic.CopyTo(header);
        if (magic.Length != 4 || PcapStream.ReadFully(stream, header[4..]) != FileHeaderLength - 4)
            throw new InvalidDataException("Not a pcap file: the 24-byte file header is truncated.");
        uint le = BinaryPrimitives.ReadUInt32LittleEndian(header);
        uint be = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (le == MagicMicroseconds || le == MagicNanoseconds) { _bigEndian = false; _nanoseconds = le == MagicNanoseconds; }
        else if (be == MagicMicroseconds || be == MagicNanoseconds) { _bigEndian = true; _nanoseconds = be == MagicNanoseconds; }
        else throw new InvalidDataException($"Not a pcap file: magic 0x{be:X8}.");
        VersionMajor = U16(header[4..]);
        VersionMinor = U16(header[6..]);
        // draft-ietf-opsawg-pcap §4: the current version is 2.4; readers should refuse other major versions.
        if (VersionMajor != 2) throw new InvalidDataException($"Unsupported pcap version {VersionMajor}.{VersionMinor}.");
        SnapLength = U32(header[16..]);
        uint network = U32(header[20..]);
        // §4: LinkType is the low 16 bits; the upper bits carry the FCS length and reserved bits.
        LinkType = (PcapLinkType)(network & 0xFFFF);
    }

    private static byte[] ReadPrefix(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var magic = new byte[4];
        int n = PcapStream.ReadFully(stream, magic);
        return n == 4 ? magic : magic[..n];
    }

    /// <summary>The file's link type.</summary>
    public PcapLinkType LinkType { get; }
    /// <summary>The file format's major version.</summary>
    public int VersionMajor { get; }
    /// <summary>The file format's minor version.</summary>
    public int VersionMinor { get; }
    /// <summary>The most bytes of a packet the file holds.</summary>
    public uint SnapLength { get; }

    /// <summary>True when timestamps carry nanoseconds (magic 0xA1B23C4D).</summary>
    public bool IsNanosecond => _nanoseconds;

    /// <summary>Why reading stopped, if it stopped on a malformed file.</summary>
    public WireError Error { get; private set; }
    /// <summary>Packets read so far.</summary>
    public long FramesRead { get; private set; }

    /// <summary>Reads the next packet; false at the end of the file or on a malformed record (see <see cref="Error"/>).</summary>
    public bool TryRead(out PcapRecord record)
    {
        record = default;
        if (Error != WireError.None) return false;
        Span<byte> header = stackalloc byte[RecordHeaderLength];
        int n = PcapStream.ReadFully(_stream, header);
        if (n == 0) return false; // clean end of file
        if (n < RecordHeaderLength) return Fail(WireError.Truncated);
        uint seconds = U32(header);
        uint fraction = U32(header[4..]);
        uint captured = U32(header[8..]);
        uint original = U32(header[12..]);
        if (captured > MaxRecordLength) return Fail(WireError.BadLength);
        int length = (int)captured;
        PcapStream.Ensure(ref _buffer, length);
        if (PcapStream.ReadFully(_stream, _buffer.AsSpan(0, length)) != length) return Fail(WireError.Truncated);
        long ns = seconds * 1_000_000_000L + (_nanoseconds ? fraction : fraction * 1000L);
        record = new PcapRecord(ns, (int)Math.Min(original, int.MaxValue), LinkType, 0, _buffer.AsSpan(0, length));
        FramesRead++;
        return true;
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
