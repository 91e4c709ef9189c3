using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// A read-only view of a DNS message (RFC 1035 §4.1; AAAA from RFC 3596).
/// <para>
/// Guarantee: once <see cref="TryParse"/> has returned true, no accessor or enumerator can throw. Every
/// question and resource record the header counts is inside the buffer, every name (owner names and the
/// names inside CNAME, PTR, NS and SOA rdata) decodes under <see cref="DnsName"/>'s rules, and A / AAAA
/// rdata have their exact lengths. Octets after the last counted record are ignored. Never copies.
/// </para>
/// </summary>
public readonly ref struct DnsMessage
{
    private readonly ReadOnlySpan<byte> _buffer;

    private DnsMessage(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>Validates the header and every counted question and record.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out DnsMessage message, out WireError error)
    {
        message = default;
        if (buffer.Length < DnsHeader.Length) { error = WireError.Truncated; return false; }
        int qd = BinaryPrimitives.ReadUInt16BigEndian(buffer[4..]);
        int rr = BinaryPrimitives.ReadUInt16BigEndian(buffer[6..]) + BinaryPrimitives.ReadUInt16BigEndian(buffer[8..])
            + BinaryPrimitives.ReadUInt16BigEndian(buffer[10..]);
        int pos = DnsHeader.Length;
        for (int i = 0; i < qd; i++)
        {
            // RFC 1035 §4.1.2: QNAME, QTYPE, QCLASS.
            error = DnsName.Walk(buffer, pos, out int end, out _);
            if (error != WireError.None) return false;
            if (end + 4 > buffer.Length) { error = WireError.Truncated; return false; }
            pos = end + 4;
        }
        for (int i = 0; i < rr; i++)
        {
            // RFC 1035 §4.1.3: NAME, TYPE, CLASS, TTL, RDLENGTH, RDATA.
            error = DnsName.Walk(buffer, pos, out int end, out _);
            if (error != WireError.None) return false;
            if (end + 10 > buffer.Length) { error = WireError.Truncated; return false; }
            var type = (DnsType)BinaryPrimitives.ReadUInt16BigEndian(buffer[end..]);
            int rdlen = BinaryPrimitives.ReadUInt16BigEndian(buffer[(end + 8)..]);
            int rdata = end + 10;
            if (rdata + rdlen > buffer.Length) { error = WireError.Truncated; return false; }
            error = ValidateRdata(buffer, type, rdata, rdlen);
            if (error != WireError.None) return false;
            pos = rdata + rdlen;
        }
        message = new DnsMessage(buffer);
        error = WireError.None;
        return true;
    }

    private static WireError ValidateRdata(ReadOnlySpan<byte> buffer, DnsType type, int rdata, int rdlen)
    {
        // Names inside rdata may point backwards anywhere in the message but must end inside the rdata.
        ReadOnlySpan<byte> upTo = buffer[..(rdata + rdlen)];
        switch (type)
        {
            case DnsType.A: return rdlen == 4 ? WireError.None : WireError.BadLength;          // RFC 1035 §3.4.1
            case DnsType.AAAA: return rdlen == 16 ? WireError.None : WireError.BadLength;      // RFC 3596 §2.2
            case DnsType.CNAME or DnsType.PTR or DnsType.NS:                                   // RFC 1035 §3.3.1, §3.3.12, §3.3.11
            {
                var e = DnsName.Walk(upTo, rdata, out int end, out _);
                if (e != WireError.None) return e == WireError.Truncated ? WireError.BadLength : e;
                return end == rdata + rdlen ? WireError.None : WireError.BadLength;
            }
            case DnsType.SOA:                                                                  // RFC 1035 §3.3.13
            {
                var e = DnsName.Walk(upTo, rdata, out int end, out _);
                if (e == WireError.None) e = DnsName.Walk(upTo, end, out end, out _);
                if (e != WireError.None) return e == WireError.Truncated ? WireError.BadLength : e;
                return end + 20 == rdata + rdlen ? WireError.None : WireError.BadLength;
            }
            default: return WireError.None;
        }
    }

    /// <summary>The message identifier.</summary>
    public ushort Id => BinaryPrimitives.ReadUInt16BigEndian(_buffer);
    private ushort Flags => BinaryPrimitives.ReadUInt16BigEndian(_buffer[2..]);
    /// <summary>The header's flags and identifier.</summary>
    public DnsHeader Header => DnsHeader.FromFlags(Id, Flags);
    /// <summary>QR: true for a response.</summary>
    public bool IsResponse => (Flags & 0x8000) != 0;
    /// <summary>The opcode.</summary>
    public DnsOpcode Opcode => (DnsOpcode)((Flags >> 11) & 0xF);
    /// <summary>AA: the answer is authoritative.</summary>
    public bool Authoritative => (Flags & 0x0400) != 0;
    /// <summary>TC: the message was truncated.</summary>
    public bool Truncated => (Flags & 0x0200) != 0;
    /// <summary>RD: recursion desired.</summary>
    public bool RecursionDesired => (Flags & 0x0100) != 0;
    /// <summary>RA: recursion available.</summary>
    public bool RecursionAvailable => (Flags & 0x0080) != 0;
    /// <summary>The response code.</summary>
    public DnsRcode Rcode => (DnsRcode)(Flags & 0xF);
    /// <summary>QDCOUNT: questions.</summary>
    public int QuestionCount => BinaryPrimitives.ReadUInt16BigEndian(_buffer[4..]);
    /// <summary>ANCOUNT: answer records.</summary>
    public int AnswerCount => BinaryPrimitives.ReadUInt16BigEndian(_buffer[6..]);
    /// <summary>NSCOUNT: authority records.</summary>
    public int AuthorityCount => BinaryPrimitives.ReadUInt16BigEndian(_buffer[8..]);
    /// <summary>ARCOUNT: additional records.</summary>
    public int AdditionalCount => BinaryPrimitives.ReadUInt16BigEndian(_buffer[10..]);
    /// <summary>The whole message (compressed names point into it).</summary>
    public ReadOnlySpan<byte> Buffer => _buffer;

    /// <summary>The questions, in order.</summary>
    public QuestionEnumerator Questions => new(_buffer);

    /// <summary>Every resource record (answer, authority, additional), in order, each with its section.</summary>
    public RecordEnumerator Records => new(_buffer);

    /// <summary>Walks the questions.</summary>
    public ref struct QuestionEnumerator
    {
        private readonly ReadOnlySpan<byte> _buffer;
        private int _left;
        private DnsQuestion _current;

        internal int Position { get; private set; }

        internal QuestionEnumerator(ReadOnlySpan<byte> buffer)
        {
            _buffer = buffer;
            Position = DnsHeader.Length;
            _left = BinaryPrimitives.ReadUInt16BigEndian(buffer[4..]);
            _current = default;
        }

        /// <summary>The current question.</summary>
        public readonly DnsQuestion Current => _current;
        /// <summary>Returns this enumerator (for <c>foreach</c>).</summary>
        public readonly QuestionEnumerator GetEnumerator() => this;

        /// <summary>Moves to the next question; false at the end or at a malformed question.</summary>
        public bool MoveNext()
        {
            if (_left == 0) return false;
            if (DnsName.Walk(_buffer, Position, out int end, out _) != WireError.None || end + 4 > _buffer.Length) { _left = 0; return false; }
            _left--;
            _current = new DnsQuestion(new DnsName(_buffer, Position),
                (DnsType)BinaryPrimitives.ReadUInt16BigEndian(_buffer[end..]), (DnsClass)BinaryPrimitives.ReadUInt16BigEndian(_buffer[(end + 2)..]));
            Position = end + 4;
            return true;
        }
    }

    /// <summary>Walks the resource records after the questions.</summary>
    public ref struct RecordEnumerator
    {
        private readonly ReadOnlySpan<byte> _buffer;
        private int _pos;
        private int _an, _ns, _ar;
        private DnsRecord _current;

        internal RecordEnumerator(ReadOnlySpan<byte> buffer)
        {
            _buffer = buffer;
            _an = BinaryPrimitives.ReadUInt16BigEndian(buffer[6..]);
            _ns = BinaryPrimitives.ReadUInt16BigEndian(buffer[8..]);
            _ar = BinaryPrimitives.ReadUInt16BigEndian(buffer[10..]);
            _current = default;
            var q = new QuestionEnumerator(buffer);
            while (q.MoveNext()) { }
            _pos = q.Position;
        }

        /// <summary>The current record.</summary>
        public readonly DnsRecord Current => _current;
        /// <summary>Returns this enumerator (for <c>foreach</c>).</summary>
        public readonly RecordEnumerator GetEnumerator() => this;

        /// <summary>Moves to the next record; false at the end or at a malformed record.</summary>
        public bool MoveNext()
        {
            DnsSection section;
            if (_an > 0) section = DnsSection.Answer;
            else if (_ns > 0) section = DnsSection.Authority;
            else if (_ar > 0) section = DnsSection.Additional;
            else return false;
            if (DnsName.Walk(_buffer, _pos, out int end, out _) != WireError.None || end + 10 > _buffer.Length) { _an = _ns = _ar = 0; return false; }
            int rdlen = BinaryPrimitives.ReadUInt16BigEndian(_buffer[(end + 8)..]);
            if (end + 10 + rdlen > _buffer.Length) { _an = _ns = _ar = 0; return false; }
            if (section == DnsSection.Answer) _an--; else if (section == DnsSection.Authority) _ns--; else _ar--;
            _current = new DnsRecord(_buffer, _pos, end, section);
            _pos = end + 10 + rdlen;
            return true;
        }
    }
}

