namespace NetStack;

/// <summary>
/// The only source of randomness the core uses (ISNs, ephemeral ports, identifiers, jitter).
/// Injected, so that a simulation with a given seed replays exactly.
/// </summary>
public interface IRandomSource
{
    /// <summary>The next 64 uniformly distributed random bits.</summary>
    ulong NextUInt64();

    /// <summary>Fills <paramref name="destination"/> with random bytes.</summary>
    void NextBytes(Span<byte> destination)
    {
        while (destination.Length >= 8)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(destination, NextUInt64());
            destination = destination[8..];
        }
        if (destination.Length > 0)
        {
            ulong v = NextUInt64();
            for (int i = 0; i < destination.Length; i++) { destination[i] = (byte)v; v >>= 8; }
        }
    }

    /// <summary>The next 32 uniformly distributed random bits.</summary>
    uint NextUInt32() => (uint)(NextUInt64() >> 32);

    /// <summary>A uniform integer in [0, <paramref name="exclusiveMax"/>).</summary>
    int Next(int exclusiveMax) => exclusiveMax <= 0 ? 0 : (int)((NextUInt64() >> 33) % (ulong)exclusiveMax);

    /// <summary>A uniform double in [0, 1).</summary>
    double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}

/// <summary>
/// A small, fast, deterministic generator (xoshiro256**), seeded through SplitMix64.
/// Same seed, same sequence, on every platform.
/// </summary>
public sealed class SeededRandom : IRandomSource
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>A generator whose sequence depends only on <paramref name="seed"/>.</summary>
    public SeededRandom(ulong seed)
    {
        Seed = seed;
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    /// <summary>The seed this generator started from (print it with a failing simulation to replay it).</summary>
    public ulong Seed { get; }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <inheritdoc/>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }
}

/// <summary>Operating-system randomness, for production stacks.</summary>
public sealed class SystemRandomSource : IRandomSource
{
    /// <summary>The one instance (the generator is stateless).</summary>
    public static readonly SystemRandomSource Instance = new();

    /// <inheritdoc/>
    public ulong NextUInt64()
    {
        Span<byte> b = stackalloc byte[8];
        System.Security.Cryptography.RandomNumberGenerator.Fill(b);
        return BitConverter.ToUInt64(b);
    }

    /// <inheritdoc/>
    public void NextBytes(Span<byte> destination) => System.Security.Cryptography.RandomNumberGenerator.Fill(destination);
}
