using NetStack.Wire;

namespace NetStack.Transport.Tcp;

/// <summary>
/// Remote addresses that completed a three-way handshake with this host lately (either direction): proof that the
/// address is real and answers, which a spoofed SYN cannot give (RFC 4987 §3: under a flood, a host should prefer SYNs
/// it has reason to trust). SYNs from these addresses take a budget of their own at the listener
/// (<see cref="TcpSettings.ListenerSynRate"/>) and under load (<see cref="Composition.StackOptions.SynsPerPollUnderLoad"/>),
/// so a flood of SYNs from spoofed sources, on-link or off-link, cannot use up what a returning client needs.
/// <para>
/// A direct-mapped table (a slot per keyed hash of the address, the newest proof wins a slot): O(1) without allocation,
/// bounded memory, and only a completed handshake writes to it, which a spoofing flooder cannot make. The hash is keyed
/// from the layer's random source so that the slots an address lands in cannot be aimed at from outside.
/// </para>
/// </summary>
internal sealed class TcpProvenPeers
{
    private readonly IpAddress[] _addresses;
    private readonly Instant[] _provenAt;
    private readonly bool[] _used;
    private readonly ulong _key;
    private readonly int _mask;

    /// <summary>A table of <paramref name="slots"/> (rounded up to a power of two) entries that last <paramref name="lifetime"/>.</summary>
    public TcpProvenPeers(int slots, TimeSpan lifetime, ulong key)
    {
        int n = 1;
        while (n < Math.Max(1, slots)) n <<= 1;
        _addresses = new IpAddress[n];
        _provenAt = new Instant[n];
        _used = new bool[n];
        _mask = n - 1;
        _key = key | 1;
        Lifetime = lifetime;
    }

    /// <summary>How long a handshake vouches for its address.</summary>
    public TimeSpan Lifetime { get; }

    /// <summary>Records that <paramref name="address"/> completed a handshake at <paramref name="now"/>.</summary>
    public void Add(IpAddress address, Instant now)
    {
        int i = Slot(address);
        _addresses[i] = address;
        _provenAt[i] = now;
        _used[i] = true;
    }

    /// <summary>Whether <paramref name="address"/> completed a handshake within <see cref="Lifetime"/> before <paramref name="now"/>.</summary>
    public bool Contains(IpAddress address, Instant now)
    {
        int i = Slot(address);
        return _used[i] && _addresses[i] == address && now - _provenAt[i] <= Lifetime;
    }

    private int Slot(IpAddress a)
    {
        ulong h = a.IsV4 ? a.V4.Value : (a.V6.High * 0x9E3779B97F4A7C15UL) ^ a.V6.Low;
        h = (h ^ _key) * 0xFF51AFD7ED558CCDUL;
        h ^= h >> 33;
        h *= _key;
        h ^= h >> 29;
        return (int)(h & (ulong)_mask);
    }
}
