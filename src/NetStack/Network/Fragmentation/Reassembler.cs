using System.Buffers;
using NetStack.Network.Ipv4;

namespace NetStack.Network.Fragmentation;

/// <summary>
/// One family's reassembly rules for <see cref="Reassembler{TKey, TPolicy}"/> (IPv4's in <see cref="Ipv4Family"/>, IPv6's in
/// <see cref="Ipv6.Ipv6Family"/>). Static members: the policy is a type, never an object, so the engine's questions are
/// answered at JIT time (no virtual call, no allocation). Each member names the RFC rule it stands for.
/// </summary>
internal interface IReassemblyPolicy
{
    /// <summary>Room kept in front of the data for the first fragment's header (grown when a longer header arrives).</summary>
    static abstract int HeaderRoom { get; }

    /// <summary>
    /// A non-last fragment whose length is not a multiple of 8: trimmed to one (true: IPv4 as Linux's ip_frag_queue; an empty
    /// result is <see cref="ReassemblyOutcome.Malformed"/>), or refused as <see cref="ReassemblyOutcome.BadLength"/> (false:
    /// RFC 8200 §4.5, Parameter Problem code 0).
    /// </summary>
    static abstract bool TrimsNonLastFragments { get; }

    /// <summary>An empty last fragment only fixes the datagram's end (true: IPv4), or is <see cref="ReassemblyOutcome.Inconsistent"/>
    /// (false: IPv6, where a non-atomic fragment without data carries nothing).</summary>
    static abstract bool AcceptsEmptyLastFragment { get; }

    /// <summary>
    /// The part of a stored header (as handed to <see cref="Reassembler{TKey, TPolicy}.Add"/>) that counts toward
    /// <see cref="ReassemblyLimits.MaxDatagramSize"/>: IPv4 the whole header (RFC 791 §3.1 Total Length); IPv6 the
    /// unfragmentable part after the fixed header (RFC 8200 §4.5: the reassembled Payload Length).
    /// </summary>
    static abstract int CountedHeaderLength(int headerLength);

    /// <summary>A fragment reaching past the largest datagram discards the whole datagram (true: IPv4, as Linux) or only
    /// itself (false: RFC 8200 §4.5 "that fragment must be discarded").</summary>
    static abstract bool TooLargeDiscardsDatagram { get; }

    /// <summary>
    /// RFC 5722 §4 (true): any overlap that is not an exact duplicate of one fragment discards the whole datagram, and the
    /// datagram is remembered as discarded until its timeout so that its fragments still in flight are discarded too; the
    /// ranges are kept per fragment. False (IPv4): bytes identical to data held are accepted, differing bytes discard the
    /// datagram; the ranges are merged.
    /// </summary>
    static abstract bool DiscardsOnAnyOverlap { get; }

    /// <summary>A new datagram when <see cref="ReassemblyLimits.MaxDatagrams"/> are under way evicts the one closest to its
    /// timeout (true: IPv6) or is refused (false: IPv4).</summary>
    static abstract bool EvictsOldestWhenFull { get; }

    /// <summary><see cref="ReassemblyLimits.MaxBytes"/> bounds the buffers held (true: IPv4, Linux's truesize accounting) or
    /// the fragment data held (false: IPv6).</summary>
    static abstract bool CountsBufferCapacity { get; }

    /// <summary>
    /// Turns the stored first-fragment header into the reassembled datagram's header, in place, given the datagram's
    /// reassembled payload length; returns the header's new length (the header still ends where the payload begins).
    /// <paramref name="headerTag"/> is what the family passed with the first fragment.
    /// </summary>
    static abstract int FinishHeader(Span<byte> header, int headerTag, int payloadLength);
}

