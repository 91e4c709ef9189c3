using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// Opens a capture of either format, telling classic pcap from pcapng by its first four bytes. The core reads streams only;
/// <c>PcapFile.Open(path)</c> (a file on disk) is provided by the runtime assembly, NetStack.Tap.
/// </summary>
public static class PcapFile
{
    /// <summary>Returns a reader for <paramref name="stream"/>, which must be at the start of the capture.</summary>
    /// <exception cref="InvalidDataException">The stream starts with neither a pcap file header nor a pcapng Section Header Block, or that header is corrupt.</exception>
    public static IPcapReader Open(Stream stream, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> magic = stackalloc byte[4];
        if (PcapStream.ReadFully(stream, magic) != 4) throw new InvalidDataException("Not a capture file: fewer than 4 bytes.");
        uint le = BinaryPrimitives.ReadUInt32LittleEndian(magic);
        if (le == PcapNgReader.SectionHeaderType) return new PcapNgReader(stream, leaveOpen, magic);
        return new PcapReader(stream, leaveOpen, magic);
    }
}
