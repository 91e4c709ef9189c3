using System.Buffers.Binary;

namespace NetStack.Tests.Ipv6.Support;

/// <summary>Reads the frames of a classic pcap file (either byte order, µs or ns), for replay tests.</summary>
internal static class ClassicPcap
{
    public static string PathOf(string name)
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !Directory.Exists(Path.Combine(dir, "pcaps"))) dir = Path.GetDirectoryName(dir);
        return Path.Combine(dir ?? throw new DirectoryNotFoundException("pcaps/ not found above the test binaries"), "pcaps", name);
    }

    public static List<byte[]> Read(string name)
    {
        var b = File.ReadAllBytes(PathOf(name));
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(b);
        bool le = magic is 0xA1B2C3D4 or 0xA1B23C4D;
        if (!le && BinaryPrimitives.ReadUInt32BigEndian(b) is not (0xA1B2C3D4 or 0xA1B23C4D)) throw new InvalidDataException("not a classic pcap");
        uint U32(int o) => le ? BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(o)) : BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(o));
        var frames = new List<byte[]>();
        for (int o = 24; o + 16 <= b.Length;)
        {
            int incl = (int)U32(o + 8);
            frames.Add(b.AsSpan(o + 16, incl).ToArray());
            o += 16 + incl;
        }
        return frames;
    }
}
