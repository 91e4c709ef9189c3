using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using NetStack.Wire;

namespace NetStack.Benchmarks;

/// <summary>The Internet checksum over typical packet sizes: vectorized Accumulate against a scalar 32-bit loop.</summary>
[MemoryDiagnoser]
public class ChecksumBenchmarks
{
    private byte[] _data = [];

    [Params(64, 576, 1500, 9000)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Size];
        new Random(42).NextBytes(_data);
    }

    [Benchmark]
    public ushort Vectorized() => Checksum.Fold(Checksum.Accumulate(_data));

    /// <summary>The previous implementation: 32-bit big-endian reads, one at a time.</summary>
    [Benchmark(Baseline = true)]
    public ushort Scalar32()
    {
        ReadOnlySpan<byte> data = _data;
        ulong sum = 0;
        int i = 0;
        for (; i + 4 <= data.Length; i += 4) sum += BinaryPrimitives.ReadUInt32BigEndian(data[i..]);
        if (i + 2 <= data.Length) { sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]); i += 2; }
        if (i < data.Length) sum += (ulong)data[i] << 8;
        return Checksum.Fold(sum);
    }
}
