using NetStack.Wire;

namespace NetStack.Network.Ipv4;

/// <summary>How a received datagram's destination relates to this host (RFC 1122 §3.3.6, RFC 1812 §5.3.5).</summary>
internal enum Ipv4DestinationKind
{
    /// <summary>Not ours: forward (router) or drop (host).</summary>
    NotLocal,
    /// <summary>One of our unicast addresses (on any interface: the weak host model, as Linux).</summary>
    Local,
    /// <summary>255.255.255.255.</summary>
    LimitedBroadcast,
    /// <summary>The directed broadcast address of a subnet of the receiving interface.</summary>
    DirectedBroadcast,
    /// <summary>224.0.0.0/4.</summary>
    Multicast,
}

/// <summary>
/// The IPv4 addresses of every interface: what is ours, what is a broadcast for which interface, and
/// which source address to use (RFC 1122 §3.3.4.3 and §3.3.6). Several addresses per interface and
/// several interfaces are allowed; the first address added to an interface is its primary one.
/// </summary>
internal sealed class Ipv4AddressTable
{
    private readonly List<(Ipv4Cidr Cidr, int InterfaceIndex)> _entries = [];

    public Ipv4AddressTable(int capacity = 256) => Capacity = capacity;

    public int Capacity { get; }

    public int Count => _entries.Count;

    /// <summary>Adds an address; false when present already (on any interface) or when the table is full.</summary>
    public bool TryAdd(Ipv4Cidr cidr, int interfaceIndex)
    {
        if (_entries.Count >= Capacity || !cidr.Address.IsUnicast) return false;
        foreach (var e in _entries) if (e.Cidr.Address == cidr.Address) return false;
        _entries.Add((cidr, interfaceIndex));
        return true;
    }

    public bool Remove(Ipv4Address address) => _entries.RemoveAll(e => e.Cidr.Address == address) > 0;

    /// <summary>The addresses of one interface, primary first.</summary>
    public IEnumerable<Ipv4Cidr> AddressesOf(int interfaceIndex)
    {
        foreach (var e in _entries) if (e.InterfaceIndex == interfaceIndex) yield return e.Cidr;
    }

    /// <summary>The primary address of an interface (the first one added).</summary>
    public bool TryGetPrimary(int interfaceIndex, out Ipv4Address address)
    {
        foreach (var e in _entries)
        {
            if (e.InterfaceIndex != interfaceIndex) continue;
            address = e.Cidr.Address;
            return true;
        }
        address = default;
        return false;
    }

    /// <summary>True when one subnet of <paramref name="interfaceIndex"/> holds both <paramref name="a"/> and <paramref name="b"/>.</summary>
    public bool SharesSubnet(int interfaceIndex, Ipv4Address a, Ipv4Address b)
    {
        foreach (var e in _entries)
            if (e.InterfaceIndex == interfaceIndex && e.Cidr.Contains(a) && e.Cidr.Contains(b)) return true;
        return false;
    }

    /// <summary>True when <paramref name="address"/> is one of ours, on any interface.</summary>
    public bool IsLocal(Ipv4Address address) => TryFindLocal(address, out _);

    /// <summary>True when <paramref name="address"/> is ours on exactly <paramref name="interfaceIndex"/>.</summary>
    public bool IsLocalOn(Ipv4Address address, int interfaceIndex)
    {
        foreach (var e in _entries) if (e.InterfaceIndex == interfaceIndex && e.Cidr.Address == address) return true;
        return false;
    }

    public bool TryFindLocal(Ipv4Address address, out int interfaceIndex)
    {
        foreach (var e in _entries)
        {
            if (e.Cidr.Address != address) continue;
            interfaceIndex = e.InterfaceIndex;
            return true;
        }
        interfaceIndex = -1;
        return false;
    }

    /// <summary>True when <paramref name="address"/> is the directed broadcast of a subnet on <paramref name="interfaceIndex"/>
    /// (or of any interface when it is -1). /31 and /32 subnets have none (RFC 3021).</summary>
    public bool IsDirectedBroadcast(Ipv4Address address, int interfaceIndex = -1)
    {
        foreach (var e in _entries)
        {
            if (interfaceIndex >= 0 && e.InterfaceIndex != interfaceIndex) continue;
            if (e.Cidr.PrefixLength >= 31) continue;
            if (e.Cidr.DirectedBroadcast == address) return true;
        }
        return false;
    }

    /// <summary>Classifies the destination of a datagram that arrived on <paramref name="interfaceIndex"/>.</summary>
    public Ipv4DestinationKind Classify(Ipv4Address destination, int interfaceIndex)
    {
        if (destination.IsBroadcast) return Ipv4DestinationKind.LimitedBroadcast;
        if (destination.IsMulticast) return Ipv4DestinationKind.Multicast;
        // RFC 1122 §3.3.4.2 permits the weak host model; Linux accepts a local address on any interface.
        if (IsLocal(destination)) return Ipv4DestinationKind.Local;
        if (IsDirectedBroadcast(destination, interfaceIndex)) return Ipv4DestinationKind.DirectedBroadcast;
        return Ipv4DestinationKind.NotLocal;
    }

    /// <summary>
    /// RFC 1122 §3.3.4.3 / Linux inet_select_addr: the source for a datagram leaving by <paramref name="interfaceIndex"/>
    /// toward <paramref name="nextHop"/>: an address of that interface whose subnet holds the next hop, else the
    /// interface's primary address, else (an interface without IPv4 addresses) the first address of the host.
    /// </summary>
    public bool TrySelectSource(int interfaceIndex, Ipv4Address nextHop, out Ipv4Address source)
    {
        bool haveFallback = false;
        source = default;
        foreach (var e in _entries)
        {
            if (e.InterfaceIndex != interfaceIndex) continue;
            if (e.Cidr.Contains(nextHop))
            {
                source = e.Cidr.Address;
                return true;
            }
            if (!haveFallback) { source = e.Cidr.Address; haveFallback = true; }
        }
        if (haveFallback) return true;
        if (_entries.Count == 0) return false;
        source = _entries[0].Cidr.Address;
        return true;
    }
}
