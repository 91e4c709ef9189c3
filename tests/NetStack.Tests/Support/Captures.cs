using System.Buffers.Binary;

namespace NetStack.Tests.Support;

/// <summary>One frame of a capture file: its 1-based number (as tshark counts), time, link type and bytes.</summary>
public sealed record CapturedFrame(int Number, long UnixNanoseconds, int LinkType, byte[] Data, int OriginalLength)
{
    public DateTimeOffset Timestamp => DateTimeOffset.UnixEpoch.AddTicks(UnixNanoseconds / 100);
    public bool IsTruncated => Data.Length < OriginalLength;
    public override string ToString() => $"frame {Number} ({Data.Length} bytes)";
}

/// <summary>
/// Reads the captures in pcaps/ (classic pcap in µs or ns, either byte order; pcapng with any number of
/// interfaces and if_tsresol). Test-only: a small independent reader so tests need no native library.
/// </summary>
public static class Captures
{
    public const int LinkTypeEthernet = 1;
    public const int LinkTypeLinuxSll = 113;

    private static readonly Lazy<string> s_directory = new(FindDirectory);

    /// <summary>The pcaps/ directory of the repository.</summary>
    public static string Directory => s_directory.Value;

    /// <summary>The full path of a capture in pcaps/.</summary>
    public static string PathOf(string name) => System.IO.Path.Combine(Directory, name);

    /// <summary>Every capture file in pcaps/ (pcap and pcapng), by file name.</summary>
    public static IEnumerable<string> All() =>
        System.IO.Directory.EnumerateFiles(Directory)
            .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal))
            .Select(System.IO.Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal);

    /// <summary>Reads all frames of the capture named <paramref name="name"/> in pcaps/ (or a full path).</summary>
    public static IReadOnlyList<CapturedFrame> Read(string name)
    {
        var bytes = File.ReadAllBytes(System.IO.Path.IsPathRooted(name) ? name : PathOf(name));
        return Parse(bytes);
    }

    /// <summary>Parses capture file bytes (pcap or pcapng).</summary>
    public static IReadOnlyList<CapturedFrame> Parse(ReadOnlySpan<byte> file)
    {
        if (file.Length < 4) throw new InvalidDataException("Not a capture file: too short.");
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        return magic == 0x0A0D0D0A ? ParsePcapng(file) : ParsePcap(file);
    }

    private static List<CapturedFrame> ParsePcap(ReadOnlySpan<byte> file)
    {
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        bool little, nano;
        switch (magic)
        {
            case 0xA1B2C3D4: little = true; nano = false; break;
            case 0xA1B23C4D: little = true; nano = true; break;
            case 0xD4C3B2A1: little = false; nano = false; break;
            case 0x4D3CB2A1: little = false; nano = true; break;
            default: throw new InvalidDataException($"Unknown capture magic 0x{magic:x8}.");
        }
        int linkType = (int)(U32(file[20..], little) & 0x0FFFFFFF);
        var frames = new List<CapturedFrame>();
        int o = 24;
        while (o + 16 <= file.Length)
        {
            long sec = U32(file[o..], little);
            long frac = U32(file[(o + 4)..], little);
            int caplen = (int)U32(file[(o + 8)..], little);
            int origlen = (int)U32(file[(o + 12)..], little);
            o += 16;
            if (caplen < 0 || o + caplen > file.Length) throw new InvalidDataException("Capture record overruns the file.");
            frames.Add(new CapturedFrame(frames.Count + 1, sec * 1_000_000_000 + frac * (nano ? 1 : 1000), linkType,
                file.Slice(o, caplen).ToArray(), origlen));
            o += caplen;
        }
        return frames;
    }

    private static List<CapturedFrame> ParsePcapng(ReadOnlySpan<byte> file)
    {
        var frames = new List<CapturedFrame>();
        var interfaces = new List<(int LinkType, long UnitsPerSecond)>();
        bool little = true;
        int o = 0;
        while (o + 12 <= file.Length)
        {
            uint type = U32(file[o..], little);
            if (type == 0x0A0D0D0A)
            {
                // Section header: the byte-order magic decides the endianness of this section.
                little = BinaryPrimitives.ReadUInt32LittleEndian(file[(o + 8)..]) == 0x1A2B3C4D;
                interfaces.Clear();
            }
            int length = (int)U32(file[(o + 4)..], little);
            if (length < 12 || o + length > file.Length) throw new InvalidDataException("pcapng block overruns the file.");
            var body = file.Slice(o + 8, length - 12);
            switch (type)
            {
                case 1: // Interface Description Block
                    interfaces.Add(((int)U16(body, little), ReadTsResolution(body[8..], little)));
                    break;
                case 6: // Enhanced Packet Block
                {
                    int iface = (int)U32(body, little);
                    ulong ts = ((ulong)U32(body[4..], little) << 32) | U32(body[8..], little);
                    int caplen = (int)U32(body[12..], little);
                    int origlen = (int)U32(body[16..], little);
                    var (lt, units) = interfaces[iface];
                    long ns = (long)((System.Numerics.BigInteger)ts * 1_000_000_000 / units);
                    frames.Add(new CapturedFrame(frames.Count + 1, ns, lt, body.Slice(20, caplen).ToArray(), origlen));
                    break;
                }
                case 3: // Simple Packet Block
                {
                    int origlen = (int)U32(body, little);
                    int caplen = Math.Min(origlen, body.Length - 4);
                    frames.Add(new CapturedFrame(frames.Count + 1, 0, interfaces[0].LinkType, body.Slice(4, caplen).ToArray(), origlen));
                    break;
                }
            }
            o += length;
        }
        return frames;
    }

    private static long ReadTsResolution(ReadOnlySpan<byte> options, bool little)
    {
        int o = 0;
        while (o + 4 <= options.Length)
        {
            int code = U16(options[o..], little);
            int len = U16(options[(o + 2)..], little);
            if (code == 0) break;
            if (code == 9 && len >= 1 && o + 4 < options.Length)
            {
                byte r = options[o + 4];
                // if_tsresol: high bit set = negative power of two, else negative power of ten.
                return (r & 0x80) != 0 ? 1L << (r & 0x7F) : (long)Math.Pow(10, r);
            }
            o += 4 + ((len + 3) & ~3);
        }
        return 1_000_000;
    }

    private static uint U32(ReadOnlySpan<byte> b, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(b) : BinaryPrimitives.ReadUInt32BigEndian(b);

    private static ushort U16(ReadOnlySpan<byte> b, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(b) : BinaryPrimitives.ReadUInt16BigEndian(b);

    private static string FindDirectory()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = System.IO.Path.Combine(d.FullName, "pcaps");
            if (File.Exists(System.IO.Path.Combine(candidate, "MANIFEST.tsv"))) return candidate;
        }
        throw new DirectoryNotFoundException("pcaps/ not found above " + AppContext.BaseDirectory);
    }
}
