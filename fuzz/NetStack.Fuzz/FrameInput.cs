using System.Buffers.Binary;

namespace NetStack.Fuzz;

/// <summary>What the whole-stack harness does to a frame before it delivers it (the first byte of each record).</summary>
[Flags]
public enum FrameFlags : byte
{
    None = 0,
    /// <summary>Destination MAC (when unicast), destination IP, ARP target and NDP target become the stack's own.</summary>
    RewriteAddresses = 0x01,
    /// <summary>IPv4 header checksum and the TCP / UDP / ICMP / ICMPv6 checksum are recomputed after the rewrite.</summary>
    FixChecksums = 0x02,
    /// <summary>A TCP segment's acknowledgment number becomes what the stack's last transmitted segment ends at.</summary>
    AckOurs = 0x04,
    /// <summary>A TCP segment's sequence number becomes what the stack last acknowledged.</summary>
    SeqTheirs = 0x08,
    /// <summary>The frame is a bare IP packet delivered on the raw-IP (TUN) interface instead of the Ethernet one.</summary>
    RawIp = 0x10,
    /// <summary>After the frame, the application writes 1,000 bytes on every open connection.</summary>
    AppSends = 0x20,
    /// <summary>After the frame, the application closes every connection (and aborts those already closed).</summary>
    AppCloses = 0x40,
    /// <summary>A TCP segment's ports become those of the stack's last transmitted segment, swapped (an answer to it).</summary>
    PortsOurs = 0x80,
}

/// <summary>One record of a whole-stack input.</summary>
public readonly ref struct FrameRecord
{
    public FrameRecord(FrameFlags flags, byte delay, ReadOnlySpan<byte> frame)
    {
        Flags = flags;
        Delay = delay;
        Frame = frame;
    }

    public FrameFlags Flags { get; }

    /// <summary>Virtual time before the frame arrives (<see cref="FrameInput.DelayOf"/>).</summary>
    public byte Delay { get; }

    public ReadOnlySpan<byte> Frame { get; }
}

/// <summary>
/// The whole-stack input format: one scenario byte (bit 0: the stack forwards between its interfaces), then records of
/// [flags: 1][delay: 1][length: 2, big-endian][frame: length]. A last record cut short keeps the bytes that are there,
/// so every byte string is a valid input.
/// </summary>
public static class FrameInput
{
    public const int RecordHeaderLength = 4;

    /// <summary>Virtual time a delay byte stands for: 0-99 ms by 1 ms, then to 10 s by 100 ms, then to 560 s by 10 s.</summary>
    public static TimeSpan DelayOf(byte d) => d < 100 ? TimeSpan.FromMilliseconds(d)
        : d < 200 ? TimeSpan.FromMilliseconds((d - 99) * 100) : TimeSpan.FromSeconds((d - 199) * 10);

    public static Enumerator Records(ReadOnlySpan<byte> input) => new(input.IsEmpty ? input : input[1..]);

    /// <summary>Encodes records (for seeds).</summary>
    public static byte[] Encode(byte scenario, IEnumerable<(FrameFlags Flags, byte Delay, byte[] Frame)> records)
    {
        var output = new List<byte> { scenario };
        foreach (var (flags, delay, frame) in records)
        {
            int length = Math.Min(frame.Length, ushort.MaxValue);
            output.Add((byte)flags);
            output.Add(delay);
            output.Add((byte)(length >> 8));
            output.Add((byte)length);
            output.AddRange(frame.AsSpan(0, length).ToArray());
        }
        return [.. output];
    }

    public ref struct Enumerator
    {
        private ReadOnlySpan<byte> _rest;

        internal Enumerator(ReadOnlySpan<byte> records)
        {
            _rest = records;
            Current = default;
        }

        public FrameRecord Current { get; private set; }

        public readonly Enumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_rest.Length < RecordHeaderLength) return false;
            int length = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(_rest[2..]), _rest.Length - RecordHeaderLength);
            Current = new FrameRecord((FrameFlags)_rest[0], _rest[1], _rest.Slice(RecordHeaderLength, length));
            _rest = _rest[(RecordHeaderLength + length)..];
            return true;
        }
    }
}
