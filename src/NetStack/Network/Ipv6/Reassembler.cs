using System.Buffers;
using System.Buffers.Binary;
using NetStack.Network.Fragmentation;
using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>RFC 8200 §4.5: fragments of one original packet share source, destination and Fragment Identification.</summary>
internal readonly record struct FragmentKey(Ipv6Address Source, Ipv6Address Destination, uint Identification);

/// <summary>A packet whose reassembly timed out, with its first fragment when that had arrived.</summary>
internal readonly record struct ExpiredReassembly(FragmentKey Key, bool HadFirstFragment, bool WasDiscarded);

/// <summary>
/// IPv6 reassembly (RFC 8200 §4.5) with the hardening of RFC 5722 (overlaps discard the whole packet) and
/// RFC 6946 (atomic fragments are processed in isolation, outside the queues). Bounded in packets, bytes and
/// fragments per packet; each packet times out 60 seconds after its first-arriving fragment. Pure; the
/// reassembled packet is written into one reusable buffer and is valid until the next call.
/// </summary>
internal sealed class Reassembler : IDisposable
{
    /// <summary>RFC 8200 §4.5: reassembly must complete within 60 seconds of the first-arriving fragment.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    private const int MaxPacket = Ipv6HeaderSize + 65535;
    private const int Ipv6HeaderSize = 40;
    private const int FragmentHeaderSize = 8;

    private readonly Dictionary<FragmentKey, Pending> _pending = [];
    private readonly int _maxPackets;
    private readonly int _maxBytes;
    private readonly int _maxFragments;
    private readonly TimeSpan _timeout;
    private readonly byte[] _output = new byte[MaxPacket];
    private int _bytesHeld;
    private int _completedLength;
    private byte[]? _lastExpiredFirst;
    private int _lastExpiredFirstLength;

    public Reassembler(int maxPackets, int maxBytes, int maxFragmentsPerPacket, TimeSpan timeout)
    {
        _maxPackets = maxPackets;
        _maxBytes = maxBytes;
        _maxFragments = maxFragmentsPerPacket;
        _timeout = timeout;
    }

    /// <summary>Packets being reassembled (or remembered as discarded until their timeout).</summary>
    public int PendingCount => _pending.Count;

    /// <summary>Bytes of fragment data held.</summary>
    public int BytesHeld => _bytesHeld;

    /// <summary>The packet completed by the last <see cref="Add"/> that returned <see cref="ReassemblyOutcome.Complete"/>.</summary>
    public ReadOnlySpan<byte> Completed => _output.AsSpan(0, _completedLength);

    /// <summary>The first fragment of the packet reported by the last <see cref="TryExpire"/> (for the Time Exceeded quote).</summary>
    public ReadOnlySpan<byte> ExpiredFirstFragment => _lastExpiredFirst is null ? default : _lastExpiredFirst.AsSpan(0, _lastExpiredFirstLength);

    public Instant NextDeadline
    {
        get
        {
            var next = Instant.MaxValue;
            foreach (var p in _pending.Values) next = Instant.Min(next, p.Deadline);
            return next;
        }
    }

