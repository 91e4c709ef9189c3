using System.Globalization;
using NetStack.Wire;

namespace NetStack.Network;

/// <summary>An IPv4 address with a prefix length (an interface address, or a route's destination).</summary>
public readonly record struct Ipv4Cidr(Ipv4Address Address, int PrefixLength)
{
    /// <summary>The netmask as a 32-bit value in host order.</summary>
    public uint Mask => PrefixLength == 0 ? 0 : uint.MaxValue << (32 - PrefixLength);
    /// <summary>The network address (the address with its host bits cleared).</summary>
    public Ipv4Address Network => new(Address.Value & Mask);
    /// <summary>The directed broadcast address of the subnet (RFC 919/922); none for /31 and /32 (RFC 3021).</summary>
    public Ipv4Address DirectedBroadcast => new(Address.Value | ~Mask);
    /// <summary>True when <paramref name="a"/> lies in this prefix.</summary>
    public bool Contains(Ipv4Address a) => (a.Value & Mask) == (Address.Value & Mask);

    /// <summary>Parses <c>a.b.c.d/len</c>; <see cref="FormatException"/> otherwise.</summary>
    public static Ipv4Cidr Parse(string s)
    {
        var slash = s.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0) return new Ipv4Cidr(Ipv4Address.Parse(s), 32);
        int p = int.Parse(s.AsSpan(slash + 1), CultureInfo.InvariantCulture);
        if (p is < 0 or > 32) throw new FormatException($"Bad IPv4 prefix length in '{s}'.");
        return new Ipv4Cidr(Ipv4Address.Parse(s[..slash]), p);
    }

    /// <summary><c>a.b.c.d/len</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Address}/{PrefixLength}");
}

/// <summary>An IPv6 address with a prefix length.</summary>
public readonly record struct Ipv6Cidr(Ipv6Address Address, int PrefixLength)
{
    /// <summary>True when <paramref name="a"/> lies in this prefix.</summary>
    public bool Contains(Ipv6Address a) => a.MatchesPrefix(Address, PrefixLength);

    /// <summary>The prefix (the address with its interface-identifier bits cleared).</summary>
    public Ipv6Address Prefix
    {
        get
        {
            if (PrefixLength >= 128) return Address;
            if (PrefixLength <= 0) return Ipv6Address.Unspecified;
            if (PrefixLength <= 64)
            {
                ulong m = PrefixLength == 64 ? ulong.MaxValue : ~(ulong.MaxValue >> PrefixLength);
                return new Ipv6Address(Address.High & m, 0);
            }
            return new Ipv6Address(Address.High, Address.Low & ~(ulong.MaxValue >> (PrefixLength - 64)));
        }
    }

    /// <summary>Parses <c>address/len</c> (RFC 4291 §2.3); <see cref="FormatException"/> otherwise.</summary>
    public static Ipv6Cidr Parse(string s)
    {
        var slash = s.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0) return new Ipv6Cidr(Ipv6Address.Parse(s), 128);
        int p = int.Parse(s.AsSpan(slash + 1), CultureInfo.InvariantCulture);
        if (p is < 0 or > 128) throw new FormatException($"Bad IPv6 prefix length in '{s}'.");
        return new Ipv6Cidr(Ipv6Address.Parse(s[..slash]), p);
    }

    /// <summary><c>address/len</c>, the address in RFC 5952 form.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Address}/{PrefixLength}");
}
