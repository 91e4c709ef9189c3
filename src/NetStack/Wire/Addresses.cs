using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace NetStack.Wire;

/// <summary>A 48-bit IEEE 802 MAC address, stored in network byte order in the low 48 bits.</summary>
public readonly record struct MacAddress(ulong Value)
{
    /// <summary>Bytes in a MAC address.</summary>
    public const int Length = 6;
    /// <summary>The broadcast address ff:ff:ff:ff:ff:ff.</summary>
    public static readonly MacAddress Broadcast = new(0xFFFF_FFFF_FFFFUL);
    /// <summary>The all-zero address.</summary>
    public static readonly MacAddress Zero = new(0);

    /// <summary>Reads an address from the first 6 bytes of <paramref name="source"/>.</summary>
    public static MacAddress Read(ReadOnlySpan<byte> source) =>
        new(((ulong)BinaryPrimitives.ReadUInt16BigEndian(source) << 32) | BinaryPrimitives.ReadUInt32BigEndian(source[2..]));

    /// <summary>Writes the address to the first 6 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(Value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)Value);
    }

    /// <summary>True for ff:ff:ff:ff:ff:ff.</summary>
    public bool IsBroadcast => Value == Broadcast.Value;
    /// <summary>The I/G bit: group (multicast or broadcast) address.</summary>
    public bool IsMulticast => ((Value >> 40) & 1) != 0;
    /// <summary>True when the group bit is clear.</summary>
    public bool IsUnicast => !IsMulticast;

    /// <summary>The Ethernet multicast address for an IPv4 group (RFC 1112 §6.4).</summary>
    public static MacAddress ForIpv4Multicast(Ipv4Address group) => new(0x01005E000000UL | (group.Value & 0x7FFFFF));

    /// <summary>The Ethernet multicast address for an IPv6 group (RFC 2464 §7).</summary>
    public static MacAddress ForIpv6Multicast(Ipv6Address group) => new(0x333300000000UL | (uint)group.Low);

    /// <summary>Parses <c>xx:xx:xx:xx:xx:xx</c> (or with '-'); <see cref="FormatException"/> otherwise.</summary>
    public static MacAddress Parse(string s)
    {
        if (!TryParse(s, out var m)) throw new FormatException($"'{s}' is not a MAC address (expected xx:xx:xx:xx:xx:xx).");
        return m;
    }

    /// <summary>Parses <c>xx:xx:xx:xx:xx:xx</c> (or with '-'); false otherwise.</summary>
    public static bool TryParse(string? s, out MacAddress mac)
    {
        mac = default;
        if (s is null) return false;
        var parts = s.Split(':', '-');
        if (parts.Length != 6) return false;
        ulong v = 0;
        foreach (var p in parts)
        {
            if (p.Length is < 1 or > 2 || !byte.TryParse(p, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b)) return false;
            v = (v << 8) | b;
        }
        mac = new MacAddress(v);
        return true;
    }

    /// <summary>Six lower-case hexadecimal bytes separated by ':'.</summary>
    public override string ToString()
    {
        Span<byte> b = stackalloc byte[6];
        Write(b);
        return string.Create(CultureInfo.InvariantCulture, $"{b[0]:x2}:{b[1]:x2}:{b[2]:x2}:{b[3]:x2}:{b[4]:x2}:{b[5]:x2}");
    }
}

/// <summary>An IPv4 address as a host-order <see cref="uint"/> (so comparisons and masks are plain arithmetic).</summary>
public readonly record struct Ipv4Address(uint Value) : IComparable<Ipv4Address>
{
    /// <summary>Bytes in an IPv4 address.</summary>
    public const int Length = 4;
    /// <summary>0.0.0.0, the unspecified address.</summary>
    public static readonly Ipv4Address Any = new(0);
    /// <summary>255.255.255.255, the limited broadcast address.</summary>
    public static readonly Ipv4Address Broadcast = new(0xFFFFFFFF);
    /// <summary>127.0.0.1.</summary>
    public static readonly Ipv4Address Loopback = new(0x7F000001);

    /// <summary>The address <c>a.b.c.d</c>.</summary>
    public Ipv4Address(byte a, byte b, byte c, byte d) : this(((uint)a << 24) | ((uint)b << 16) | ((uint)c << 8) | d) { }

    /// <summary>Reads an address from the first 4 bytes of <paramref name="source"/> (network order).</summary>
    public static Ipv4Address Read(ReadOnlySpan<byte> source) => new(BinaryPrimitives.ReadUInt32BigEndian(source));
    /// <summary>Writes the address to the first 4 bytes of <paramref name="destination"/> (network order).</summary>
    public void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt32BigEndian(destination, Value);

    /// <summary>True for 0.0.0.0.</summary>
    public bool IsUnspecified => Value == 0;
    /// <summary>True for 255.255.255.255.</summary>
    public bool IsBroadcast => Value == 0xFFFFFFFF;
    /// <summary>True for 224.0.0.0/4 (RFC 5771).</summary>
    public bool IsMulticast => (Value >> 28) == 0xE;
    /// <summary>True for 127.0.0.0/8.</summary>
    public bool IsLoopback => (Value >> 24) == 127;
    /// <summary>True for 169.254.0.0/16 (RFC 3927).</summary>
    public bool IsLinkLocal => (Value >> 16) == 0xA9FE;
    /// <summary>Class E (240/4), reserved.</summary>
    public bool IsReserved => (Value >> 28) == 0xF && !IsBroadcast;
    /// <summary>True for an address that may name one host: not unspecified, broadcast, multicast or reserved.</summary>
    public bool IsUnicast => !IsUnspecified && !IsBroadcast && !IsMulticast && !IsReserved;

    /// <summary>Parses dotted-decimal notation.</summary>
    public static Ipv4Address Parse(string s) => FromIPAddress(IPAddress.Parse(s));

    /// <summary>The address of an IPv4 <see cref="IPAddress"/>.</summary>
    public static Ipv4Address FromIPAddress(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork) throw new ArgumentException("Not an IPv4 address.", nameof(address));
        Span<byte> b = stackalloc byte[4];
        address.TryWriteBytes(b, out _);
        return Read(b);
    }

    /// <summary>The address as an <see cref="IPAddress"/>.</summary>
    public IPAddress ToIPAddress()
    {
        Span<byte> b = stackalloc byte[4];
        Write(b);
        return new IPAddress(b);
    }

    /// <summary>Orders addresses numerically.</summary>
    public int CompareTo(Ipv4Address other) => Value.CompareTo(other.Value);

    /// <summary>Dotted-decimal notation.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}");
}

