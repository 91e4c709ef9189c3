using System.Buffers.Binary;

namespace NetStack.Tests.Ipv4.Kit;

/// <summary>
/// Just enough pcapng to replay the small captures in pcaps/ (little-endian sections, Enhanced Packet Blocks).
/// Test-only; the shared capture readers live with the simulator and the wire tests.
/// </summary>
public static class PcapngFrames
{
    public static string PathOf(string name)
    {
        var dir = AppContext.BaseDirectory;
        while (dir != null && !Directory.Exists(Path.Combine(dir, "pcaps"))) dir = Path.GetDirectoryName(dir);
        return Path.Combine(dir ?? throw new DirectoryNotFoundException("pcaps/ not found above the test binaries"), "pcaps", name);
    }

    /// <summary>The frames of the capture, in order (frame 1 is index 0).</summary>
    public static List<byte[]> Read(string name)
    {
        var file = File.ReadAllBytes(PathOf(name));
        var frames = new List<byte[]>();
        int o = 0;
        while (o + 12 <= file.Length)
        {
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(o));
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(o + 4));
            if (type == 0x0A0D0D0A && BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(o + 8)) != 0x1A2B3C4D)
                throw new InvalidDataException("big-endian pcapng section: not needed by these tests");
            if (length < 12 || o + length > file.Length) throw new InvalidDataException($"bad block length at {o}");
            if (type == 6)
            {
                int captured = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(o + 20));
                frames.Add(file.AsSpan(o + 28, captured).ToArray());
            }
            o += length;
        }
        return frames;
    }
}
