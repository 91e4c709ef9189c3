using System.Security.Cryptography;
using NetStack.Wire;

namespace NetStack.Tap.Receive;

/// <summary>
/// The receive thread's copy of the addresses that completed a TCP handshake lately (the stack's proven peers, RFC 4987
/// §3): the loop thread adds each one as the stack reports it, the receive thread asks before it sheds a SYN. A
/// direct-mapped table of keyed 64-bit fingerprints and times, lock-free: a race between the two threads can at worst
/// miss or mistake one entry, which changes a SYN's priority, never the stack's state. Keyed from cryptographic
/// randomness (or the given key) so that sources cannot be aimed at slots or fingerprints from outside.
/// </summary>
public sealed class ProvenSources
{
    private readonly long[] _fingerprints;
    private readonly long[] _provenAt;
    private readonly int _mask;
    private readonly ulong _key;

    /// <summary>A table of <paramref name="slots"/> (rounded up to a power of two) entries, each good for <paramref name="lifetime"/>.</summary>
    public ProvenSources(int slots, TimeSpan lifetime, ulong? key = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        int n = 1;
        while (n < slots) n <<= 1;
        _fingerprints = new long[n];
        _provenAt = new long[n];
        _mask = n - 1;
        Lifetime = lifetime;
        if (key is { } k) _key = k | 1;
        else
        {
            Span<byte> b = stackalloc byte[8];
            RandomNumberGenerator.Fill(b);
            _key = BitConverter.ToUInt64(b) | 1;
        }
    }

    /// <summary>How long a handshake vouches for its address here.</summary>
    public TimeSpan Lifetime { get; }

    /// <summary>Records that <paramref name="address"/> completed a handshake at <paramref name="now"/> (any thread; meant for the loop).</summary>
    public void Add(IpAddress address, Instant now)
    {
        ulong h = Hash(address);
        int i = (int)(h & (ulong)_mask);
        Volatile.Write(ref _provenAt[i], now.Microseconds);
        Volatile.Write(ref _fingerprints[i], Fingerprint(h));
    }

    /// <summary>Whether <paramref name="address"/> was added within <see cref="Lifetime"/> before <paramref name="now"/> (any thread).</summary>
    public bool Contains(IpAddress address, Instant now)
    {
        ulong h = Hash(address);
        int i = (int)(h & (ulong)_mask);
        if (Volatile.Read(ref _fingerprints[i]) != Fingerprint(h)) return false;
        long at = Volatile.Read(ref _provenAt[i]);
        return now.Microseconds - at <= (long)(Lifetime.Ticks / 10);
    }

    // Never 0, so that an empty slot matches no address.
    private static long Fingerprint(ulong h) => (long)((h >> 16) | 1);

    private ulong Hash(IpAddress a)
    {
        ulong h = a.IsV4 ? a.V4.Value : (a.V6.High * 0x9E3779B97F4A7C15UL) ^ a.V6.Low;
        h = (h ^ _key) * 0xFF51AFD7ED558CCDUL;
        h ^= h >> 33;
        h *= _key;
        h ^= h >> 29;
        h *= 0xC4CEB9FE1A85EC53UL;
        h ^= h >> 32;
        return h;
    }
}
