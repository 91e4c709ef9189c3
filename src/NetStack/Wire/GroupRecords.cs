using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// Group record types, the same numbers in IGMPv3 reports (RFC 3376 §4.2.12) and MLDv2 reports (RFC 3810 §5.2.12),
/// with the RFCs' names: current-state records answer queries, filter-mode-change and source-list-change records
/// announce a change.
/// </summary>
public enum GroupRecordType : byte
{
    /// <summary>MODE_IS_INCLUDE (RFC 3376 §4.2.12, RFC 3810 §5.2.12).</summary>
    ModeIsInclude = 1,
    /// <summary>MODE_IS_EXCLUDE.</summary>
    ModeIsExclude = 2,
    /// <summary>CHANGE_TO_INCLUDE_MODE.</summary>
    ChangeToIncludeMode = 3,
    /// <summary>CHANGE_TO_EXCLUDE_MODE.</summary>
    ChangeToExcludeMode = 4,
    /// <summary>ALLOW_NEW_SOURCES.</summary>
    AllowNewSources = 5,
    /// <summary>BLOCK_OLD_SOURCES.</summary>
    BlockOldSources = 6,
}

/// <summary>
/// The group record list shared by IGMPv3 reports (RFC 3376 §4.2.4) and MLDv2 reports (RFC 3810 §5.2.4): each record is
/// type, aux data length (32-bit words), number of sources, the group address, the source addresses, the aux data. The
/// two formats differ only in the address length (4 or 16); this walks and writes them for both views.
/// </summary>
internal static class GroupRecords
{
    /// <summary>The fixed part of a record: 4 octets and the group address.</summary>
    public static int HeaderLength(int addressLength) => 4 + addressLength;

    /// <summary>
    /// Walks <paramref name="count"/> records from the start of <paramref name="records"/>; false when one runs past the end.
    /// <paramref name="length"/> is where the last one ends.
    /// </summary>
    public static bool TryMeasure(ReadOnlySpan<byte> records, int count, int addressLength, out int length)
    {
        length = 0;
        for (int i = 0; i < count; i++)
        {
            if (!TryNext(records, ref length, addressLength, out _)) return false;
        }
        return true;
    }

    /// <summary>The record at <paramref name="offset"/>, which then moves past it; false when it does not fit.</summary>
    public static bool TryNext(ReadOnlySpan<byte> records, scoped ref int offset, int addressLength, out ReadOnlySpan<byte> record)
    {
        record = default;
        if (offset + HeaderLength(addressLength) > records.Length) return false;
        // RFC 3376 §4.2.6-§4.2.7 / RFC 3810 §5.2.5-§5.2.6: aux data length in 32-bit words, number of sources.
        int len = HeaderLength(addressLength) + addressLength * BinaryPrimitives.ReadUInt16BigEndian(records[(offset + 2)..])
            + 4 * records[offset + 1];
        if (offset + len > records.Length) return false;
        record = records.Slice(offset, len);
        offset += len;
        return true;
    }

    /// <summary>The octets a record with <paramref name="sources"/> sources and <paramref name="auxLength"/> aux octets takes
    /// (aux data is cut to a multiple of 4).</summary>
    public static int Length(int addressLength, int sources, int auxLength) =>
        HeaderLength(addressLength) + addressLength * sources + (auxLength & ~3);

    /// <summary>Writes the fixed part of a record and its aux data; the caller writes the group and source addresses.</summary>
    public static int WriteFrame(Span<byte> buffer, byte recordType, int addressLength, int sources, ReadOnlySpan<byte> auxData)
    {
        int aux = auxData.Length & ~3;
        buffer[0] = recordType;
        buffer[1] = (byte)(aux / 4);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], (ushort)sources);
        auxData[..aux].CopyTo(buffer[(HeaderLength(addressLength) + addressLength * sources)..]);
        return Length(addressLength, sources, aux);
    }
}
