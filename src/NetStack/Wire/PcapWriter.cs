using System.Buffers.Binary;
using NetStack.Link;

namespace NetStack.Wire;

/// <summary>
/// Writes a classic pcap file (version 2.4, microsecond timestamps, little-endian) that tcpdump, tshark and
/// Wireshark open. Records are written straight to the stream with no allocation per frame; frames longer than
/// the snap length are truncated and keep their original length. Wrap the stream in a <see cref="BufferedStream"/>
/// for many small writes.
/// </summary>
public sealed class PcapWriter : IDisposable
{
    /// <summary>The default snap length (libpcap's maximum, 256 KiB).</summary>
    public const int DefaultSnapLength = 262_144;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private bool _disposed;

    /// <summary>Writes the file header immediately.</summary>
    public PcapWriter(Stream stream, PcapLinkType linkType, int snapLength = DefaultSnapLength, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(snapLength, 1);
        _stream = stream;
        _leaveOpen = leaveOpen;
        LinkType = linkType;
        SnapLength = snapLength;
        Span<byte> h = stackalloc byte[PcapReader.FileHeaderLength];
        BinaryPrimitives.WriteUInt32LittleEndian(h, PcapReader.MagicMicroseconds);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(h[8..], 0);   // thiszone: always 0 (UTC)
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], 0); // sigfigs: always 0
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], (uint)snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], (uint)linkType);
        _stream.Write(h);
    }

    /// <summary>A writer for frames of a device with <paramref name="medium"/>.</summary>
    public PcapWriter(Stream stream, Medium medium, int snapLength = DefaultSnapLength, bool leaveOpen = false)
        : this(stream, PcapLinkTypes.ForMedium(medium), snapLength, leaveOpen)
    {
    }

    /// <summary>The file's link type.</summary>
    public PcapLinkType LinkType { get; }
    /// <summary>The most bytes of a packet written (longer ones are cut).</summary>
    public int SnapLength { get; }
    /// <summary>Packets written so far.</summary>
    public long FramesWritten { get; private set; }

    /// <summary>Writes one record stamped <paramref name="timestamp"/>, read as microseconds since the Unix epoch (negative clamps to 0).</summary>
    public void Write(ReadOnlySpan<byte> frame, Instant timestamp) => Write(frame, timestamp.Microseconds);

    /// <summary>Writes one record stamped <paramref name="microsecondsSinceEpoch"/>.</summary>
    public void Write(ReadOnlySpan<byte> frame, long microsecondsSinceEpoch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long us = Math.Max(0, microsecondsSinceEpoch);
        long seconds = Math.Min(us / 1_000_000, uint.MaxValue);
        int captured = Math.Min(frame.Length, SnapLength);
        Span<byte> h = stackalloc byte[PcapReader.RecordHeaderLength];
        BinaryPrimitives.WriteUInt32LittleEndian(h, (uint)seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)(us % 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], (uint)captured);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], (uint)frame.Length);
        _stream.Write(h);
        _stream.Write(frame[..captured]);
        FramesWritten++;
    }

    /// <summary>Flushes the stream.</summary>
    public void Flush() => _stream.Flush();

    /// <summary>Flushes, and closes the stream unless it was opened with leaveOpen.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stream.Flush();
        if (!_leaveOpen) _stream.Dispose();
    }
}
