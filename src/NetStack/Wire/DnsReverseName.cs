namespace NetStack.Wire;

/// <summary>Reverse-mapping names for PTR queries: in-addr.arpa (RFC 1035 §3.5) and ip6.arpa (RFC 3596 §2.5).</summary>
public static class DnsReverseName
{
    /// <summary>Longest text: 32 nibbles with dots plus "ip6.arpa".</summary>
    public const int MaxLength = 72;

    /// <summary>Writes "d.c.b.a.in-addr.arpa" for a.b.c.d.</summary>
    public static bool TryFormat(Ipv4Address address, Span<char> destination, out int written)
    {
        written = 0;
        uint v = address.Value;
        for (int i = 0; i < 4; i++)
        {
            byte octet = (byte)(v >> (8 * i));
            if (!octet.TryFormat(destination[written..], out int n, provider: System.Globalization.CultureInfo.InvariantCulture)) return false;
            written += n;
            if (written >= destination.Length) return false;
            destination[written++] = '.';
        }
        return Append(destination, ref written, "in-addr.arpa");
    }

    /// <summary>Writes the 32 nibbles of the address, least significant first, then "ip6.arpa".</summary>
    public static bool TryFormat(Ipv6Address address, Span<char> destination, out int written)
    {
        written = 0;
        for (int i = 0; i < 32; i++)
        {
            ulong half = i < 16 ? address.Low : address.High;
            int nibble = (int)((half >> (4 * (i % 16))) & 0xF);
            if (written + 2 > destination.Length) return false;
            destination[written++] = "0123456789abcdef"[nibble];
            destination[written++] = '.';
        }
        return Append(destination, ref written, "ip6.arpa");
    }

    /// <summary>The in-addr.arpa name of <paramref name="address"/> (RFC 1035 §3.5).</summary>
    public static string For(Ipv4Address address)
    {
        Span<char> b = stackalloc char[MaxLength];
        return TryFormat(address, b, out int n) ? new string(b[..n]) : string.Empty;
    }

    /// <summary>The ip6.arpa name of <paramref name="address"/> (RFC 3596 §2.5).</summary>
    public static string For(Ipv6Address address)
    {
        Span<char> b = stackalloc char[MaxLength];
        return TryFormat(address, b, out int n) ? new string(b[..n]) : string.Empty;
    }

    /// <summary>The reverse-lookup name of <paramref name="address"/>.</summary>
    public static string For(IpAddress address) => address.IsV4 ? For(address.V4) : For(address.V6);

    private static bool Append(Span<char> destination, ref int written, string suffix)
    {
        if (written + suffix.Length > destination.Length) return false;
        suffix.AsSpan().CopyTo(destination[written..]);
        written += suffix.Length;
        return true;
    }
}