/// <summary>One question (RFC 1035 §4.1.2).</summary>
public readonly ref struct DnsQuestion
{
    internal DnsQuestion(DnsName name, DnsType type, DnsClass @class)
    {
        Name = name;
        Type = type;
        Class = @class;
    }

    /// <summary>The name asked about.</summary>
    public DnsName Name { get; }
    /// <summary>The record type asked for.</summary>
    public DnsType Type { get; }
    /// <summary>The class asked for.</summary>
    public DnsClass Class { get; }
}

/// <summary>One resource record (RFC 1035 §4.1.3) with typed access to A, AAAA, CNAME, PTR, NS and SOA rdata.</summary>
public readonly ref struct DnsRecord
{
    private readonly ReadOnlySpan<byte> _message;
    private readonly int _nameOffset;
    private readonly int _fixedOffset;

    internal DnsRecord(ReadOnlySpan<byte> message, int nameOffset, int fixedOffset, DnsSection section)
    {
        _message = message;
        _nameOffset = nameOffset;
        _fixedOffset = fixedOffset;
        Section = section;
    }

    /// <summary>The section the record is in.</summary>
    public DnsSection Section { get; }
    /// <summary>The record's owner name.</summary>
    public DnsName Name => new(_message, _nameOffset);
    /// <summary>The record type.</summary>
    public DnsType Type => (DnsType)BinaryPrimitives.ReadUInt16BigEndian(_message[_fixedOffset..]);
    /// <summary>The record class.</summary>
    public DnsClass Class => (DnsClass)BinaryPrimitives.ReadUInt16BigEndian(_message[(_fixedOffset + 2)..]);
    /// <summary>RFC 2181 §8: a TTL with the top bit set is treated as zero.</summary>
    public uint Ttl
    {
        get
        {
            uint t = BinaryPrimitives.ReadUInt32BigEndian(_message[(_fixedOffset + 4)..]);
            return t > int.MaxValue ? 0 : t;
        }
    }

    private int RdataOffset => _fixedOffset + 10;
    /// <summary>The record data (RDATA).</summary>
    public ReadOnlySpan<byte> Data => _message.Slice(RdataOffset, BinaryPrimitives.ReadUInt16BigEndian(_message[(_fixedOffset + 8)..]));

    /// <summary>The address of an A record; false for another type or a bad length.</summary>
    public bool TryGetA(out Ipv4Address address)
    {
        bool ok = Type == DnsType.A && Data.Length == 4;
        address = ok ? Ipv4Address.Read(Data) : default;
        return ok;
    }

    /// <summary>The address of an AAAA record; false for another type or a bad length.</summary>
    public bool TryGetAaaa(out Ipv6Address address)
    {
        bool ok = Type == DnsType.AAAA && Data.Length == 16;
        address = ok ? Ipv6Address.Read(Data) : default;
        return ok;
    }

    /// <summary>The target name of a CNAME, PTR or NS record.</summary>
    public bool TryGetTargetName(out DnsName name)
    {
        bool ok = Type is DnsType.CNAME or DnsType.PTR or DnsType.NS;
        name = ok ? new DnsName(_message, RdataOffset) : default;
        return ok;
    }

    /// <summary>The MINIMUM field of an SOA record (RFC 1035 §3.3.13; RFC 2308 §4 negative TTL).</summary>
    public bool TryGetSoaMinimum(out uint minimum)
    {
        minimum = 0;
        if (Type != DnsType.SOA) return false;
        var d = Data;
        if (d.Length < 20) return false;
        minimum = BinaryPrimitives.ReadUInt32BigEndian(d[^4..]);
        return true;
    }
}
