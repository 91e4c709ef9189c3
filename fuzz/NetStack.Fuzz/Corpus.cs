using System.Buffers.Binary;

namespace NetStack.Fuzz;

/// <summary>A packed corpus: inputs one after another, each behind its length (4 bytes, big-endian).</summary>
public static class Corpus
{
    public static IReadOnlyList<byte[]> Unpack(ReadOnlySpan<byte> packed)
    {
        var inputs = new List<byte[]>();
        while (packed.Length >= 4)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(packed);
            if (length < 0 || length > packed.Length - 4) throw new InvalidDataException("corpus file cut short");
            inputs.Add(packed.Slice(4, length).ToArray());
            packed = packed[(4 + length)..];
        }
        if (!packed.IsEmpty) throw new InvalidDataException("corpus file cut short");
        return inputs;
    }
}
