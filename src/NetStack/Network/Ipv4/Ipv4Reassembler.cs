using System.Buffers;
using NetStack.Network.Fragmentation;
using NetStack.Wire;

namespace NetStack.Network.Ipv4;

/// <summary>RFC 791 §3.2: fragments belong to one datagram when source, destination, protocol and identification agree.</summary>
internal readonly record struct Ipv4FragmentKey(Ipv4Address Source, Ipv4Address Destination, IpProtocol Protocol, ushort Identification);

/// <summary>Limits of the reassembly buffer; every one is enforced and counted when hit.</summary>
/// <param name="MaxDatagramSize">Largest reassembled datagram, header included (RFC 791: 65,535).</param>
/// <param name="MaxDatagrams">Datagrams under reassembly at once.</param>
/// <param name="MaxBytes">Bytes of buffer held by all datagrams together (Linux ipfrag_high_thresh is 4 MiB).</param>
/// <param name="Timeout">Lifetime of an incomplete datagram from its first fragment (RFC 1122 §3.3.2 suggests 60-120 s; Linux ipfrag_time is 30 s).</param>
/// <param name="MaxHolesPerDatagram">Disjoint received ranges one datagram may have (bounds the bookkeeping of tiny-fragment floods).</param>
public readonly record struct ReassemblyLimits(
    int MaxDatagramSize = 65535,
    int MaxDatagrams = 64,
    long MaxBytes = 4 * 1024 * 1024,
    TimeSpan Timeout = default,
    int MaxHolesPerDatagram = 128)
{
    /// <summary>The defaults (a 30 s timeout, RFC 791's upper bound on a fragment's lifetime).</summary>
    public static ReassemblyLimits Default => new(Timeout: TimeSpan.FromSeconds(30));
    /// <summary>The timeout in force (30 s when none was set).</summary>
    public TimeSpan EffectiveTimeout => Timeout > TimeSpan.Zero ? Timeout : TimeSpan.FromSeconds(30);
}

/// <summary>A whole datagram out of <see cref="Ipv4Reassembler"/>: the first fragment's header (as received)
/// immediately followed by the reassembled payload, in one pooled buffer.</summary>
internal readonly struct ReassembledDatagram
{
    internal ReassembledDatagram(byte[] buffer, int headerLength, int payloadLength)
    {
        Buffer = buffer;
        HeaderLength = headerLength;
        PayloadLength = payloadLength;
    }

    /// <summary>The pooled buffer; the header starts at <see cref="HeaderOffset"/>, the payload at <see cref="Ipv4Reassembler.PayloadOffset"/>.</summary>
    public byte[] Buffer { get; }
    public int HeaderLength { get; }
    public int PayloadLength { get; }
    public int HeaderOffset => Ipv4Reassembler.PayloadOffset - HeaderLength;

    /// <summary>The first fragment's header: its Total Length, MF and checksum still describe that fragment.</summary>
    public Span<byte> Header => Buffer.AsSpan(HeaderOffset, HeaderLength);
    public Span<byte> Payload => Buffer.AsSpan(Ipv4Reassembler.PayloadOffset, PayloadLength);
    /// <summary>Header and payload together.</summary>
    public Span<byte> Datagram => Buffer.AsSpan(HeaderOffset, HeaderLength + PayloadLength);
}

/// <summary>Called for each datagram that timed out incomplete. <paramref name="firstFragment"/> is the first fragment as
/// received (header and data) when fragment 0 arrived, empty otherwise (RFC 792: time exceeded code 1 only then).</summary>
internal delegate void ReassemblyTimeoutHandler(in Ipv4FragmentKey key, ReadOnlySpan<byte> firstFragment, int interfaceIndex);

/// <summary>
/// IPv4 reassembly (RFC 791 §3.2, with the hole bookkeeping of RFC 815 kept as a sorted list of received
/// ranges). Bounded in every dimension by <see cref="ReassemblyLimits"/>. Pure: no clock, no I/O.
/// <para>
/// Overlaps: a fragment whose bytes repeat identical data already held is a harmless duplicate; one whose
/// bytes differ from data already held discards the whole datagram, in the spirit of RFC 5722 (written for
/// IPv6; RFC 1858 and the "teardrop" attacks for IPv4). Linux (ip_fragment.c since 4.19) is stricter still:
/// it discards on any partial overlap without comparing bytes, and drops a fragment wholly inside another.
/// </para>
/// </summary>
internal sealed class Ipv4Reassembler
{
    /// <summary>Room before the payload in each buffer for the largest IPv4 header (IHL 15).</summary>
    public const int PayloadOffset = 60;

