using NetStack.Wire;

namespace NetStack.Link;

/// <summary>
/// A decorator that records every frame received from and transmitted to the device it wraps into a classic
/// pcap file (like <c>tcpdump -w</c>), stamped with the <c>now</c> of the call. Linktype follows the device medium
/// (Ethernet 1, raw IP 101). Instants are written as microseconds since the Unix epoch after adding
/// <see cref="EpochOffset"/>, so virtual time 0 shows as 1970-01-01 unless an offset is given.
/// Flushes and closes the file on <see cref="Dispose"/>; it does not dispose the inner device.
/// </summary>
public sealed class PcapRecorder : INetDevice, ITimedDevice, IDisposable
{
    private readonly INetDevice _inner;
    private readonly PcapWriter _writer;

    public PcapRecorder(INetDevice inner, Stream output, bool leaveOpen = false, TimeSpan epochOffset = default)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(output);
        _inner = inner;
        EpochOffset = epochOffset;
        _writer = new PcapWriter(output, inner.Medium, Math.Max(PcapWriter.DefaultSnapLength, inner.MaxFrameSize), leaveOpen);
    }

    /// <summary>Added to every <c>now</c> before it is written as a timestamp.</summary>
    public TimeSpan EpochOffset { get; }

    /// <summary>The device being recorded.</summary>
    public INetDevice Inner => _inner;

    public long FramesRecorded => _writer.FramesWritten;

    public Medium Medium => _inner.Medium;
    public int Mtu => _inner.Mtu;
    public int MaxFrameSize => _inner.MaxFrameSize;
    public MacAddress HardwareAddress => _inner.HardwareAddress;

    public Instant NextArrival => _inner is ITimedDevice t ? t.NextArrival : Instant.MaxValue;

    public void Service(Instant now)
    {
        if (_inner is ITimedDevice t) t.Service(now);
    }

    public bool TryReceive(Span<byte> buffer, Instant now, out int length)
    {
        if (!_inner.TryReceive(buffer, now, out length)) return false;
        _writer.Write(buffer[..length], now + EpochOffset);
        return true;
    }

    public void Transmit(ReadOnlySpan<byte> frame, Instant now)
    {
        _writer.Write(frame, now + EpochOffset);
        _inner.Transmit(frame, now);
    }

    public void Flush() => _writer.Flush();

    public void Dispose() => _writer.Dispose();
}