    /// <summary>
    /// Adds one fragment. <paramref name="packet"/> is the whole IPv6 packet, trimmed to its Payload Length;
    /// the Fragment header starts at <paramref name="fragmentHeaderOffset"/> and the Next Header field that
    /// names it is at <paramref name="nextHeaderFieldOffset"/> (both from the start of the packet).
    /// </summary>
    public ReassemblyOutcome Add(ReadOnlySpan<byte> packet, int fragmentHeaderOffset, int nextHeaderFieldOffset,
        IpProtocol fragmentNextHeader, int fragmentOffset, bool moreFragments, uint identification,
        Ipv6Address source, Ipv6Address destination, Instant now)
    {
        int dataStart = fragmentHeaderOffset + FragmentHeaderSize;
        int dataLength = packet.Length - dataStart;
        var data = packet[dataStart..];

        // RFC 8200 §4.5: with M set, the fragment length must be a multiple of 8.
        if (moreFragments && (dataLength & 7) != 0) return ReassemblyOutcome.BadLength;
        // RFC 8200 §4.5: unfragmentable part (after the fixed header) + offset + length must not exceed 65,535.
        if (fragmentHeaderOffset - Ipv6HeaderSize + fragmentOffset + dataLength > 65535) return ReassemblyOutcome.TooLarge;

        // RFC 6946 §4: an atomic fragment (offset 0, M clear) is processed in isolation, outside the queues.
        if (fragmentOffset == 0 && !moreFragments)
        {
            EmitWhole(packet[..fragmentHeaderOffset], nextHeaderFieldOffset, fragmentNextHeader, data);
            return ReassemblyOutcome.Complete;
        }
        if (dataLength == 0) return ReassemblyOutcome.Inconsistent; // an empty non-atomic fragment carries nothing

        var key = new FragmentKey(source, destination, identification);
        if (!_pending.TryGetValue(key, out var p))
        {
            if (_pending.Count >= _maxPackets && !EvictOldest()) return ReassemblyOutcome.LimitReached;
            p = new Pending(now + _timeout);
            _pending[key] = p;
        }
        if (p.Discarded) return ReassemblyOutcome.AlreadyDiscarded;

        int end = fragmentOffset + dataLength;
        // The last fragment fixes the total; fragments disagreeing about it make the packet unusable.
        if (!moreFragments)
        {
            if ((p.Total >= 0 && p.Total != end) || p.MaxEnd > end) return Discard(p, ReassemblyOutcome.Inconsistent);
        }
        else if (p.Total >= 0 && end > p.Total)
        {
            return Discard(p, ReassemblyOutcome.Inconsistent);
        }

        // RFC 5722 §4 / RFC 8200 §4.5: any overlap abandons the whole packet, silently; exact duplicates may be dropped alone.
        for (int i = 0; i < p.Count; i++)
        {
            var (o, l) = p.Ranges[i];
            if (fragmentOffset < o + l && o < end)
            {
                if (o == fragmentOffset && l == dataLength && p.Data.AsSpan(o, l).SequenceEqual(data)) return ReassemblyOutcome.Duplicate;
                return Discard(p, ReassemblyOutcome.Overlap);
            }
        }
        if (p.Count >= _maxFragments) return Discard(p, ReassemblyOutcome.LimitReached);
        if (_bytesHeld + dataLength > _maxBytes) return ReassemblyOutcome.LimitReached;

        p.EnsureCapacity(end);
        data.CopyTo(p.Data.AsSpan(fragmentOffset));
        p.Add(fragmentOffset, dataLength);
        _bytesHeld += dataLength;
        if (!moreFragments) p.Total = end;
        if (fragmentOffset == 0)
        {
            // RFC 8200 §4.5: the unfragmentable part comes from the first fragment (offset 0).
            p.SetFirst(packet, fragmentHeaderOffset, nextHeaderFieldOffset, fragmentNextHeader);
        }

        if (p.Total < 0 || p.First is null || p.Received != p.Total) return ReassemblyOutcome.Incomplete;

        EmitWhole(p.First.AsSpan(0, p.UnfragmentableLength), p.NextHeaderFieldOffset, p.FirstNextHeader, p.Data.AsSpan(0, p.Total));
        Remove(key, p);
        return ReassemblyOutcome.Complete;
    }

    /// <summary>
    /// Reports (and forgets) one packet whose time ran out; call until false. When <see cref="ExpiredReassembly.HadFirstFragment"/>
    /// the first fragment is in <see cref="ExpiredFirstFragment"/> for the ICMPv6 Time Exceeded code 1 (RFC 8200 §4.5).
    /// </summary>
    public bool TryExpire(Instant now, out ExpiredReassembly expired)
    {
        foreach (var (k, p) in _pending)
        {
            if (now < p.Deadline) continue;
            bool hadFirst = p.First is not null && !p.Discarded;
            if (hadFirst)
            {
                if (_lastExpiredFirst is null || _lastExpiredFirst.Length < p.FirstLength) _lastExpiredFirst = new byte[Math.Max(p.FirstLength, 1280)];
                p.First.AsSpan(0, p.FirstLength).CopyTo(_lastExpiredFirst);
                _lastExpiredFirstLength = p.FirstLength;
            }
            expired = new ExpiredReassembly(k, hadFirst, p.Discarded);
            Remove(k, p);
            return true;
        }
        expired = default;
        return false;
    }

