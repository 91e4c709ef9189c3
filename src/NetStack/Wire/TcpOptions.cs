using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace NetStack.Wire;

/// <summary>TCP option kinds (IANA "TCP Option Kind Numbers").</summary>
public enum TcpOptionKind : byte
{
    /// <summary>End of option list (RFC 9293 §3.2).</summary>
    EndOfList = 0,
    /// <summary>No operation.</summary>
    NoOperation = 1,
    /// <summary>RFC 9293 §3.2: maximum segment size, length 4.</summary>
    MaxSegmentSize = 2,
    /// <summary>RFC 7323 §2.2: window scale shift, length 3.</summary>
    WindowScale = 3,
    /// <summary>RFC 2018 §2: SACK permitted, length 2.</summary>
    SackPermitted = 4,
    /// <summary>RFC 2018 §3: SACK blocks, length 2 + 8n.</summary>
    Sack = 5,
    /// <summary>RFC 7323 §3.2: timestamps, length 10.</summary>
    Timestamps = 8,
}

/// <summary>One SACK block: the left edge and the sequence number just after the right edge (RFC 2018 §3).</summary>
public readonly record struct SackBlock(SeqNumber Left, SeqNumber Right);

/// <summary>The RFC 7323 timestamps option: TSval and TSecr.</summary>
public readonly record struct TcpTimestamps(uint Value, uint Echo);

/// <summary>Inline storage for up to four SACK blocks (no allocation).</summary>
[InlineArray(TcpSackBlocks.Max)]
internal struct SackBlockArray
{
    private SackBlock _element0;
}

/// <summary>
/// Up to <see cref="Max"/> SACK blocks (RFC 2018 §3: at most four fit in 40 option bytes), stored inline.
/// </summary>
public struct TcpSackBlocks : IEquatable<TcpSackBlocks>
{
    /// <summary>At most this many SACK blocks fit in a segment.</summary>
    public const int Max = 4;
    private SackBlockArray _blocks;

    /// <summary>The number of blocks held (0..4).</summary>
    public int Count { get; private set; }

    /// <summary>The i-th block, most important (most recently changed) first.</summary>
    public readonly SackBlock this[int i] => (uint)i < (uint)Count ? _blocks[i] : default;

    /// <summary>Appends a block; false when four are already held.</summary>
    public bool TryAdd(SackBlock block)
    {
        if (Count == Max) return false;
        _blocks[Count++] = block;
        return true;
    }

    /// <summary>Removes every block.</summary>
    public void Clear() => Count = 0;

    /// <summary>True when both hold the same blocks in the same order.</summary>
    public readonly bool Equals(TcpSackBlocks other)
    {
        if (Count != other.Count) return false;
        for (int i = 0; i < Count; i++) if (this[i] != other[i]) return false;
        return true;
    }

    /// <inheritdoc/>
    public override readonly bool Equals(object? obj) => obj is TcpSackBlocks o && Equals(o);

    /// <inheritdoc/>
    public override readonly int GetHashCode()
    {
        var h = new HashCode();
        for (int i = 0; i < Count; i++) h.Add(this[i]);
        return h.ToHashCode();
    }

    /// <summary>True when both hold the same blocks in the same order.</summary>
    public static bool operator ==(TcpSackBlocks a, TcpSackBlocks b) => a.Equals(b);
    /// <summary>True when the blocks differ.</summary>
    public static bool operator !=(TcpSackBlocks a, TcpSackBlocks b) => !a.Equals(b);

    /// <summary>The blocks as <c>[left-right,...]</c>.</summary>
    public override readonly string ToString()
    {
        var parts = new string[Count];
        for (int i = 0; i < Count; i++) parts[i] = $"{this[i].Left}-{this[i].Right}";
        return "[" + string.Join(",", parts) + "]";
    }
}

/// <summary>
/// Walks the options area of a TCP header (RFC 9293 §3.1, §3.2). Unknown kinds are skipped by their
/// length. <see cref="Validate"/> checks every length once; a walker over a validated area never fails.
/// </summary>
public ref struct TcpOptionReader
{
    private readonly ReadOnlySpan<byte> _options;
    private int _offset;

    /// <summary>Reads the options in <paramref name="options"/>.</summary>
    public TcpOptionReader(ReadOnlySpan<byte> options)
    {
        _options = options;
        _offset = 0;
    }

    /// <summary>
    /// The next option other than NOP, with its data (bytes after kind and length). False at the end
    /// of the area, at End-of-Option-List, or (with <paramref name="error"/> set) at a malformed option.
    /// </summary>
    public bool TryNext(out TcpOptionKind kind, out ReadOnlySpan<byte> data, out WireError error)
    {
        data = default;
        error = WireError.None;
        while (_offset < _options.Length)
        {
            kind = (TcpOptionKind)_options[_offset];
            if (kind == TcpOptionKind.EndOfList) { _offset = _options.Length; return false; }
            if (kind == TcpOptionKind.NoOperation) { _offset++; continue; }
            // RFC 9293 §3.2: every other option has a length octet counting kind and length.
            if (_offset + 1 >= _options.Length) { error = WireError.BadOption; return false; }
            int length = _options[_offset + 1];
            if (length < 2 || _offset + length > _options.Length) { error = WireError.BadOption; return false; }
            int expected = kind switch
            {
                TcpOptionKind.MaxSegmentSize => 4,
                TcpOptionKind.WindowScale => 3,
                TcpOptionKind.SackPermitted => 2,
                TcpOptionKind.Timestamps => 10,
                _ => -1,
            };
            if (expected >= 0 && length != expected) { error = WireError.BadOption; return false; }
            // RFC 2018 §3: SACK is 2 + 8n bytes, n in 1..4 (4 is the most that fits).
            if (kind == TcpOptionKind.Sack && (length < 10 || (length - 2) % 8 != 0 || length > 34))
            {
                error = WireError.BadOption; return false;
            }
            data = _options.Slice(_offset + 2, length - 2);
            _offset += length;
            return true;
        }
        kind = TcpOptionKind.EndOfList;
        return false;
    }

    /// <summary>Checks the whole options area; <see cref="WireError.BadOption"/> at the first malformed option.</summary>
    public static WireError Validate(ReadOnlySpan<byte> options)
    {
        var r = new TcpOptionReader(options);
        WireError err;
        while (r.TryNext(out _, out _, out err)) { }
        return err;
    }

    internal static ushort ReadMss(ReadOnlySpan<byte> data) => BinaryPrimitives.ReadUInt16BigEndian(data);
}