    private readonly Dictionary<Ipv4FragmentKey, Entry> _entries = [];
    private readonly List<Ipv4FragmentKey> _scratch = [];
    private readonly Stack<Entry> _free = new(); // recycled bookkeeping: no allocation per datagram in steady state
    private Instant _nextExpiry = Instant.MaxValue;

    public Ipv4Reassembler(ReassemblyLimits? limits = null) => Limits = limits ?? ReassemblyLimits.Default;

    public ReassemblyLimits Limits { get; }

    /// <summary>Datagrams under reassembly.</summary>
    public int DatagramCount => _entries.Count;

    /// <summary>Bytes of buffer held by incomplete datagrams (bounded by <see cref="ReassemblyLimits.MaxBytes"/>).</summary>
    public long BytesHeld { get; private set; }

    /// <summary>
    /// Adds one fragment. <paramref name="header"/> is its IPv4 header (options included), <paramref name="offset"/>
    /// its Fragment Offset in bytes, <paramref name="more"/> its MF flag, <paramref name="data"/> its payload.
    /// On <see cref="ReassemblyOutcome.Complete"/>, <paramref name="datagram"/> holds the datagram until <see cref="Release"/>.
    /// </summary>
    public ReassemblyOutcome Add(in Ipv4FragmentKey key, ReadOnlySpan<byte> header, int offset, bool more,
        ReadOnlySpan<byte> data, int interfaceIndex, Instant now, out ReassembledDatagram datagram)
    {
        datagram = default;
        // RFC 791 §3.2: every fragment but the last carries a multiple of 8 bytes. Linux (ip_frag_queue)
        // trims a longer non-last fragment down to a multiple of 8 rather than refusing it; so do we.
        if (more) data = data[..(data.Length & ~7)];
        if (more && data.IsEmpty) return ReassemblyOutcome.Malformed;
        int end = offset + data.Length;

        _entries.TryGetValue(key, out var entry);
        // RFC 791 §3.1: Total Length is 16 bits; a train reaching past 65,535 is the "ping of death".
        if (header.Length + end > Limits.MaxDatagramSize)
        {
            if (entry != null) Discard(key, entry);
            return ReassemblyOutcome.TooLarge;
        }
        if (entry == null)
        {
            if (_entries.Count >= Limits.MaxDatagrams) return ReassemblyOutcome.LimitReached;
            entry = _free.TryPop(out var recycled) ? recycled : new Entry();
            entry.Reset(now + Limits.EffectiveTimeout, interfaceIndex);
            _entries.Add(key, entry);
            _nextExpiry = Instant.Min(_nextExpiry, entry.Expires);
        }

        // The end of the datagram, once known, is fixed: a different last fragment, or data past it, is corrupt
        // (Linux ip_frag_queue: "If we already have some bits beyond end or have different end, the segment is corrupted").
        if (!more)
        {
            if (entry.TotalLength >= 0 && entry.TotalLength != end || entry.MaxEnd > end)
            {
                Discard(key, entry);
                return ReassemblyOutcome.Inconsistent;
            }
        }
        else if (entry.TotalLength >= 0 && end > entry.TotalLength)
        {
            Discard(key, entry);
            return ReassemblyOutcome.Inconsistent;
        }

        // Overlap with data already held: identical bytes are a duplicate, different bytes discard all.
        bool coveredEntirely = false;
        foreach (var (s, e) in entry.Ranges)
        {
            int os = Math.Max(s, offset), oe = Math.Min(e, end);
            if (os >= oe) continue;
            var held = entry.Buffer!.AsSpan(PayloadOffset + os, oe - os);
            if (!held.SequenceEqual(data.Slice(os - offset, oe - os)))
            {
                Discard(key, entry);
                return ReassemblyOutcome.Overlap;
            }
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
        if (!EnsureCapacity(entry, PayloadOffset + end))
        {
            if (entry.Ranges.Count == 0) Discard(key, entry);
            return ReassemblyOutcome.LimitReached;
        }
        if (!AddRange(entry, offset, end))
        {
            Discard(key, entry);
            return ReassemblyOutcome.LimitReached;
        }
        data.CopyTo(entry.Buffer.AsSpan(PayloadOffset + offset));
        if (offset == 0)
        {
            // The first fragment's header becomes the datagram's header (RFC 791 §3.2 reassembly: "the header
            // of the fragment with offset zero"), options included.
            header.CopyTo(entry.Buffer.AsSpan(PayloadOffset - header.Length));
            entry.HeaderLength = header.Length;
        }
        if (!more) entry.TotalLength = end;
        entry.MaxEnd = Math.Max(entry.MaxEnd, end);
        // The first fragment's header (options and all) heads the whole datagram: together they must still fit.
        if (entry.HeaderLength + entry.MaxEnd > Limits.MaxDatagramSize)
        {
            Discard(key, entry);
            return ReassemblyOutcome.TooLarge;
        }
        return TryComplete(key, entry, out datagram);
    }

    private ReassemblyOutcome TryComplete(in Ipv4FragmentKey key, Entry entry, out ReassembledDatagram datagram)
    {
        datagram = default;
        if (entry.TotalLength >= 0 && entry.HeaderLength > 0 && entry.Ranges.Count == 1
            && entry.Ranges[0].Start == 0 && entry.Ranges[0].End == entry.TotalLength)
        {
            var buffer = entry.Buffer!;
            _entries.Remove(key);
            BytesHeld -= buffer.Length;
            entry.Buffer = null;
            Recycle(entry);
            datagram = new ReassembledDatagram(buffer, entry.HeaderLength, entry.TotalLength);
            return ReassemblyOutcome.Complete;
        }
        return ReassemblyOutcome.Incomplete;
    }

    /// <summary>Returns a completed datagram's buffer to the pool.</summary>
    public static void Release(in ReassembledDatagram datagram)
    {
        if (datagram.Buffer != null) ArrayPool<byte>.Shared.Return(datagram.Buffer);
    }

    /// <summary>Discards the datagrams whose time is up, reporting each to <paramref name="onTimeout"/>; returns the next deadline.</summary>
    public Instant Poll(Instant now, ReassemblyTimeoutHandler? onTimeout = null)
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
                    first = e.Buffer.AsSpan(PayloadOffset - e.HeaderLength, e.HeaderLength + e.Ranges[0].End);
                onTimeout(k, first, e.InterfaceIndex);
            }
            Discard(k, e);
        }
        _scratch.Clear();
        _nextExpiry = next;
        return next;
    }

    /// <summary>Drops every datagram under reassembly.</summary>
    public void Clear()
    {
        foreach (var e in _entries.Values) if (e.Buffer != null) ArrayPool<byte>.Shared.Return(e.Buffer);
        _entries.Clear();
        BytesHeld = 0;
    }

    private void Discard(in Ipv4FragmentKey key, Entry entry)
    {
        _entries.Remove(key);
        if (entry.Buffer != null)
        {
            BytesHeld -= entry.Buffer.Length;
            ArrayPool<byte>.Shared.Return(entry.Buffer);
            entry.Buffer = null;
        }
        Recycle(entry);
    }

    private void Recycle(Entry entry)
    {
        if (_free.Count < Limits.MaxDatagrams) _free.Push(entry);
    }

    private bool EnsureCapacity(Entry entry, int needed)
    {
        int have = entry.Buffer?.Length ?? 0;
        if (have >= needed) return true;
        // Grow geometrically, up to the largest datagram, so a train arriving in order copies O(log n) times.
        int want = Math.Max(needed, Math.Min(Math.Max(have * 2, 2048), PayloadOffset + Limits.MaxDatagramSize));
        var fresh = ArrayPool<byte>.Shared.Rent(want);
        if (BytesHeld - have + fresh.Length > Limits.MaxBytes)
        {
            ArrayPool<byte>.Shared.Return(fresh);
            return false;
        }
        if (entry.Buffer != null)
        {
            // Only the used part: the header area and the payload up to the furthest byte received. (An empty last
            // fragment may have set the end beyond the buffer: nothing was stored there.)
            entry.Buffer.AsSpan(0, Math.Min(PayloadOffset + entry.MaxEnd, entry.Buffer.Length)).CopyTo(fresh);
            ArrayPool<byte>.Shared.Return(entry.Buffer);
        }
        BytesHeld += fresh.Length - have;
        entry.Buffer = fresh;
        return true;
    }

    /// <summary>Merges [start, end) into the sorted, disjoint, non-adjacent range list.</summary>
    private bool AddRange(Entry entry, int start, int end)
    {
        var r = entry.Ranges;
        int i = 0;
        while (i < r.Count && r[i].End < start) i++;
        int j = i;
        int s = start, e = end;
        while (j < r.Count && r[j].Start <= end)
        {
            s = Math.Min(s, r[j].Start);
            e = Math.Max(e, r[j].End);
            j++;
        }
        if (j == i && r.Count >= Limits.MaxHolesPerDatagram) return false;
        r.RemoveRange(i, j - i);
        r.Insert(i, (s, e));
        return true;
    }

    private sealed class Entry
    {
        public Instant Expires;
        public int InterfaceIndex;
        public readonly List<(int Start, int End)> Ranges = [];
        public byte[]? Buffer;
        public int HeaderLength;
        public int TotalLength = -1;
        public int MaxEnd;

        public void Reset(Instant expires, int interfaceIndex)
        {
            Expires = expires;
            InterfaceIndex = interfaceIndex;
            Ranges.Clear();
            Buffer = null;
            HeaderLength = 0;
            TotalLength = -1;
            MaxEnd = 0;
        }
    }
}