/// <summary>An IPv6 address as two host-order 64-bit halves.</summary>
public readonly record struct Ipv6Address(ulong High, ulong Low) : IComparable<Ipv6Address>
{
    /// <summary>Bytes in an IPv6 address.</summary>
    public const int Length = 16;
    /// <summary>::, the unspecified address.</summary>
    public static readonly Ipv6Address Unspecified = new(0, 0);
    /// <summary>::1, the loopback address.</summary>
    public static readonly Ipv6Address Loopback = new(0, 1);
    /// <summary>ff02::1, all nodes on the link.</summary>
    public static readonly Ipv6Address AllNodes = new(0xFF02_0000_0000_0000UL, 1);
    /// <summary>ff02::2, all routers on the link.</summary>
    public static readonly Ipv6Address AllRouters = new(0xFF02_0000_0000_0000UL, 2);
    /// <summary>ff02::16, all MLDv2-capable routers (RFC 3810 §5.2.14).</summary>
    public static readonly Ipv6Address AllMldv2Routers = new(0xFF02_0000_0000_0000UL, 0x16);

    /// <summary>Reads an address from the first 16 bytes of <paramref name="source"/>.</summary>
    public static Ipv6Address Read(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(source), BinaryPrimitives.ReadUInt64BigEndian(source[8..]));

    /// <summary>Writes the address to the first 16 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, High);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Low);
    }

    /// <summary>True for ::.</summary>
    public bool IsUnspecified => High == 0 && Low == 0;
    /// <summary>True for ::1.</summary>
    public bool IsLoopback => High == 0 && Low == 1;
    /// <summary>True for ff00::/8 (RFC 4291 §2.7).</summary>
    public bool IsMulticast => (High >> 56) == 0xFF;
    /// <summary>fe80::/10.</summary>
    public bool IsLinkLocal => (High >> 54) == (0xFE80UL >> 6);
    /// <summary>The scope field of a multicast address (RFC 4291 §2.7).</summary>
    public int MulticastScope => (int)((High >> 48) & 0xF);
    /// <summary>True for any address but :: and multicast.</summary>
    public bool IsUnicast => !IsUnspecified && !IsMulticast;
    /// <summary>::ffff:0:0/96.</summary>
    public bool IsIpv4Mapped => High == 0 && (Low >> 32) == 0xFFFF;

    /// <summary>The solicited-node multicast group ff02::1:ffXX:XXXX (RFC 4291 §2.7.1).</summary>
    public Ipv6Address SolicitedNode => new(0xFF02_0000_0000_0000UL, 0x0000_0001_FF00_0000UL | (Low & 0xFFFFFF));

    /// <summary>True when the first <paramref name="prefixLength"/> bits equal those of <paramref name="prefix"/>.</summary>
    public bool MatchesPrefix(Ipv6Address prefix, int prefixLength)
    {
        if (prefixLength <= 0) return true;
        if (prefixLength >= 128) return this == prefix;
        if (prefixLength <= 64)
        {
            ulong m = prefixLength == 64 ? ulong.MaxValue : ~(ulong.MaxValue >> prefixLength);
            return (High & m) == (prefix.High & m);
        }
        ulong lm = ~(ulong.MaxValue >> (prefixLength - 64));
        return High == prefix.High && (Low & lm) == (prefix.Low & lm);
    }

    /// <summary>Length of the common leading bits (RFC 6724 rule 8's CommonPrefixLen).</summary>
    public int CommonPrefixLength(Ipv6Address other)
    {
        ulong h = High ^ other.High;
        if (h != 0) return System.Numerics.BitOperations.LeadingZeroCount(h);
        ulong l = Low ^ other.Low;
        return l == 0 ? 128 : 64 + System.Numerics.BitOperations.LeadingZeroCount(l);
    }

    /// <summary>Parses RFC 4291 §2.2 text.</summary>
    public static Ipv6Address Parse(string s) => FromIPAddress(IPAddress.Parse(s));

    /// <summary>The address of an IPv6 <see cref="IPAddress"/>.</summary>
    public static Ipv6Address FromIPAddress(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6) throw new ArgumentException("Not an IPv6 address.", nameof(address));
        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out _);
        return Read(b);
    }

    /// <summary>The address as an <see cref="IPAddress"/>.</summary>
    public IPAddress ToIPAddress()
    {
        Span<byte> b = stackalloc byte[16];
        Write(b);
        return new IPAddress(b);
    }

    /// <summary>Orders addresses numerically.</summary>
    public int CompareTo(Ipv6Address other)
    {
        int c = High.CompareTo(other.High);
        return c != 0 ? c : Low.CompareTo(other.Low);
    }

    /// <summary>RFC 5952 text.</summary>
    public override string ToString() => ToIPAddress().ToString();
}

