using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Simulation;

/// <summary>
/// One direction of an <see cref="InMemoryLink"/>: serialization queue, propagation, delivery. With offloads
/// (<see cref="LinkOptions.Offloads"/>) an offloaded frame (partial checksum, TSO/USO super-frame) is held whole with its
/// virtio-net header and handed over as such to a receiver that takes it, or cut into its wire frames on delivery.
/// </summary>
internal sealed class LinkDirection
{
    private readonly LinkOptions _options;
    private readonly Medium _medium;
    private readonly int _networkOffset;
    private readonly FrameHeap _inFlight;
    private readonly long[] _finishTimes;   // ring of serialization finish times of queued frames
    private int _head;
    private int _count;
    private Instant _busyUntil;
    private HeldFrame _cutting;             // an offloaded frame being delivered as wire frames, one per receive call
    private int _cutIndex;
    private int _cutCount;

    public LinkDirection(LinkOptions options, Medium medium)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.QueueLimit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InFlightLimit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Mtu, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.BitsPerSecond);
        _options = options;
        _medium = medium;
        _networkOffset = medium == Medium.Ethernet ? EthernetFrame.HeaderLength : 0;
        _inFlight = new FrameHeap(options.InFlightLimit, FrameHeap.CreatePool(options.InFlightLimit));
        _finishTimes = new long[options.QueueLimit];
    }

    public LinkOptions Options => _options;
    public LinkStatistics Statistics { get; } = new();
    public Instant NextArrival => _cutCount > 0 ? _cutting.Due : _inFlight.NextDue;

    /// <summary>True when this direction carries frames offloaded as <paramref name="header"/> asks, whole.</summary>
    public bool Carries(in VirtioNetHeader header, ReadOnlySpan<byte> frame)
    {
        var needed = Needed(header, frame, LinkOptions.TransmitOffloads);
        return (_options.Offloads & needed) == needed;
    }

    /// <summary>
    /// The offloads (transmit ones when <paramref name="side"/> is <see cref="LinkOptions.TransmitOffloads"/>, receive ones
    /// otherwise) a frame with <paramref name="header"/> needs to cross whole.
    /// </summary>
    private DeviceOffloads Needed(in VirtioNetHeader header, ReadOnlySpan<byte> frame, DeviceOffloads side)
    {
        bool transmit = side == LinkOptions.TransmitOffloads;
        var needed = DeviceOffloads.None;
        if (header.NeedsChecksum) needed |= transmit ? DeviceOffloads.TransmitChecksum : DeviceOffloads.ReceiveChecksum;
        bool v6 = frame.Length > _networkOffset && frame[_networkOffset] >> 4 == 6;
        needed |= header.GsoType switch
        {
            VirtioGsoType.None => DeviceOffloads.None,
            VirtioGsoType.TcpV4 => transmit ? DeviceOffloads.Tso4 : DeviceOffloads.ReceiveTcp4,
            VirtioGsoType.TcpV6 => transmit ? DeviceOffloads.Tso6 : DeviceOffloads.ReceiveTcp6,
            _ => transmit ? DeviceOffloads.Uso : v6 ? DeviceOffloads.ReceiveUdp6 : DeviceOffloads.ReceiveUdp4,
        };
        return needed;
    }

    public void Send(ReadOnlySpan<byte> frame, Instant now) => Send(frame, now, default);

    /// <summary>
    /// Queues <paramref name="frame"/>; an offloaded one (the caller checked <see cref="Carries"/>) is held whole with its
    /// header. Its segments must each fit the MTU (the wire carries them; Linux's veth lets a GSO skb through whole), and it
    /// occupies the wire for the bytes of all its segments.
    /// </summary>
    public void Send(ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info)
    {
        Statistics.Sent++;
        int ipLength = FrameLengths.IpPacketLength(_medium, frame);
        long wireBytes = frame.Length;
        bool super = false;
        if (!info.IsPlain)
        {
            var h = info.Virtio;
            int segments = SoftwareSegmentation.SegmentCount(frame, _networkOffset, h, out int headers);
            if (segments == 0) { Statistics.OffloadDrops++; return; }
            if (h.GsoType != VirtioGsoType.None)
            {
                if (ipLength > LinkOptions.GsoMaxSize) { Statistics.MtuDrops++; return; }
                super = true;
                ipLength = headers - _networkOffset + Math.Min((int)h.GsoSize, frame.Length - headers); // the largest segment
                wireBytes += (long)(segments - 1) * headers;
            }
        }
        if (ipLength > _options.Mtu) { Statistics.MtuDrops++; return; }
        var finish = now;
        if (_options.BitsPerSecond > 0)
        {
            // Frames whose last bit has left by now no longer occupy the queue.
            while (_count > 0 && _finishTimes[_head] <= now.Microseconds)
            {
                _head = (_head + 1) % _finishTimes.Length;
                _count--;
            }
            if (_count == _finishTimes.Length || _inFlight.IsFull) { Statistics.QueueDrops++; return; }
            var start = Instant.Max(now, _busyUntil);
            long bits = wireBytes * 8L;
            long micros = (bits * 1_000_000 + _options.BitsPerSecond - 1) / _options.BitsPerSecond; // rounded up
            finish = new Instant(start.Microseconds + micros);
            _busyUntil = finish;
            _finishTimes[(_head + _count) % _finishTimes.Length] = finish.Microseconds;
            _count++;
        }
        else if (_inFlight.IsFull) { Statistics.QueueDrops++; return; }
        if (info.IsPlain)
        {
            _inFlight.TryAdd(frame, finish + _options.Latency);
            return;
        }
        _inFlight.TryAdd(frame, finish + _options.Latency, new FrameReceiveInfo { Virtio = info.Virtio });
        Statistics.OffloadedFrames++;
        if (super) Statistics.SuperFrames++;
    }

    /// <summary>
    /// The next frame due: an offloaded one whole with its header when <paramref name="accept"/> (the receiver's receive
    /// offloads, of those this direction offers) covers it, else its wire frames one per call, made in software.
    /// </summary>
    public bool TryReceive(Span<byte> buffer, Instant now, out int length, out FrameReceiveInfo info, DeviceOffloads accept)
    {
        info = default;
        while (true)
        {
            if (_cutCount > 0)
            {
                var h = _cutting.Info.Virtio.GetValueOrDefault();
                int n = SoftwareSegmentation.WriteSegment(_cutting.Span, _networkOffset, h, _cutIndex, buffer);
                if (++_cutIndex == _cutCount)
                {
                    _inFlight.Release(_cutting);
                    _cutting = default;
                    _cutCount = 0;
                }
                if (n == 0) { Statistics.BufferDrops++; continue; }
                Statistics.SegmentedOnDelivery++;
                Statistics.Delivered++;
                length = n;
                return true;
            }
            if (!_inFlight.TryTakeDue(now, out var f)) break;
            if (f.Info.Virtio is { } v)
            {
                var needed = Needed(v, f.Span, LinkOptions.ReceiveOffloads);
                if ((accept & needed) != needed)
                {
                    int count = SoftwareSegmentation.SegmentCount(f.Span, _networkOffset, v, out _);
                    if (count == 0) { Statistics.OffloadDrops++; _inFlight.Release(f); continue; } // checked on send: never
                    _cutting = f;
                    _cutIndex = 0;
                    _cutCount = count;
                    continue;
                }
            }
            if (f.Length > buffer.Length)
            {
                Statistics.BufferDrops++;
                _inFlight.Release(f);
                continue;
            }
            f.Span.CopyTo(buffer);
            length = f.Length;
            info = f.Info;
            _inFlight.Release(f);
            Statistics.Delivered++;
            return true;
        }
        length = 0;
        return false;
    }

    public void Clear()
    {
        if (_cutCount > 0) _inFlight.Release(_cutting);
        _cutting = default;
        _cutCount = 0;
        _inFlight.Clear();
    }
}
