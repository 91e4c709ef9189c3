using NetStack.Wire;

namespace NetStack.Link;

/// <summary>
/// A decorator that records every frame received from and transmitted to the device it wraps into a classic
/// pcap file (like <c>tcpdump -w</c>), stamped with the <c>now</c> of the call. Linktype follows the device medium
/// (Ethernet 1, raw IP 101). Instants are written as microseconds since the Unix epoch after adding
/// <see cref="EpochOffset"/>, so virtual time 0 shows as 1970-01-01 unless an offset is given.
/// Flushes and closes the file on <see cref="Dispose"/>; it does not dispose the inner device.
/// </summary>
public sealed class PcapRecorder : NetDeviceDecorator, IDisposable
{
    private readonly PcapWriter _writer;

    /// <summary>Records every frame <paramref name="inner"/> sends or receives to <paramref name="output"/> as a pcap file; <paramref name="epochOffset"/> is added to the stack's instants to make the file's timestamps.</summary>
    public PcapRecorder(INetDevice inner, Stream output, bool leaveOpen = false, TimeSpan epochOffset = default) : base(inner)
    {
        ArgumentNullException.ThrowIfNull(output);
        EpochOffset = epochOffset;
        _writer = new PcapWriter(output, inner.Medium, Math.Max(PcapWriter.DefaultSnapLength, inner.MaxFrameSize), leaveOpen);
    }

    /// <summary>Added to every <c>now</c> before it is written as a timestamp.</summary>
    public TimeSpan EpochOffset { get; }

    /// <summary>Frames written so far.</summary>
    public long FramesRecorded => _writer.FramesWritten;

    /// <summary>Records the frame (its bytes; a virtio-net header is not part of them) and hands it on with its receive info.</summary>
    public override bool TryReceive(Span<byte> buffer, Instant now, out int length, out FrameReceiveInfo info)
    {
        if (!Inner.TryReceive(buffer, now, out length, out info)) return false;
        _writer.Write(buffer[..length], now + EpochOffset);
        return true;
    }

    /// <inheritdoc/>
    public override void Transmit(ReadOnlySpan<byte> frame, Instant now)
    {
        _writer.Write(frame, now + EpochOffset);
        Inner.Transmit(frame, now);
    }

    /// <summary>
    /// Records an offloaded frame as it leaves the stack (a super-frame whole, a partial checksum as the pseudo-header sum,
    /// as <c>tcpdump</c> on a Linux host with TSO shows its own packets) and hands it on with its offload.
    /// </summary>
    public override void Transmit(ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info)
    {
        _writer.Write(frame, now + EpochOffset);
        Inner.Transmit(frame, now, info);
    }

    /// <summary>Flushes the frames written so far to the output.</summary>
    public void Flush() => _writer.Flush();

    /// <summary>Flushes and closes the output (unless it was opened with leaveOpen).</summary>
    public void Dispose() => _writer.Dispose();
}