/// <summary>The IP version of an address or packet.</summary>
public enum IpVersion : byte
{
    /// <summary>IPv4.</summary>
    V4 = 4,
    /// <summary>IPv6.</summary>
    V6 = 6,
}

/// <summary>
/// An IPv4 or IPv6 address without allocation (the core's equivalent of <see cref="IPAddress"/>).
/// IPv4 addresses are held in the low 32 bits of <see cref="V6"/>'s Low half only for storage; use
/// <see cref="V4"/> to read them.
/// </summary>
public readonly record struct IpAddress : IComparable<IpAddress>
{
    private readonly ulong _high;
    private readonly ulong _low;

    /// <summary>Which family the address belongs to.</summary>
    public IpVersion Version { get; }

    /// <summary>An IPv4 address.</summary>
    public IpAddress(Ipv4Address v4) { Version = IpVersion.V4; _high = 0; _low = v4.Value; }
    /// <summary>An IPv6 address.</summary>
    public IpAddress(Ipv6Address v6) { Version = IpVersion.V6; _high = v6.High; _low = v6.Low; }

    /// <summary>True for an IPv4 address.</summary>
    public bool IsV4 => Version == IpVersion.V4;
    /// <summary>True for an IPv6 address.</summary>
    public bool IsV6 => Version == IpVersion.V6;
    /// <summary>The IPv4 address (meaningful when <see cref="IsV4"/>).</summary>
    public Ipv4Address V4 => new((uint)_low);
    /// <summary>The IPv6 address (meaningful when <see cref="IsV6"/>).</summary>
    public Ipv6Address V6 => new(_high, _low);

    /// <summary>True for 0.0.0.0 or ::.</summary>
    public bool IsUnspecified => IsV4 ? V4.IsUnspecified : V6.IsUnspecified;
    /// <summary>True for a multicast address of either family.</summary>
    public bool IsMulticast => IsV4 ? V4.IsMulticast : V6.IsMulticast;
    /// <summary>An address one host can have: not unspecified, multicast, or (IPv4) limited broadcast or class E.</summary>
    public bool IsUnicast => IsV4 ? V4.IsUnicast : V6.IsUnicast;

    /// <summary>Widens an IPv4 address.</summary>
    public static implicit operator IpAddress(Ipv4Address a) => new(a);
    /// <summary>Widens an IPv6 address.</summary>
    public static implicit operator IpAddress(Ipv6Address a) => new(a);

    /// <summary>The address of an <see cref="IPAddress"/> of either family.</summary>
    public static IpAddress FromIPAddress(IPAddress address) => address.AddressFamily switch
    {
        AddressFamily.InterNetwork => new IpAddress(Ipv4Address.FromIPAddress(address)),
        AddressFamily.InterNetworkV6 => new IpAddress(Ipv6Address.FromIPAddress(address)),
        _ => throw new ArgumentException("Not an IP address.", nameof(address)),
    };

    /// <summary>Parses an address of either family.</summary>
    public static IpAddress Parse(string s) => FromIPAddress(IPAddress.Parse(s));

    /// <summary>The address as an <see cref="IPAddress"/>.</summary>
    public IPAddress ToIPAddress() => IsV4 ? V4.ToIPAddress() : V6.ToIPAddress();

    /// <summary>Orders IPv4 before IPv6, then numerically.</summary>
    public int CompareTo(IpAddress other)
    {
        if (Version != other.Version) return Version.CompareTo(other.Version);
        return IsV4 ? V4.CompareTo(other.V4) : V6.CompareTo(other.V6);
    }

    /// <summary>The address in its family's text form.</summary>
    public override string ToString() => IsV4 ? V4.ToString() : V6.ToString();
}
