using NetStack.Wire;

namespace NetStack.Simulation;

/// <summary>A frame with its capture timestamp, held in memory (for replays and golden comparisons).</summary>
public sealed record CapturedFrame(Instant Timestamp, byte[] Data)
{
    /// <summary>
    /// Reads every frame of <paramref name="reader"/>. Timestamps become <see cref="Instant"/>s in microseconds since
    /// the Unix epoch. Returns false (with the frames read so far) when the capture ends in a malformed record.
    /// </summary>
    public static bool TryReadAll(IPcapReader reader, out List<CapturedFrame> frames, out PcapLinkType linkType)
    {
        ArgumentNullException.ThrowIfNull(reader);
        frames = [];
        linkType = PcapLinkType.Ethernet;
        while (reader.TryRead(out var r))
        {
            if (frames.Count == 0) linkType = r.LinkType;
            frames.Add(new CapturedFrame(r.Timestamp, r.Data.ToArray()));
        }
        return reader.Error == WireError.None;
    }
}
