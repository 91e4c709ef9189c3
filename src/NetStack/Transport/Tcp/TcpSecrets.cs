using System.Buffers.Binary;
using NetStack.Wire;

namespace NetStack.Transport.Tcp;

/// <summary>
/// Initial sequence numbers (RFC 6528 §3: ISN = M + F(4-tuple, secret), M a 4 µs clock) and
/// SYN cookies (RFC 4987 §3.6), both keyed with SipHash-2-4 and secrets drawn once from <see cref="IRandomSource"/>.
/// </summary>
internal sealed class TcpSecrets
{
    /// <summary>MSS values a cookie can encode in 3 bits.</summary>
    internal static readonly ushort[] CookieMss = [536, 1200, 1220, 1360, 1400, 1440, 1460, 8960];
    private readonly ulong _isnK0, _isnK1, _cookieK0, _cookieK1, _tsK0, _tsK1;

    public TcpSecrets(IRandomSource random)
    {
        _isnK0 = random.NextUInt64(); _isnK1 = random.NextUInt64();
        _cookieK0 = random.NextUInt64(); _cookieK1 = random.NextUInt64();
        _tsK0 = random.NextUInt64(); _tsK1 = random.NextUInt64();
    }

    /// <summary>The key of the proven-peer table's hash (<see cref="TcpProvenPeers"/>), derived from the secrets (no draw of its own).</summary>
    public ulong ProvenPeerKey => SipHash.Hash(_tsK0, _tsK1, "proven peers"u8);

    public SeqNumber InitialSequence(IpEndpoint local, IpEndpoint remote, Instant now)
    {
        Span<byte> b = stackalloc byte[40];
        uint f = (uint)SipHash.Hash(_isnK0, _isnK1, Pack(b, local, remote, 0));
        // RFC 6528 §3: M is a timer that ticks every 4 microseconds.
        uint m = unchecked((uint)(now.Microseconds / 4));
        return new SeqNumber(unchecked(m + f));
    }

    /// <summary>A per-connection offset for timestamp values (RFC 7323 §7.1: avoid leaking a global clock).</summary>
    public uint TimestampOffset(IpEndpoint local, IpEndpoint remote)
    {
        Span<byte> b = stackalloc byte[40];
        return (uint)SipHash.Hash(_tsK0, _tsK1, Pack(b, local, remote, 0));
    }

    /// <summary>Our timestamp clock for a connection: milliseconds plus its <see cref="TimestampOffset"/>.</summary>
    public uint TimestampNow(IpEndpoint local, IpEndpoint remote, Instant now) =>
        unchecked((uint)now.Milliseconds + TimestampOffset(local, remote));

    /// <summary>
    /// The options a stateless SYN-ACK agreed to, carried in the low 6 bits of its TSval (as Linux's
    /// <c>cookie_init_timestamp</c> does): bits 0-3 the peer's window shift (15: none), bit 4 SACK permitted.
    /// The TSval never runs ahead of the clock <paramref name="tsNow"/>, so later TSvals of the connection never go
    /// back (RFC 7323 §5.4: the peer's PAWS would drop them).
    /// </summary>
    public static uint CookieTimestamp(uint tsNow, byte? peerWindowShift, bool sackPermitted)
    {
        uint options = (uint)Math.Min((int)(peerWindowShift ?? 15), 15) | (sackPermitted ? 16u : 0u);
        uint ts = (tsNow & ~CookieTimestampMask) | options;
        if (unchecked((int)(ts - tsNow)) > 0) ts = unchecked(ts - (CookieTimestampMask + 1));
        return ts;
    }

    /// <summary>Reads back what <see cref="CookieTimestamp"/> encoded from the TSecr of the handshake's ACK.</summary>
    public static (byte? PeerWindowShift, bool SackPermitted) CookieOptions(uint tsEcr)
    {
        uint shift = tsEcr & 15;
        // RFC 7323 §2.3: a shift above 14 is used as 14; 15 never comes from a peer's option here, it means "none".
        return (shift == 15 ? null : (byte)Math.Min(shift, 14u), (tsEcr & 16) != 0);
    }

    private const uint CookieTimestampMask = 0x3F;

    /// <summary>The SYN-ACK sequence number encoding a 64-second time slot, an MSS index and a 24-bit MAC.</summary>
    public SeqNumber Cookie(IpEndpoint local, IpEndpoint remote, SeqNumber peerIsn, int mssIndex, Instant now)
    {
        long slot = now.Microseconds / 64_000_000;
        return new SeqNumber(Encode(local, remote, peerIsn, mssIndex, slot));
    }

    /// <summary>Checks a returned cookie (ACK − 1): slot is current or previous, MAC matches. Gives the MSS.</summary>
    public bool TryValidateCookie(IpEndpoint local, IpEndpoint remote, SeqNumber peerIsn, SeqNumber cookie, Instant now, out ushort mss)
    {
        mss = 0;
        long slot = now.Microseconds / 64_000_000;
        int mssIndex = (int)(cookie.Value >> 24) & 7;
        for (long s = slot; s >= slot - 1 && s >= 0; s--)
        {
            if (Encode(local, remote, peerIsn, mssIndex, s) == cookie.Value)
            {
                mss = CookieMss[mssIndex];
                return true;
            }
        }
        return false;
    }

    public static int CookieMssIndex(int mss)
    {
        int best = 0;
        for (int i = 0; i < CookieMss.Length; i++) if (CookieMss[i] <= mss) best = i;
        return best;
    }

    private uint Encode(IpEndpoint local, IpEndpoint remote, SeqNumber peerIsn, int mssIndex, long slot)
    {
        Span<byte> b = stackalloc byte[56];
        var packed = Pack(b, local, remote, 16);
        BinaryPrimitives.WriteUInt32LittleEndian(b[(packed.Length)..], peerIsn.Value);
        BinaryPrimitives.WriteInt64LittleEndian(b[(packed.Length + 4)..], slot);
        ulong h = SipHash.Hash(_cookieK0, _cookieK1, b[..(packed.Length + 12)]);
        return ((uint)(slot & 31) << 27) | ((uint)mssIndex << 24) | (uint)(h & 0xFFFFFF);
    }

    private static ReadOnlySpan<byte> Pack(Span<byte> b, IpEndpoint local, IpEndpoint remote, int reserve)
    {
        _ = reserve;
        WriteAddress(b, local.Address);
        WriteAddress(b[16..], remote.Address);
        BinaryPrimitives.WriteUInt16LittleEndian(b[32..], local.Port);
        BinaryPrimitives.WriteUInt16LittleEndian(b[34..], remote.Port);
        return b[..36];
    }

    private static void WriteAddress(Span<byte> b, IpAddress a)
    {
        if (a.IsV4) { b[..12].Clear(); a.V4.Write(b[12..]); }
        else a.V6.Write(b);
    }
}
