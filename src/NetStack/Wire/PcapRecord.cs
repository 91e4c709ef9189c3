namespace NetStack.Wire;

/// <summary>
/// One captured frame as a capture reader hands it over. <see cref="Data"/> points into the reader's
/// own buffer and is valid only until the next read.
/// </summary>
public readonly ref struct PcapRecord
{
    /// <summary>A packet captured at <paramref name="timestampNanoseconds"/> (since the Unix epoch), <paramref name="originalLength"/> bytes long on the wire, on interface <paramref name="interfaceId"/> of link type <paramref name="linkType"/>.</summary>
    public PcapRecord(long timestampNanoseconds, int originalLength, PcapLinkType linkType, int interfaceId, ReadOnlySpan<byte> data)
    {
        TimestampNanoseconds = timestampNanoseconds;
        OriginalLength = originalLength;
        LinkType = linkType;
        InterfaceId = interfaceId;
        Data = data;
    }

    /// <summary>Capture time in nanoseconds since the Unix epoch (1970-01-01T00:00:00Z).</summary>
    public long TimestampNanoseconds { get; }

    /// <summary>The frame's length on the wire (may exceed <see cref="Data"/>'s length when the capture was truncated by a snap length).</summary>
    public int OriginalLength { get; }

    /// <summary>The link type of the packet's interface.</summary>
    public PcapLinkType LinkType { get; }

    /// <summary>The pcapng interface the frame was captured on (always 0 in classic pcap).</summary>
    public int InterfaceId { get; }

    /// <summary>The captured bytes.</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>The timestamp in microseconds since the Unix epoch (truncated), as an <see cref="Instant"/> on that epoch.</summary>
    public Instant Timestamp => new(TimestampNanoseconds / 1000);
}

/// <summary>
/// A reader of capture records (classic pcap or pcapng). Reading stops at the end of the file or at
/// the first malformed record; <see cref="Error"/> then tells which (<see cref="WireError.None"/> for a clean end).
/// </summary>
public interface IPcapReader : IDisposable
{
    /// <summary>Reads the next frame; false at the end of the file or on a malformed record (see <see cref="Error"/>).</summary>
    bool TryRead(out PcapRecord record);

    /// <summary>Why reading stopped: <see cref="WireError.None"/> at a clean end of file.</summary>
    WireError Error { get; }

    /// <summary>Frames returned so far.</summary>
    long FramesRead { get; }
}