/// <summary>A whole datagram out of a <see cref="Reassembler{TKey, TPolicy}"/>: its header (as the family's
/// <see cref="IReassemblyPolicy.FinishHeader"/> left it) immediately followed by the reassembled payload, in one pooled buffer.</summary>
internal readonly struct ReassembledDatagram
{
    internal ReassembledDatagram(byte[] buffer, int headerOffset, int headerLength, int payloadLength)
    {
        Buffer = buffer;
        HeaderOffset = headerOffset;
        HeaderLength = headerLength;
        PayloadLength = payloadLength;
    }

    /// <summary>The pooled buffer; the header starts at <see cref="HeaderOffset"/>, the payload right after it.</summary>
    public byte[] Buffer { get; }
    public int HeaderOffset { get; }
    public int HeaderLength { get; }
    public int PayloadLength { get; }

    /// <summary>The header: IPv4's is the first fragment's as received (its Total Length, MF and checksum still describe that fragment).</summary>
    public Span<byte> Header => Buffer.AsSpan(HeaderOffset, HeaderLength);
    public Span<byte> Payload => Buffer.AsSpan(HeaderOffset + HeaderLength, PayloadLength);
    /// <summary>Header and payload together.</summary>
    public Span<byte> Datagram => Buffer.AsSpan(HeaderOffset, HeaderLength + PayloadLength);

    /// <summary>Returns the buffer to the pool; the datagram is unusable afterwards.</summary>
    public void Release()
    {
        if (Buffer != null) ArrayPool<byte>.Shared.Return(Buffer);
    }
}

/// <summary>Called for each datagram that timed out. <paramref name="firstFragment"/> is the first fragment as received (header
/// and data, IPv4 with any data contiguous to it) when fragment 0 arrived, empty otherwise: RFC 792 / RFC 8200 §4.5 send
/// Time Exceeded code 1 only then.</summary>
internal delegate void ReassemblyTimeoutHandler<TKey>(in TKey key, ReadOnlySpan<byte> firstFragment, int interfaceIndex);

