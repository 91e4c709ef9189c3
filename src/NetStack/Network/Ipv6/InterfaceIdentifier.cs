using System.Buffers.Binary;
using System.Security.Cryptography;
using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>How the interface identifiers of SLAAC and link-local addresses are formed.</summary>
public enum InterfaceIdentifierMode
{
    /// <summary>RFC 7217 semantically opaque, stable per (prefix, interface, network): the default.</summary>
    StableOpaque,
    /// <summary>RFC 4291 Appendix A modified EUI-64 from the MAC (predictable; for peers that expect it).</summary>
    ModifiedEui64,
}

/// <summary>
/// Interface identifier generation (pure): RFC 7217 stable opaque identifiers and RFC 4291 modified EUI-64,
/// with the reserved identifiers of RFC 5453 avoided.
/// </summary>
internal static class InterfaceIdentifier
{
    /// <summary>RFC 7217 §6: IDGEN_RETRIES, the number of extra attempts after DAD failures.</summary>
    public const int IdGenRetries = 3;

    /// <summary>
    /// RFC 7217 §5: RID = F(Prefix, Net_Iface, Network_ID, DAD_Counter, secret_key), with F = HMAC-SHA-256
    /// keyed by the secret (a PRF as §5 requires), the identifier being the low 64 bits of its output.
    /// A reserved result (RFC 5453) is skipped by hashing with the next counter value (§5: "the next ... is tried").
    /// </summary>
    public static ulong StableOpaque(Ipv6Address prefix, int interfaceIndex, MacAddress netIface,
        ReadOnlySpan<byte> networkId, int dadCounter, ReadOnlySpan<byte> secretKey)
    {
        Span<byte> input = stackalloc byte[16 + 4 + 6 + 64 + 4];
        Span<byte> hash = stackalloc byte[32];
        for (int counter = dadCounter; ; counter++)
        {
            // Prefix (64 high bits only; the identifier covers the rest), interface, network id, counter.
            BinaryPrimitives.WriteUInt64BigEndian(input, prefix.High);
            BinaryPrimitives.WriteUInt64BigEndian(input[8..], 0);
            BinaryPrimitives.WriteInt32BigEndian(input[16..], interfaceIndex);
            netIface.Write(input[20..]);
            int idLen = Math.Min(networkId.Length, 64);
            input[26..90].Clear();
            networkId[..idLen].CopyTo(input[26..]);
            BinaryPrimitives.WriteInt32BigEndian(input[90..], counter);
            HMACSHA256.HashData(secretKey, input, hash);
            ulong iid = BinaryPrimitives.ReadUInt64BigEndian(hash[24..]);
            if (!IsReserved(iid)) return iid;
        }
    }

    /// <summary>RFC 4291 Appendix A / RFC 2464 §4: the MAC split by FFFE with the universal/local bit inverted.</summary>
    public static ulong ModifiedEui64(MacAddress mac)
    {
        ulong m = mac.Value;
        ulong oui = (m >> 24) & 0xFFFFFF;
        ulong nic = m & 0xFFFFFF;
        ulong iid = (oui << 40) | (0xFFFEUL << 24) | nic;
        return iid ^ (0x02UL << 56);
    }

    /// <summary>
    /// RFC 5453 reserved identifiers: the subnet-router anycast (all zeros), the reserved subnet anycast range
    /// FDFF:FFFF:FFFF:FF80-FFFF (RFC 2526), and the proxy mobile range 0200:5EFF:FE00:0000-5212/5213-5213.
    /// </summary>
    public static bool IsReserved(ulong iid) =>
        iid == 0
        || (iid >= 0xFDFF_FFFF_FFFF_FF80UL && iid <= 0xFDFF_FFFF_FFFF_FFFFUL)
        || (iid >= 0x0200_5EFF_FE00_0000UL && iid <= 0x0200_5EFF_FE00_5213UL);

    /// <summary>The address made of a /64 prefix and an identifier.</summary>
    public static Ipv6Address Combine(Ipv6Address prefix, ulong iid) => new(prefix.High, iid);

    /// <summary>fe80::/64.</summary>
    public static readonly Ipv6Address LinkLocalPrefix = new(0xFE80_0000_0000_0000UL, 0);
}
