using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// A read-only view of an MLDv2 report (RFC 3810 §5.2, ICMPv6 type 143).
/// <para>Guarantee: once <see cref="TryParse"/> has returned true, every record announced by Nr of
/// Mcast Address Records lies in the buffer with its sources and auxiliary data, so enumeration cannot fail.</para>
/// </summary>
public readonly ref struct Mldv2Report
{
    /// <summary>Bytes of the report header.</summary>
    public const int HeaderLength = 8;
    /// <summary>Bytes of an address record header.</summary>
    public const int RecordHeaderLength = 20;
    internal const int AddressLength = 16;
    private readonly ReadOnlySpan<byte> _buffer;

    private Mldv2Report(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>Validates the type, the header and every address record's length.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out Mldv2Report report, out WireError error)
    {
        report = default;
        if (buffer.Length < HeaderLength) { error = WireError.Truncated; return false; }
        if (buffer[0] != (byte)Icmpv6Type.Mldv2Report) { error = WireError.Unsupported; return false; }
        int records = BinaryPrimitives.ReadUInt16BigEndian(buffer[6..]);
        if (!GroupRecords.TryMeasure(buffer[HeaderLength..], records, AddressLength, out int length)) { error = WireError.BadLength; return false; }
        report = new Mldv2Report(buffer[..(HeaderLength + length)]);
        error = WireError.None;
        return true;
    }

    /// <summary>The whole report.</summary>
    public ReadOnlySpan<byte> Bytes => _buffer;
    /// <summary>Address records in the report.</summary>
    public int RecordCount => BinaryPrimitives.ReadUInt16BigEndian(_buffer[6..]);
    /// <summary>The address records.</summary>
    public Mldv2RecordEnumerator Records => new(_buffer[HeaderLength..], RecordCount);
}

/// <summary>One multicast address record of an MLDv2 report (RFC 3810 §5.2.4).</summary>
public readonly ref struct Mldv2AddressRecord
{
    private readonly ReadOnlySpan<byte> _bytes;

    internal Mldv2AddressRecord(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    /// <summary>The record type.</summary>
    public GroupRecordType RecordType => (GroupRecordType)_bytes[0];
    /// <summary>Auxiliary data length in 32-bit words.</summary>
    public int AuxDataLength => _bytes[1];
    /// <summary>Sources in the record.</summary>
    public int SourceCount => BinaryPrimitives.ReadUInt16BigEndian(_bytes[2..]);
    /// <summary>The multicast address.</summary>
    public Ipv6Address MulticastAddress => Ipv6Address.Read(_bytes[4..]);
    /// <summary>The source at <paramref name="i"/> (default when out of range).</summary>
    public Ipv6Address Source(int i) => (uint)i < (uint)SourceCount ? Ipv6Address.Read(_bytes[(20 + 16 * i)..]) : default;
    /// <summary>The auxiliary data.</summary>
    public ReadOnlySpan<byte> AuxData => _bytes[(20 + 16 * SourceCount)..];
    /// <summary>Bytes of the record.</summary>
    public int Length => _bytes.Length;
}

/// <summary>Enumerates the records of a validated <see cref="Mldv2Report"/>.</summary>
public ref struct Mldv2RecordEnumerator
{
    private readonly ReadOnlySpan<byte> _records;
    private readonly int _count;
    private int _index;
    private int _next;
    private Mldv2AddressRecord _current;

    internal Mldv2RecordEnumerator(ReadOnlySpan<byte> records, int count)
    {
        _records = records;
        _count = count;
        _index = 0;
        _next = 0;
        _current = default;
    }

    /// <summary>The current record.</summary>
    public readonly Mldv2AddressRecord Current => _current;
    /// <summary>Returns this enumerator (for <c>foreach</c>).</summary>
    public readonly Mldv2RecordEnumerator GetEnumerator() => this;

    /// <summary>Moves to the next record; false at the end.</summary>
    public bool MoveNext()
    {
        if (_index >= _count || !GroupRecords.TryNext(_records, ref _next, Mldv2Report.AddressLength, out var record)) return false;
        _current = new Mldv2AddressRecord(record);
        _index++;
        return true;
    }
}

/// <summary>A multicast address record to write (RFC 3810 §5.2.4); aux data must be a multiple of 4 octets.</summary>
public readonly record struct Mldv2RecordRepr(GroupRecordType RecordType, Ipv6Address MulticastAddress,
    ReadOnlyMemory<Ipv6Address> Sources, ReadOnlyMemory<byte> AuxData)
{
    /// <summary>Bytes of the record.</summary>
    public int Length => GroupRecords.Length(Mldv2Report.AddressLength, Sources.Length, AuxData.Length);

    /// <summary>Writes the record; returns the bytes written.</summary>
    public int Write(Span<byte> buffer)
    {
        var s = Sources.Span;
        int n = GroupRecords.WriteFrame(buffer, (byte)RecordType, Mldv2Report.AddressLength, s.Length, AuxData.Span);
        MulticastAddress.Write(buffer[4..]);
        for (int i = 0; i < s.Length; i++) s[i].Write(buffer[(20 + 16 * i)..]);
        return n;
    }
}

/// <summary>An MLDv2 report to write (RFC 3810 §5.2), sent to ff02::16 with hop limit 1 and a Router Alert.</summary>
public readonly record struct Mldv2ReportRepr(ReadOnlyMemory<Mldv2RecordRepr> Records)
{
    /// <summary>Bytes the report takes.</summary>
    public int BufferLength
    {
        get
        {
            int n = Mldv2Report.HeaderLength;
            foreach (var r in Records.Span) n += r.Length;
            return n;
        }
    }

    /// <summary>Writes the report with its checksum over the pseudo-header of <paramref name="source"/> and <paramref name="destination"/>; returns the bytes written.</summary>
    public int Write(Span<byte> buffer, Ipv6Address source, Ipv6Address destination)
    {
        buffer[..Mldv2Report.HeaderLength].Clear();
        buffer[0] = (byte)Icmpv6Type.Mldv2Report;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], (ushort)Records.Length);
        int o = Mldv2Report.HeaderLength;
        foreach (var r in Records.Span) o += r.Write(buffer[o..]);
        Icmpv6Packet.FillChecksum(buffer[..o], source, destination);
        return o;
    }
}
