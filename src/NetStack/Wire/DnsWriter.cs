using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace NetStack.Wire;

/// <summary>
/// Writes a DNS message (RFC 1035 §4.1) in place: the header, then questions, answers, authority and
/// additional records in that order; the counts are kept in the header as items are added. With
/// compression on, names reuse suffixes already written (RFC 1035 §4.1.4), pointing only backwards.
/// Every Try method returns false, leaving the message as it was, if the item does not fit, the name is
/// not a valid name, or a section is added out of order. Never allocates.
/// </summary>
public ref struct DnsWriter
{
    /// <summary>Name positions remembered for compression; later names simply compress less.</summary>
    public const int MaxCompressionTargets = 32;

    private readonly Span<byte> _buffer;
    private readonly bool _compress;
    private int _pos;
    private DnsSection _section;
    private OffsetTable _targets;
    private int _targetCount;

    [InlineArray(MaxCompressionTargets)]
    private struct OffsetTable
    {
        private ushort _element;
    }

    /// <summary>Starts a message with <paramref name="header"/>; the buffer must hold at least the 12-octet header.</summary>
    public DnsWriter(Span<byte> buffer, DnsHeader header, bool compress = true)
    {
        _buffer = buffer;
        _compress = compress;
        _section = DnsSection.Question;
        _targetCount = 0;
        _targets = default;
        BinaryPrimitives.WriteUInt16BigEndian(buffer, header.Id);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], header.Flags);
        buffer[4..12].Clear();
        _pos = DnsHeader.Length;
    }

    /// <summary>Octets written so far.</summary>
    public readonly int Length => _pos;

    /// <summary>The message written so far.</summary>
    public readonly ReadOnlySpan<byte> Written => _buffer[.._pos];

    /// <summary>Adds a question for a dotted <paramref name="name"/>; false when the name is invalid, it does not fit, or the question section is closed.</summary>
    public bool TryAddQuestion(ReadOnlySpan<char> name, DnsType type, DnsClass @class = DnsClass.IN)
    {
        Span<byte> wire = stackalloc byte[DnsName.MaxLength];
        return DnsName.TryEncode(name, wire, out int n) && TryAddQuestion(wire[..n], type, @class);
    }

    /// <summary>Adds a question whose name is given in uncompressed wire form.</summary>
    public bool TryAddQuestion(scoped ReadOnlySpan<byte> wireName, DnsType type, DnsClass @class = DnsClass.IN)
    {
        if (_section != DnsSection.Question) return false;
        var saved = Save();
        if (!TryWriteName(wireName) || !TryWriteUInt16((ushort)type) || !TryWriteUInt16((ushort)@class)) { Restore(saved); return false; }
        Bump(DnsSection.Question);
        return true;
    }

    /// <summary>Adds a record with opaque rdata (copied as is; do not put compressed names in it).</summary>
    public bool TryAddRecord(DnsSection section, ReadOnlySpan<char> name, DnsType type, uint ttl, scoped ReadOnlySpan<byte> rdata, DnsClass @class = DnsClass.IN)
    {
        var saved = Save();
        if (!TryBeginRecord(section, name, type, @class, ttl, out int rdlenPos) || !TryWriteBytes(rdata)) { Restore(saved); return false; }
        EndRecord(section, rdlenPos);
        return true;
    }

    /// <summary>Adds an A record to <paramref name="section"/>; false when the name is invalid, the record does not fit, or the section was closed.</summary>
    public bool TryAddA(DnsSection section, ReadOnlySpan<char> name, uint ttl, Ipv4Address address)
    {
        Span<byte> a = stackalloc byte[4];
        address.Write(a);
        return TryAddRecord(section, name, DnsType.A, ttl, a);
    }

    /// <summary>Adds an AAAA record to <paramref name="section"/>; false when the name is invalid, the record does not fit, or the section was closed.</summary>
    public bool TryAddAaaa(DnsSection section, ReadOnlySpan<char> name, uint ttl, Ipv6Address address)
    {
        Span<byte> a = stackalloc byte[16];
        address.Write(a);
        return TryAddRecord(section, name, DnsType.AAAA, ttl, a);
    }

    /// <summary>Adds a CNAME, PTR or NS record; the target name is compressed too.</summary>
    public bool TryAddNameRecord(DnsSection section, ReadOnlySpan<char> name, DnsType type, uint ttl, ReadOnlySpan<char> target)
    {
        if (type is not (DnsType.CNAME or DnsType.PTR or DnsType.NS)) return false;
        Span<byte> wire = stackalloc byte[DnsName.MaxLength];
        if (!DnsName.TryEncode(target, wire, out int n)) return false;
        var saved = Save();
        if (!TryBeginRecord(section, name, type, DnsClass.IN, ttl, out int rdlenPos) || !TryWriteName(wire[..n])) { Restore(saved); return false; }
        EndRecord(section, rdlenPos);
        return true;
    }

    /// <summary>Adds an SOA record (RFC 1035 §3.3.13); <paramref name="minimum"/> is the negative-caching TTL (RFC 2308 §4).</summary>
    public bool TryAddSoa(DnsSection section, ReadOnlySpan<char> name, uint ttl, ReadOnlySpan<char> primary, ReadOnlySpan<char> mailbox,
        uint serial, uint refresh, uint retry, uint expire, uint minimum)
    {
        Span<byte> w1 = stackalloc byte[DnsName.MaxLength];
        Span<byte> w2 = stackalloc byte[DnsName.MaxLength];
        if (!DnsName.TryEncode(primary, w1, out int n1) || !DnsName.TryEncode(mailbox, w2, out int n2)) return false;
        var saved = Save();
        if (!TryBeginRecord(section, name, DnsType.SOA, DnsClass.IN, ttl, out int rdlenPos)
            || !TryWriteName(w1[..n1]) || !TryWriteName(w2[..n2])
            || !TryWriteUInt32(serial) || !TryWriteUInt32(refresh) || !TryWriteUInt32(retry) || !TryWriteUInt32(expire) || !TryWriteUInt32(minimum))
        {
            Restore(saved);
            return false;
        }
        EndRecord(section, rdlenPos);
        return true;
    }

    private bool TryBeginRecord(DnsSection section, ReadOnlySpan<char> name, DnsType type, DnsClass @class, uint ttl, out int rdlenPos)
    {
        rdlenPos = 0;
        if (section < _section || section == DnsSection.Question) return false;
        Span<byte> wire = stackalloc byte[DnsName.MaxLength];
        if (!DnsName.TryEncode(name, wire, out int n)) return false;
        if (!TryWriteName(wire[..n]) || !TryWriteUInt16((ushort)type) || !TryWriteUInt16((ushort)@class) || !TryWriteUInt32(ttl)) return false;
        rdlenPos = _pos;
        return TryWriteUInt16(0);
    }

    private void EndRecord(DnsSection section, int rdlenPos)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[rdlenPos..], (ushort)(_pos - rdlenPos - 2));
        _section = section;
        Bump(section);
    }

    private void Bump(DnsSection section)
    {
        int at = 4 + 2 * (int)section;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[at..], (ushort)(BinaryPrimitives.ReadUInt16BigEndian(_buffer[at..]) + 1));
    }

    private readonly (int Pos, DnsSection Section, int Targets) Save() => (_pos, _section, _targetCount);

    private void Restore((int Pos, DnsSection Section, int Targets) s)
    {
        _pos = s.Pos;
        _section = s.Section;
        _targetCount = s.Targets;
    }

    private bool TryWriteUInt16(ushort v)
    {
        if (_pos + 2 > _buffer.Length) return false;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[_pos..], v);
        _pos += 2;
        return true;
    }

    private bool TryWriteUInt32(uint v)
    {
        if (_pos + 4 > _buffer.Length) return false;
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[_pos..], v);
        _pos += 4;
        return true;
    }

    private bool TryWriteBytes(scoped ReadOnlySpan<byte> b)
    {
        if (b.Length > ushort.MaxValue || _pos + b.Length > _buffer.Length) return false;
        b.CopyTo(_buffer[_pos..]);
        _pos += b.Length;
        return true;
    }

    /// <summary>Writes an uncompressed wire-form name, replacing its longest already-written suffix by a pointer.</summary>
    private bool TryWriteName(scoped ReadOnlySpan<byte> wire)
    {
        int s = 0;
        while (wire[s] != 0)
        {
            if (_compress && FindTarget(wire[s..]) is int target and >= 0)
            {
                if (_pos + s + 2 > _buffer.Length) return false;
                wire[..s].CopyTo(_buffer[_pos..]);
                RememberLabels(wire[..s], _pos);
                _pos += s;
                BinaryPrimitives.WriteUInt16BigEndian(_buffer[_pos..], (ushort)(0xC000 | target));
                _pos += 2;
                return true;
            }
            s += wire[s] + 1;
        }
        if (_pos + wire.Length > _buffer.Length) return false;
        wire.CopyTo(_buffer[_pos..]);
        RememberLabels(wire[..^1], _pos);
        _pos += wire.Length;
        return true;
    }

    private void RememberLabels(scoped ReadOnlySpan<byte> labels, int at)
    {
        if (!_compress) return;
        for (int p = 0; p < labels.Length; p += labels[p] + 1)
        {
            // RFC 1035 §4.1.4: a pointer holds a 14-bit offset.
            if (at + p > 0x3FFF || _targetCount == MaxCompressionTargets) return;
            _targets[_targetCount++] = (ushort)(at + p);
        }
    }

    private readonly int FindTarget(scoped ReadOnlySpan<byte> suffix)
    {
        ReadOnlySpan<byte> written = _buffer[.._pos];
        for (int i = 0; i < _targetCount; i++)
        {
            if (new DnsName(written, _targets[i]).NameEquals(suffix)) return _targets[i];
        }
        return -1;
    }
}