    public void Dispose()
    {
        foreach (var p in _pending.Values) p.Release();
        _pending.Clear();
        _bytesHeld = 0;
    }

    private void EmitWhole(ReadOnlySpan<byte> unfragmentable, int nextHeaderFieldOffset, IpProtocol nextHeader, ReadOnlySpan<byte> fragmentable)
    {
        unfragmentable.CopyTo(_output);
        fragmentable.CopyTo(_output.AsSpan(unfragmentable.Length));
        _completedLength = unfragmentable.Length + fragmentable.Length;
        // RFC 8200 §4.5: the Next Header of the last unfragmentable header takes the first fragment's
        // Fragment-header Next Header, and the Payload Length covers the reassembled packet.
        _output[nextHeaderFieldOffset] = (byte)nextHeader;
        BinaryPrimitives.WriteUInt16BigEndian(_output.AsSpan(4), (ushort)(_completedLength - Ipv6HeaderSize));
    }

    private ReassemblyOutcome Discard(Pending p, ReassemblyOutcome why)
    {
        // RFC 5722 §4: keep a tombstone until the timeout so that fragments still in flight are discarded too.
        _bytesHeld -= p.Received;
        p.Release();
        p.Discarded = true;
        return why;
    }

    private void Remove(FragmentKey key, Pending p)
    {
        if (!p.Discarded) _bytesHeld -= p.Received;
        p.Release();
        _pending.Remove(key);
    }

    private bool EvictOldest()
    {
        FragmentKey? victim = null;
        var oldest = Instant.MaxValue;
        foreach (var (k, p) in _pending) if (p.Deadline < oldest) { oldest = p.Deadline; victim = k; }
        if (victim is not { } key) return false;
        Remove(key, _pending[key]);
        return true;
    }

    private sealed class Pending(Instant deadline)
    {
        public readonly Instant Deadline = deadline;
        public (int Offset, int Length)[] Ranges = new (int, int)[8];
        public int Count;
        public int Received;
        public int MaxEnd;
        public int Total = -1;
        public bool Discarded;
        public byte[] Data = [];
        public byte[]? First;
        public int FirstLength;
        public int UnfragmentableLength;
        public int NextHeaderFieldOffset;
        public IpProtocol FirstNextHeader;

        public void EnsureCapacity(int end)
        {
            if (Data.Length >= end) return;
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(end, 2048));
            Data.AsSpan().CopyTo(bigger);
            if (Data.Length > 0) ArrayPool<byte>.Shared.Return(Data);
            Data = bigger;
        }

        public void Add(int offset, int length)
        {
            if (Count == Ranges.Length) Array.Resize(ref Ranges, Count * 2);
            Ranges[Count++] = (offset, length);
            Received += length;
            MaxEnd = Math.Max(MaxEnd, offset + length);
        }

        public void SetFirst(ReadOnlySpan<byte> packet, int fragmentHeaderOffset, int nextHeaderFieldOffset, IpProtocol nextHeader)
        {
            First = ArrayPool<byte>.Shared.Rent(packet.Length);
            packet.CopyTo(First);
            FirstLength = packet.Length;
            UnfragmentableLength = fragmentHeaderOffset;
            NextHeaderFieldOffset = nextHeaderFieldOffset;
            FirstNextHeader = nextHeader;
        }

        public void Release()
        {
            if (Data.Length > 0) ArrayPool<byte>.Shared.Return(Data);
            Data = [];
            if (First is not null) ArrayPool<byte>.Shared.Return(First);
            First = null;
            Count = 0;
            Received = 0;
        }
    }
}
