namespace NetStack.Wire;

/// <summary>Small helpers shared by the capture readers: bounded, growing buffers over a <see cref="Stream"/>.</summary>
internal static class PcapStream
{
    /// <summary>Reads up to <paramref name="buffer"/>'s length; returns how many bytes were read (less only at end of stream).</summary>
    public static int ReadFully(Stream stream, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>Makes sure <paramref name="buffer"/> holds at least <paramref name="length"/> bytes (callers have checked the limit).</summary>
    public static void Ensure(ref byte[] buffer, int length)
    {
        if (buffer.Length >= length) return;
        int size = buffer.Length;
        while (size < length) size *= 2;
        buffer = new byte[size];
    }
}
