using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Simulation;

/// <summary>Decides whether a captured frame is fed to the stack (for example: only frames addressed to it).</summary>
public delegate bool CapturedFrameFilter(ReadOnlySpan<byte> frame);

/// <summary>
/// A device that plays a capture into a stack: frame <c>i</c> becomes receivable when <c>now</c> reaches its
/// capture timestamp rebased so that the first frame is at <see cref="Start"/> (frames are delivered in file order).
/// What the stack transmits is recorded with its <c>now</c> in <see cref="Transmitted"/>.
/// <see cref="NextArrival"/> tells the scheduler when the next captured frame is due.
/// A test and replay device: it loads the whole capture up front and keeps a copy of every transmitted frame
/// (one allocation per transmit), which no production device does.
/// </summary>
public sealed class ReplayDevice : INetDevice, ITimedDevice
{
    private readonly CapturedFrame[] _frames;
    private readonly long _offset;
    private readonly List<CapturedFrame> _transmitted = [];
    private int _next;

    /// <summary>
    /// Replays <paramref name="frames"/> (capture timestamps) rebased to <paramref name="start"/>. Frames rejected by
    /// <paramref name="filter"/> are skipped (their time still counts for rebasing).
    /// </summary>
    public ReplayDevice(IReadOnlyList<CapturedFrame> frames, Instant start, Medium medium = Medium.Ethernet,
        MacAddress hardwareAddress = default, int mtu = 1500, CapturedFrameFilter? filter = null)
    {
        ArgumentNullException.ThrowIfNull(frames);
        Medium = medium;
        HardwareAddress = hardwareAddress;
        Mtu = mtu;
        Start = start;
        _offset = frames.Count > 0 ? start.Microseconds - frames[0].Timestamp.Microseconds : 0;
        var kept = new List<CapturedFrame>(frames.Count);
        int largest = FrameLengths.MaxFrameFor(medium, mtu);
        foreach (var f in frames)
        {
            if (filter is not null && !filter(f.Data)) continue;
            kept.Add(f);
            largest = Math.Max(largest, f.Data.Length);
        }
        _frames = [.. kept];
        MaxFrameSize = largest;
    }

    /// <summary>
    /// Loads a capture (pcap or pcapng) from <paramref name="reader"/>; <paramref name="source"/> names it in errors.
    /// The medium follows its link type. (<c>ReplayDevice.FromFile(path, ...)</c>, which opens a file, is in NetStack.Tap.)
    /// </summary>
    /// <exception cref="InvalidDataException">A record is malformed, or the link type is not one the stack speaks.</exception>
    public static ReplayDevice FromCapture(IPcapReader reader, Instant start, MacAddress hardwareAddress = default, int mtu = 1500,
        CapturedFrameFilter? filter = null, string source = "capture")
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (!CapturedFrame.TryReadAll(reader, out var frames, out var linkType))
            throw new InvalidDataException($"{source}: malformed record after {frames.Count} frames ({reader.Error}).");
        if (!PcapLinkTypes.TryGetMedium(linkType, out var medium))
            throw new InvalidDataException($"{source}: link type {(int)linkType} is not Ethernet or raw IP.");
        return new ReplayDevice(frames, start, medium, hardwareAddress, mtu, filter);
    }

    /// <summary>The capture's first timestamp: the instant its frames are replayed from.</summary>
    public Instant Start { get; }
    /// <inheritdoc/>
    public Medium Medium { get; }
    /// <inheritdoc/>
    public int Mtu { get; }
    /// <inheritdoc/>
    public int MaxFrameSize { get; }
    /// <inheritdoc/>
    public MacAddress HardwareAddress { get; }

    /// <summary>Frames fed so far.</summary>
    public int Delivered => _next;

    /// <summary>Frames still to be fed.</summary>
    public int Remaining => _frames.Length - _next;

    /// <summary>Frames the stack transmitted, stamped with the <c>now</c> of each call.</summary>
    public IReadOnlyList<CapturedFrame> Transmitted => _transmitted;

    /// <summary>The rebased instant of the next captured frame, or <see cref="Instant.MaxValue"/> at the end.</summary>
    public Instant NextArrival => _next < _frames.Length ? Rebased(_frames[_next]) : Instant.MaxValue;

    /// <inheritdoc/>
    public bool TryReceive(Span<byte> buffer, Instant now, out int length)
    {
        length = 0;
        if (_next >= _frames.Length || Rebased(_frames[_next]) > now) return false;
        var data = _frames[_next++].Data;
        if (data.Length > buffer.Length) return false; // caller's buffer below MaxFrameSize
        data.CopyTo(buffer);
        length = data.Length;
        return true;
    }

    /// <inheritdoc/>
    public void Transmit(ReadOnlySpan<byte> frame, Instant now) => _transmitted.Add(new CapturedFrame(now, frame.ToArray()));

    private Instant Rebased(CapturedFrame f) => new(f.Timestamp.Microseconds + _offset);
}