/// <summary>
/// Reassembly for either family (RFC 791 §3.2 with the hole bookkeeping of RFC 815 kept as a sorted list of received
/// ranges; RFC 8200 §4.5 hardened by RFC 5722, RFC 6946 and, at the caller, RFC 7112), one engine with each family's rules
/// in <typeparamref name="TPolicy"/>. Fragments belong together when their <typeparamref name="TKey"/>s agree (IPv4: source,
/// destination, protocol, identification; IPv6: source, destination, identification). Bounded in every dimension by
/// <see cref="ReassemblyLimits"/> (datagrams, bytes, ranges per datagram, datagram size, lifetime), every bound counted by
/// the caller when hit. Pure: no clock, no I/O; the bookkeeping is recycled, the buffers pooled.
/// </summary>
internal sealed class Reassembler<TKey, TPolicy> : IDisposable
    where TKey : struct, IEquatable<TKey>
    where TPolicy : IReassemblyPolicy
{
    private readonly Dictionary<TKey, Entry> _entries = [];
    private readonly List<TKey> _scratch = [];
    private readonly Stack<Entry> _free = new(); // recycled bookkeeping: no allocation per datagram in steady state
    private Instant _nextExpiry = Instant.MaxValue;

    public Reassembler(ReassemblyLimits? limits = null) => Limits = limits ?? ReassemblyLimits.Default;

    public ReassemblyLimits Limits { get; }

    /// <summary>Datagrams under reassembly (and, under RFC 5722, discarded ones remembered until their timeout).</summary>
    public int DatagramCount => _entries.Count;

    /// <summary>Bytes held by incomplete datagrams, as <see cref="IReassemblyPolicy.CountsBufferCapacity"/> counts them
    /// (bounded by <see cref="ReassemblyLimits.MaxBytes"/>).</summary>
    public long BytesHeld { get; private set; }

    /// <summary>Returns a completed datagram's buffer to the pool.</summary>
    public static void Release(in ReassembledDatagram datagram) => datagram.Release();

    /// <summary>
    /// Adds one fragment: <paramref name="header"/> is what precedes its data and is kept from the first fragment for the
    /// datagram (IPv4: its header, options included; IPv6: the packet up to and including the Fragment header),
    /// <paramref name="offset"/> its Fragment Offset in bytes, <paramref name="more"/> its M flag, <paramref name="data"/> its
    /// data; <paramref name="headerTag"/> goes with the first fragment's header to <see cref="IReassemblyPolicy.FinishHeader"/>.
    /// On <see cref="ReassemblyOutcome.Complete"/>, <paramref name="datagram"/> holds the datagram until it is released.
    /// </summary>
    public ReassemblyOutcome Add(in TKey key, ReadOnlySpan<byte> header, int offset, bool more, ReadOnlySpan<byte> data,
        int interfaceIndex, Instant now, out ReassembledDatagram datagram, int headerTag = 0)
    {
        datagram = default;
        if (TPolicy.TrimsNonLastFragments)
        {
            // RFC 791 §3.2: every fragment but the last carries a multiple of 8 bytes. Linux (ip_frag_queue) trims a
            // longer non-last fragment down to a multiple of 8 rather than refusing it; so do we.
            if (more) data = data[..(data.Length & ~7)];
            if (more && data.IsEmpty) return ReassemblyOutcome.Malformed;
        }
        else if (more && (data.Length & 7) != 0)
        {
            // RFC 8200 §4.5: with M set, the fragment's length must be a multiple of 8 (else Parameter Problem code 0).
            return ReassemblyOutcome.BadLength;
        }
        int end = offset + data.Length;

        _entries.TryGetValue(key, out var entry);
        // RFC 791 §3.1: Total Length is 16 bits, a train reaching past 65,535 is the "ping of death"; RFC 8200 §4.5: the
        // unfragmentable part plus offset and length must not exceed 65,535.
        if (TPolicy.CountedHeaderLength(header.Length) + end > Limits.MaxDatagramSize)
        {
            if (TPolicy.TooLargeDiscardsDatagram && entry != null && !entry.Discarded) Discard(key, entry, ReassemblyOutcome.TooLarge);
            return ReassemblyOutcome.TooLarge;
        }

        // RFC 6946 §4: an atomic fragment (offset 0, M clear) is processed in isolation, outside the queues. (IPv4 never
        // hands one over: with offset 0 and MF clear it is a whole datagram, RFC 791 §3.2.)
        if (offset == 0 && !more) return CompleteAtomic(header, data, headerTag, out datagram);
        if (data.IsEmpty && !TPolicy.AcceptsEmptyLastFragment) return ReassemblyOutcome.Inconsistent;

        if (entry == null)
        {
            if (_entries.Count >= Limits.MaxDatagrams && !(TPolicy.EvictsOldestWhenFull && EvictOldest()))
                return ReassemblyOutcome.LimitReached;
            entry = _free.TryPop(out var recycled) ? recycled : new Entry();
            entry.Reset(now + Limits.EffectiveTimeout, interfaceIndex);
            _entries.Add(key, entry);
            _nextExpiry = Instant.Min(_nextExpiry, entry.Expires);
        }
        // RFC 5722 §4: fragments of a discarded datagram, "including those not yet received", are discarded too.
        if (entry.Discarded) return ReassemblyOutcome.AlreadyDiscarded;

        // The end of the datagram, once known, is fixed: a different last fragment, or data past it, is corrupt
        // (Linux ip_frag_queue: "If we already have some bits beyond end or have different end, the segment is corrupted").
        if (!more)
        {
            if (entry.TotalLength >= 0 && entry.TotalLength != end || entry.MaxEnd > end) return Discard(key, entry, ReassemblyOutcome.Inconsistent);
        }
        else if (entry.TotalLength >= 0 && end > entry.TotalLength)
        {
            return Discard(key, entry, ReassemblyOutcome.Inconsistent);
        }

        // Overlap with data already held.
        bool coveredEntirely = false;
        foreach (var (s, e) in entry.Ranges)
        {
            int os = Math.Max(s, offset), oe = Math.Min(e, end);
            if (os >= oe) continue;
            var held = entry.Buffer!.AsSpan(entry.Room + os, oe - os);
            if (TPolicy.DiscardsOnAnyOverlap)
            {
                // RFC 5722 §4 / RFC 8200 §4.5: an exact duplicate may be dropped alone; any other overlap abandons the whole
                // datagram, silently.
                if (s == offset && e == end && held.SequenceEqual(data)) return ReassemblyOutcome.Duplicate;
                return Discard(key, entry, ReassemblyOutcome.Overlap);
            }
            // IPv4: identical bytes are a duplicate, different bytes discard all, in the spirit of RFC 5722 (RFC 1858 and the
            // "teardrop" attacks). Linux (ip_fragment.c since 4.19) is stricter still: it discards on any partial overlap.
            if (!held.SequenceEqual(data.Slice(os - offset, oe - os))) return Discard(key, entry, ReassemblyOutcome.Overlap);
            if (s <= offset && end <= e) coveredEntirely = true;
        }
        if (coveredEntirely && (more || entry.TotalLength >= 0)) return ReassemblyOutcome.Duplicate;

        if (data.IsEmpty)
        {
            // An empty last fragment only fixes the datagram's end.
            entry.TotalLength = end;
            entry.MaxEnd = Math.Max(entry.MaxEnd, end);
            return TryComplete(key, entry, out datagram);
        }
        int room = Math.Max(TPolicy.HeaderRoom, offset == 0 ? header.Length : 0);
        bool newRange = NeedsNewRange(entry, offset, end);
        if (TPolicy.CountsBufferCapacity)
        {
            if (!EnsureCapacity(entry, room, end, counted: true))
            {
                if (entry.Ranges.Count == 0) Discard(key, entry, ReassemblyOutcome.LimitReached);
                return ReassemblyOutcome.LimitReached;
            }
            if (newRange && entry.Ranges.Count >= Limits.MaxHolesPerDatagram) return Discard(key, entry, ReassemblyOutcome.LimitReached);
        }
        else
        {
            if (newRange && entry.Ranges.Count >= Limits.MaxHolesPerDatagram) return Discard(key, entry, ReassemblyOutcome.LimitReached);
            if (BytesHeld + data.Length > Limits.MaxBytes) return ReassemblyOutcome.LimitReached;
            EnsureCapacity(entry, room, end, counted: false);
            BytesHeld += data.Length;
        }
        AddRange(entry, offset, end);
        data.CopyTo(entry.Buffer.AsSpan(entry.Room + offset));
        if (offset == 0)
        {
            // The first fragment's header heads the datagram (RFC 791 §3.2: "the header of the fragment with offset zero";
            // RFC 8200 §4.5: the unfragmentable part "from the Original Packet's first fragment").
            header.CopyTo(entry.Buffer.AsSpan(entry.Room - header.Length));
            entry.HeaderLength = header.Length;
            entry.HeaderTag = headerTag;
        }
        if (!more) entry.TotalLength = end;
        entry.MaxEnd = Math.Max(entry.MaxEnd, end);
        // The first fragment's header (options and all) heads the whole datagram: together they must still fit.
        if (TPolicy.CountedHeaderLength(entry.HeaderLength) + entry.MaxEnd > Limits.MaxDatagramSize)
            return Discard(key, entry, ReassemblyOutcome.TooLarge);
        return TryComplete(key, entry, out datagram);
    }

    private static ReassemblyOutcome CompleteAtomic(ReadOnlySpan<byte> header, ReadOnlySpan<byte> data, int headerTag, out ReassembledDatagram datagram)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, header.Length + data.Length));
        header.CopyTo(buffer);
        data.CopyTo(buffer.AsSpan(header.Length));
        int headerLength = TPolicy.FinishHeader(buffer.AsSpan(0, header.Length), headerTag, data.Length);
        datagram = new ReassembledDatagram(buffer, header.Length - headerLength, headerLength, data.Length);
        return ReassemblyOutcome.Complete;
    }

    private ReassemblyOutcome TryComplete(in TKey key, Entry entry, out ReassembledDatagram datagram)
    {
        datagram = default;
        // Every range lies within [0, TotalLength) once it is known (checked above), so covering it all means being whole.
        if (entry.TotalLength < 0 || entry.HeaderLength == 0 || entry.Received != entry.TotalLength) return ReassemblyOutcome.Incomplete;
        var buffer = entry.Buffer!;
        int headerStart = entry.Room - entry.HeaderLength;
        int headerLength = TPolicy.FinishHeader(buffer.AsSpan(headerStart, entry.HeaderLength), entry.HeaderTag, entry.TotalLength);
        datagram = new ReassembledDatagram(buffer, entry.Room - headerLength, headerLength, entry.TotalLength);
        entry.Buffer = null; // handed over: not returned to the pool here
        Remove(key, entry, buffer.Length);
        return ReassemblyOutcome.Complete;
    }

    /// <summary>Discards the datagrams whose time is up, reporting each to <paramref name="onTimeout"/>; returns the next deadline.</summary>
    public Instant Poll(Instant now, ReassemblyTimeoutHandler<TKey>? onTimeout = null)
    {
        if (now < _nextExpiry) return _nextExpiry; // nothing can have expired yet (an early answer is harmless)
        var next = Instant.MaxValue;
        _scratch.Clear();
        foreach (var (k, e) in _entries)
        {
            if (e.Expires <= now) _scratch.Add(k);
            else next = Instant.Min(next, e.Expires);
        }
        foreach (var k in _scratch)
        {
            var e = _entries[k];
            if (onTimeout != null)
            {
                ReadOnlySpan<byte> first = default;
                if (e.HeaderLength > 0 && e.Ranges.Count > 0 && e.Ranges[0].Start == 0)
                    first = e.Buffer.AsSpan(e.Room - e.HeaderLength, e.HeaderLength + e.Ranges[0].End);
                onTimeout(k, first, e.InterfaceIndex);
            }
            Remove(k, e, e.Buffer?.Length ?? 0);
        }
        _scratch.Clear();
        _nextExpiry = next;
        return next;
    }

    /// <summary>Returns every buffer to the pool (<see cref="Clear"/>).</summary>
    public void Dispose() => Clear();

    /// <summary>Drops every datagram under reassembly.</summary>
    public void Clear()
    {
        foreach (var e in _entries.Values) e.ReleaseBuffer();
        _entries.Clear();
        BytesHeld = 0;
    }

    /// <summary>Abandons a datagram: forgotten, or under RFC 5722 §4 remembered (without its data) until its timeout.</summary>
    private ReassemblyOutcome Discard(in TKey key, Entry entry, ReassemblyOutcome why)
    {
        if (!TPolicy.DiscardsOnAnyOverlap)
        {
            Remove(key, entry, entry.Buffer?.Length ?? 0);
            return why;
        }
        Uncount(entry, entry.Buffer?.Length ?? 0);
        entry.ReleaseBuffer();
        entry.Ranges.Clear();
        entry.Received = 0;
        entry.HeaderLength = 0;
        entry.Discarded = true;
        return why;
    }

    private void Remove(in TKey key, Entry entry, int bufferLength)
    {
        _entries.Remove(key);
        if (!entry.Discarded) Uncount(entry, bufferLength);
        entry.ReleaseBuffer();
        if (_free.Count < Limits.MaxDatagrams) _free.Push(entry);
    }

    private void Uncount(Entry entry, int bufferLength) => BytesHeld -= TPolicy.CountsBufferCapacity ? bufferLength : entry.Received;

    /// <summary>Makes room for a new datagram by forgetting the one closest to its timeout (IPv6's rule).</summary>
    private bool EvictOldest()
    {
        bool found = false;
        TKey victim = default;
        var oldest = Instant.MaxValue;
        foreach (var (k, e) in _entries)
        {
            if (e.Expires < oldest || !found)
            {
                oldest = e.Expires;
                victim = k;
                found = true;
            }
        }
        if (found) Remove(victim, _entries[victim], _entries[victim].Buffer?.Length ?? 0);
        return found;
    }

    /// <summary>Grows the entry's buffer to hold data up to <paramref name="end"/> behind at least <paramref name="room"/> bytes
    /// of header room; false (nothing changed) when a counted buffer would exceed <see cref="ReassemblyLimits.MaxBytes"/>.</summary>
    private bool EnsureCapacity(Entry entry, int room, int end, bool counted)
    {
        int have = entry.Buffer?.Length ?? 0;
        if (entry.Buffer == null) entry.Room = room;
        room = Math.Max(room, entry.Room);
        int needed = room + end;
        if (have >= needed && room == entry.Room) return true;
        // Grow geometrically, up to the largest datagram, so a train arriving in order copies O(log n) times.
        int want = Math.Max(needed, Math.Min(Math.Max(have * 2, 2048), room + Limits.MaxDatagramSize));
        var fresh = ArrayPool<byte>.Shared.Rent(want);
        if (counted && BytesHeld - have + fresh.Length > Limits.MaxBytes)
        {
            ArrayPool<byte>.Shared.Return(fresh);
            return false;
        }
        if (entry.Buffer != null)
        {
            // Only the used part: the header and the data up to the furthest byte received (an empty last fragment may
            // have set the end beyond the buffer: nothing was stored there), moved behind the new room.
            int from = entry.Room - entry.HeaderLength;
            int length = Math.Min(entry.Room + entry.MaxEnd, entry.Buffer.Length) - from;
            entry.Buffer.AsSpan(from, length).CopyTo(fresh.AsSpan(room - entry.HeaderLength));
            ArrayPool<byte>.Shared.Return(entry.Buffer);
        }
        if (counted) BytesHeld += fresh.Length - have;
        entry.Buffer = fresh;
        entry.Room = room;
        return true;
    }

    /// <summary>Whether [start, end) would add a range (rather than join one: IPv4 merges touching ranges).</summary>
    private static bool NeedsNewRange(Entry entry, int start, int end)
    {
        if (TPolicy.DiscardsOnAnyOverlap) return true; // RFC 5722: one range per fragment
        foreach (var (s, e) in entry.Ranges) if (s <= end && start <= e) return false;
        return true;
    }

    /// <summary>Inserts [start, end) into the sorted, disjoint range list: IPv4 merges it with the ranges it overlaps or
    /// touches (RFC 815's holes are the gaps), IPv6 keeps each fragment apart (it never overlaps one held).</summary>
    private static void AddRange(Entry entry, int start, int end)
    {
        var r = entry.Ranges;
        bool merge = !TPolicy.DiscardsOnAnyOverlap;
        int i = 0;
        while (i < r.Count && (merge ? r[i].End < start : r[i].End <= start)) i++;
        int j = i;
        int s = start, e = end, merged = 0;
        while (merge && j < r.Count && r[j].Start <= end)
        {
            s = Math.Min(s, r[j].Start);
            e = Math.Max(e, r[j].End);
            merged += r[j].End - r[j].Start;
            j++;
        }
        r.RemoveRange(i, j - i);
        r.Insert(i, (s, e));
        entry.Received += e - s - merged;
    }

    private sealed class Entry
    {
        public Instant Expires;
        public int InterfaceIndex;
        public readonly List<(int Start, int End)> Ranges = [];
        public byte[]? Buffer;
        /// <summary>Where the data starts in <see cref="Buffer"/>; the first fragment's header ends there.</summary>
        public int Room;
        public int HeaderLength;
        public int HeaderTag;
        public int TotalLength = -1;
        public int MaxEnd;
        /// <summary>Data bytes covered by <see cref="Ranges"/>.</summary>
        public int Received;
        /// <summary>RFC 5722 §4: discarded, remembered until <see cref="Expires"/>.</summary>
        public bool Discarded;

        public void Reset(Instant expires, int interfaceIndex)
        {
            Expires = expires;
            InterfaceIndex = interfaceIndex;
            Ranges.Clear();
            Buffer = null;
            Room = 0;
            HeaderLength = 0;
            HeaderTag = 0;
            TotalLength = -1;
            MaxEnd = 0;
            Received = 0;
            Discarded = false;
        }

        public void ReleaseBuffer()
        {
            if (Buffer != null) ArrayPool<byte>.Shared.Return(Buffer);
            Buffer = null;
        }
    }
}
