using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// A read-only view of an IGMPv3 Membership Report (RFC 3376 §4.2, type 0x22) over the whole IP payload.
/// <para>Guarantee: once <see cref="TryParse"/> has returned true, every record announced by Number of Group Records
/// lies in the buffer with its sources and auxiliary data, so enumeration cannot fail. The checksum is judged
/// apart (<see cref="ChecksumValid"/>).</para>
/// </summary>
public readonly ref struct Igmpv3Report
{
    /// <summary>Bytes of the report header.</summary>
    public const int HeaderLength = 8;
    /// <summary>Bytes of a group record header.</summary>
    public const int RecordHeaderLength = 8;
    internal const int AddressLength = 4;
    private readonly ReadOnlySpan<byte> _payload;
    private readonly int _length;

    private Igmpv3Report(ReadOnlySpan<byte> payload, int length)
    {
        _payload = payload;
        _length = length;
    }

    /// <summary>Validates the type, the header and every group record's length (the checksum is checked separately: <see cref="ChecksumValid"/>).</summary>
    public static bool TryParse(ReadOnlySpan<byte> payload, out Igmpv3Report report, out WireError error)
    {
        report = default;
        if (payload.Length < HeaderLength) { error = WireError.Truncated; return false; }
        if (payload[0] != (byte)IgmpType.V3MembershipReport) { error = WireError.Unsupported; return false; }
        int records = BinaryPrimitives.ReadUInt16BigEndian(payload[6..]);
        if (!GroupRecords.TryMeasure(payload[HeaderLength..], records, AddressLength, out int length)) { error = WireError.BadLength; return false; }
        report = new Igmpv3Report(payload, HeaderLength + length);
        error = WireError.None;
        return true;
    }


    /// <summary>The report up to the end of its last record.</summary>
    public ReadOnlySpan<byte> Bytes => _payload[.._length];
    /// <summary>RFC 3376 §4.2.2: the checksum over the whole IGMP message.</summary>
    public bool ChecksumValid => Checksum.Verify(_payload);
    /// <summary>Group records in the report.</summary>
    public int RecordCount => BinaryPrimitives.ReadUInt16BigEndian(_payload[6..]);
    /// <summary>The group records.</summary>
    public Igmpv3RecordEnumerator Records => new(_payload[HeaderLength.._length], RecordCount);
}

/// <summary>One group record of an IGMPv3 report (RFC 3376 §4.2.4).</summary>
public readonly ref struct Igmpv3GroupRecord
{
    private readonly ReadOnlySpan<byte> _bytes;

    internal Igmpv3GroupRecord(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    /// <summary>The record type.</summary>
    public GroupRecordType RecordType => (GroupRecordType)_bytes[0];
    /// <summary>Auxiliary data length in 32-bit words.</summary>
    public int AuxDataLength => _bytes[1];
    /// <summary>Sources in the record.</summary>
    public int SourceCount => BinaryPrimitives.ReadUInt16BigEndian(_bytes[2..]);
    /// <summary>The multicast group.</summary>
    public Ipv4Address Group => Ipv4Address.Read(_bytes[4..]);
    /// <summary>The source at <paramref name="i"/> (default when out of range).</summary>
    public Ipv4Address Source(int i) => (uint)i < (uint)SourceCount ? Ipv4Address.Read(_bytes[(8 + 4 * i)..]) : default;
    /// <summary>The auxiliary data.</summary>
    public ReadOnlySpan<byte> AuxData => _bytes[(8 + 4 * SourceCount)..];
    /// <summary>Bytes of the record.</summary>
    public int Length => _bytes.Length;
}

/// <summary>Enumerates the records of a validated <see cref="Igmpv3Report"/>.</summary>
public ref struct Igmpv3RecordEnumerator
{
    private readonly ReadOnlySpan<byte> _records;
    private readonly int _count;
    private int _index;
    private int _next;
    private Igmpv3GroupRecord _current;

    internal Igmpv3RecordEnumerator(ReadOnlySpan<byte> records, int count)
    {
        _records = records;
        _count = count;
        _index = 0;
        _next = 0;
        _current = default;
    }

    /// <summary>The current record.</summary>
    public readonly Igmpv3GroupRecord Current => _current;
    /// <summary>Returns this enumerator (for <c>foreach</c>).</summary>
    public readonly Igmpv3RecordEnumerator GetEnumerator() => this;

    /// <summary>Moves to the next record; false at the end.</summary>
    public bool MoveNext()
    {
        if (_index >= _count || !GroupRecords.TryNext(_records, ref _next, Igmpv3Report.AddressLength, out var record)) return false;
        _current = new Igmpv3GroupRecord(record);
        _index++;
        return true;
    }
}

/// <summary>A group record to write (RFC 3376 §4.2.4); aux data is cut to a multiple of 4 octets.</summary>
public readonly record struct Igmpv3GroupRecordRepr(GroupRecordType RecordType, Ipv4Address Group,
    ReadOnlyMemory<Ipv4Address> Sources, ReadOnlyMemory<byte> AuxData)
{
    /// <summary>Bytes of the record.</summary>
    public int Length => GroupRecords.Length(Igmpv3Report.AddressLength, Sources.Length, AuxData.Length);

    /// <summary>Writes the record; returns the bytes written.</summary>
    public int Write(Span<byte> buffer)
    {
        var s = Sources.Span;
        int n = GroupRecords.WriteFrame(buffer, (byte)RecordType, Igmpv3Report.AddressLength, s.Length, AuxData.Span);
        Group.Write(buffer[4..]);
        for (int i = 0; i < s.Length; i++) s[i].Write(buffer[(8 + 4 * i)..]);
        return n;
    }
}

/// <summary>An IGMPv3 report to write (RFC 3376 §4.2), sent to 224.0.0.22 with TTL 1 and a Router Alert.</summary>
public readonly record struct Igmpv3ReportRepr(ReadOnlyMemory<Igmpv3GroupRecordRepr> Records)
{
    /// <summary>Bytes the report takes.</summary>
    public int BufferLength
    {
        get
        {
            int n = Igmpv3Report.HeaderLength;
            foreach (var r in Records.Span) n += r.Length;
            return n;
        }
    }

    /// <summary>Writes the report with its checksum; returns the bytes written.</summary>
    public int Write(Span<byte> buffer)
    {
        // RFC 3376 §4.2.1 / §4.2.3: the Reserved fields are sent as zero.
        buffer[..Igmpv3Report.HeaderLength].Clear();
        buffer[0] = (byte)IgmpType.V3MembershipReport;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], (ushort)Records.Length);
        int o = Igmpv3Report.HeaderLength;
        foreach (var r in Records.Span) o += r.Write(buffer[o..]);
        IgmpMessage.FillChecksum(buffer[..o]);
        return o;
    }
}
