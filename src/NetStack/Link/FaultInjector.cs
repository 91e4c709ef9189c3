using NetStack.Wire;

namespace NetStack.Link;

/// <summary>
/// A seeded fault-injection decorator around any device: per direction (frames the stack transmits, frames it
/// receives) it drops, duplicates, corrupts, reorders, delays with jitter, rate-limits and MTU-clamps according
/// to a <see cref="FaultProfile"/>, counting each in <see cref="TransmitStatistics"/> / <see cref="ReceiveStatistics"/>.
/// <para>
/// All randomness comes from the injected <see cref="IRandomSource"/>, so a seed replays exactly. Held frames
/// live in pooled buffers (at most <c>holdLimit</c> per direction; overflow is a counted drop) and are released
/// when due: received ones through <see cref="TryReceive(Span{byte}, Instant, out int, out FrameReceiveInfo)"/>, transmitted ones on any call (including
/// <see cref="Service"/>). <see cref="NextArrival"/> says when the next held frame falls due, so a scheduler
/// polls the owner then.
/// </para>
/// <para>
/// The inner device's capabilities pass through, transmit offloads included; a frame handed over with offloads (a TCP
/// super-segment, a partial checksum) is first made into its wire frames in software (the base class's
/// <see cref="NetDeviceDecorator.Transmit(ReadOnlySpan{byte}, Instant, in FrameTransmitInfo)"/>), so faults apply to
/// wire frames: a lost segment, not a lost super-frame, and no corruption a device would then checksum over.
/// </para>
/// <para>
/// The same holds on receive: a super-frame the inner device hands over (a TAP's GSO frame from the host's TCP, a
/// device's GRO) stands for many wire frames, so it is cut into them first with the same software segmentation
/// (<see cref="SoftwareSegmentation"/>: lengths, sequence numbers, whole checksums) and each is faulted on its own; the
/// statistics count wire frames. Each surviving segment is handed over as a plain frame whose checksum the device vouches
/// for (DATA_VALID, as the bytes were verified or made whole here; a corrupted one loses it). A super-frame whose header
/// does not describe it is passed on whole for the stack to judge (a counted drop there). With no receive faults to
/// inject (<see cref="FaultProfile.None"/>), received super-frames pass whole, keeping the device's offloads.
/// </para>
/// </summary>
public sealed class FaultInjector : NetDeviceDecorator, IDisposable
{
    private readonly FaultPipe _tx;
    private readonly FaultPipe _rx;
    private readonly byte[] _scratch;
    private readonly byte[] _segment;
    private readonly bool _receiveFaults;

    /// <summary>Wraps <paramref name="inner"/>, applying <paramref name="transmit"/> to frames sent and <paramref name="receive"/> to frames received (null: no fault in that direction); at most <paramref name="holdLimit"/> frames are held back (delayed or reordered) at once.</summary>
    public FaultInjector(INetDevice inner, IRandomSource random, FaultProfile? transmit = null, FaultProfile? receive = null, int holdLimit = 4096) : base(inner)
    {
        ArgumentNullException.ThrowIfNull(random);
        TransmitProfile = transmit ?? FaultProfile.None;
        ReceiveProfile = receive ?? FaultProfile.None;
        _tx = new FaultPipe(TransmitProfile, random, inner.Medium, holdLimit);
        _rx = new FaultPipe(ReceiveProfile, random, inner.Medium, holdLimit);
        _scratch = new byte[Math.Max(inner.MaxFrameSize, 1)];
        _segment = new byte[_scratch.Length];
        _receiveFaults = ReceiveProfile != FaultProfile.None;
    }

    /// <summary>Faults applied to frames the owner transmits.</summary>
    public FaultProfile TransmitProfile { get; }

    /// <summary>Faults applied to frames the owner receives.</summary>
    public FaultProfile ReceiveProfile { get; }

    /// <summary>What the faults did to transmitted frames.</summary>
    public FaultStatistics TransmitStatistics => _tx.Statistics;

    /// <summary>What the faults did to received frames.</summary>
    public FaultStatistics ReceiveStatistics => _rx.Statistics;

    /// <inheritdoc/>
    public override Instant NextArrival
    {
        get
        {
            var next = Instant.Min(_tx.NextDue, _rx.NextDue);
            if (Inner is ITimedDevice t && !_rx.IsFull) next = Instant.Min(next, t.NextArrival);
            return next;
        }
    }

    /// <inheritdoc/>
    public override void Service(Instant now)
    {
        base.Service(now);
        while (_tx.TryTake(now, out var f))
        {
            Inner.Transmit(f.Span, now);
            FrameHeap.Return(f);
        }
    }

    /// <summary>
    /// Pulls what the inner device has through the receive faults and hands over the next frame due, with the receive
    /// info it arrived with (a corrupted frame loses any checksum claim: a device would not have verified it).
    /// </summary>
    public override bool TryReceive(Span<byte> buffer, Instant now, out int length, out FrameReceiveInfo info)
    {
        Service(now);
        while (true)
        {
            if (_rx.TryTake(now, out var f))
            {
                if (f.Length <= buffer.Length)
                {
                    f.Span.CopyTo(buffer);
                    length = f.Length;
                    info = f.Info;
                    FrameHeap.Return(f);
                    return true;
                }
                FrameHeap.Return(f); // caller's buffer below MaxFrameSize: the frame cannot be handed over
                continue;
            }
            // Nothing due: pull the next frame from the inner device (one at a time, so that a super-frame's segments
            // are handed over before the next is read and the held frames stay few).
            if (_rx.IsFull || !Inner.TryReceive(_scratch, now, out int n, out var innerInfo)) break;
            OfferReceived(_scratch.AsSpan(0, n), now, innerInfo);
        }
        length = 0;
        info = default;
        return false;
    }

    /// <summary>Puts a received frame through the receive faults, a super-frame as the wire frames it stands for.</summary>
    private void OfferReceived(ReadOnlySpan<byte> frame, Instant now, in FrameReceiveInfo info)
    {
        // Nothing to inject on receive (an injector kept in a chain for its counters): the super-frame passes whole, as
        // the device gave it, so the stack behind still receives the device's offloads.
        if (_receiveFaults && !info.Truncated && info.Virtio is { GsoType: not VirtioGsoType.None } h)
        {
            int networkOffset = Medium == Medium.Ethernet ? EthernetFrame.HeaderLength : 0;
            int count = SoftwareSegmentation.SegmentCount(frame, networkOffset, h, out _);
            if (count > 0)
            {
                var plain = info with { Virtio = new VirtioNetHeader(VirtioNetHeader.FlagDataValid, VirtioGsoType.None, 0, 0, 0, 0) };
                for (int i = 0; i < count; i++)
                {
                    int length = SoftwareSegmentation.WriteSegment(frame, networkOffset, h, i, _segment);
                    if (length > 0) _rx.Offer(_segment.AsSpan(0, length), now, plain);
                }
                return;
            }
        }
        _rx.Offer(frame, now, info);
    }

    /// <inheritdoc/>
    public override void Transmit(ReadOnlySpan<byte> frame, Instant now)
    {
        _tx.Offer(frame, now);
        Service(now);
    }

    /// <summary>Returns all held buffers to the pool.</summary>
    public void Dispose()
    {
        _tx.Clear();
        _rx.Clear();
    }
}
