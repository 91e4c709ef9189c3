using System.Buffers.Binary;
using NetStack.Wire;
using SimFrame = NetStack.Simulation.CapturedFrame;

namespace NetStack.Tests.Replay;

/// <summary>
/// A field that two correct implementations may legitimately set differently, rewritten to a canonical value in both
/// the kernel's frames and ours before they are compared. Each mask says why it is a free choice (the RFC rule).
/// A checksum covering a masked field is zeroed with it, but only where it was valid: a wrong checksum of ours stays
/// visible in the diff.
/// </summary>
internal sealed class FieldMask
{
    private const int EthHeader = 14;
    private readonly Func<byte[], byte[]> _apply;

    private FieldMask(string name, string why, Func<byte[], byte[]> apply)
    {
        Name = name;
        Why = why;
        _apply = apply;
    }

    public string Name { get; }
    public string Why { get; }

    public override string ToString() => $"{Name}: {Why}";

    /// <summary>Copies of <paramref name="frames"/> with every mask applied, in order.</summary>
    public static List<SimFrame> ApplyAll(IReadOnlyList<FieldMask> masks, IReadOnlyList<SimFrame> frames)
    {
        var copies = frames.Select(f => f with { Data = (byte[])f.Data.Clone() }).ToList();
        foreach (var m in masks)
        {
            if (m == Ipv4Identification) RenumberIpv4Identification(copies);
            else if (m == Ipv6FragmentIdentification) RenumberIpv6FragmentIdentification(copies);
            else for (int i = 0; i < copies.Count; i++) copies[i] = copies[i] with { Data = m._apply(copies[i].Data) };
        }
        return copies;
    }

    /// <summary>
    /// IPv4 Identification, renumbered 1, 2, 3... in order of first appearance, so fragments of one datagram still
    /// share a value. RFC 6864 §4: the source chooses it (only uniqueness per source, destination and protocol
    /// matters; atomic datagrams may carry any value; Linux sends 0 with DF and a hashed counter otherwise).
    /// Also masks the IPv4 header checksum.
    /// </summary>
    public static readonly FieldMask Ipv4Identification = new("IPv4 identification",
        "RFC 6864 §4: the value is the source's choice (uniqueness is all that matters)", f => f);

    /// <summary>IPv6 flow label zeroed. RFC 6437 §3: a source may label flows with any pseudo-random value, or not at all (zero).</summary>
    public static readonly FieldMask Ipv6FlowLabel = new("IPv6 flow label",
        "RFC 6437 §3: pseudo-random value chosen by the source, zero when it does not label flows", f =>
        {
            if (!IsIpv6(f)) return f;
            var h = f.AsSpan(EthHeader);
            BinaryPrimitives.WriteUInt32BigEndian(h, BinaryPrimitives.ReadUInt32BigEndian(h) & 0xFFF0_0000);
            return f;
        });


    /// <summary>
    /// The Identification of IPv6 Fragment headers, renumbered 1, 2, 3... in order of first appearance (fragments of one
    /// packet still share a value). RFC 8200 §4.5: the source picks it; RFC 7739 §5: it should be unpredictable.
    /// Only a Fragment header directly after the fixed header (the form both stacks emit).
    /// </summary>
    public static readonly FieldMask Ipv6FragmentIdentification = new("IPv6 fragment identification",
        "RFC 8200 §4.5 / RFC 7739 §5: the source's choice, unpredictable", f => f);

    /// <summary>The sequence number of a SYN (the ISN) zeroed. RFC 9293 §3.4.1, RFC 6528: chosen by each side, unpredictably.</summary>
    public static readonly FieldMask TcpInitialSequenceNumber = new("TCP ISN",
        "RFC 9293 §3.4.1 / RFC 6528: each side picks its initial sequence number, unpredictably", f =>
        {
            if (!TryTcp(f, out int ip, out int tcp) || (f[tcp + 13] & 0x02) == 0) return f;
            ZeroChecksums(f, ip, tcp);
            BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(tcp + 4), 0);
            return f;
        });

    /// <summary>The window of a SYN zeroed. RFC 9293 §3.8.6: the receive window offered follows from the receiver's buffer.</summary>
    public static readonly FieldMask TcpSynWindow = new("TCP SYN window",
        "RFC 9293 §3.8.6: the window a SYN offers follows from the receiver's buffer size", f =>
        {
            if (!TryTcp(f, out int ip, out int tcp) || (f[tcp + 13] & 0x02) == 0) return f;
            ZeroChecksums(f, ip, tcp);
            BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(tcp + 14), 0);
            return f;
        });

    /// <summary>
    /// The options of a SYN put in a canonical form: sorted by kind, NOPs dropped (padding at the end), window-scale
    /// shift and TSval zeroed. Which options are present, the MSS and the TSecr must still match.
    /// RFC 9293 §3.1 (option order and padding are free), RFC 7323 §2.3 (the shift follows from the receive buffer),
    /// RFC 7323 §5.4 (TSval's clock origin is the sender's choice).
    /// </summary>
    public static readonly FieldMask TcpSynOptions = new("TCP SYN options (order, padding, window-scale shift, TSval)",
        "RFC 9293 §3.1: option order and padding are free; RFC 7323 §2.3: shift from the buffer size; §5.4: TSval clock origin", f =>
        {
            if (!TryTcp(f, out int ip, out int tcp) || (f[tcp + 13] & 0x02) == 0) return f;
            ZeroChecksums(f, ip, tcp);
            return CanonicalizeOptions(f, ip, tcp);
        });

    private static bool IsIpv4(byte[] f) => f.Length >= EthHeader + 20 && f[12] == 0x08 && f[13] == 0x00;

    private static bool IsIpv6(byte[] f) => f.Length >= EthHeader + 40 && f[12] == 0x86 && f[13] == 0xDD;

    /// <summary>Offsets of the IP and TCP headers of an unfragmented TCP segment (no IPv6 extension headers).</summary>
    private static bool TryTcp(byte[] f, out int ip, out int tcp)
    {
        ip = EthHeader;
        tcp = 0;
        if (IsIpv4(f))
        {
            bool fragment = (BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(ip + 6)) & 0x3FFF) != 0;
            if (f[ip + 9] != (byte)IpProtocol.Tcp || fragment) return false;
            tcp = ip + (f[ip] & 0x0F) * 4;
        }
        else if (IsIpv6(f))
        {
            if (f[ip + 6] != (byte)IpProtocol.Tcp) return false;
            tcp = ip + 40;
        }
        else return false;
        return f.Length >= tcp + 20 && f.Length >= tcp + (f[tcp + 12] >> 4) * 4;
    }

    private static void RenumberIpv4Identification(List<SimFrame> frames)
    {
        var numbers = new Dictionary<ushort, ushort>();
        foreach (var frame in frames)
        {
            var f = frame.Data;
            if (!IsIpv4(f)) continue;
            var id = f.AsSpan(EthHeader + 4, 2);
            ushort original = BinaryPrimitives.ReadUInt16BigEndian(id);
            if (!numbers.TryGetValue(original, out ushort n)) numbers[original] = n = (ushort)(numbers.Count + 1);
            ZeroIpv4HeaderChecksum(f);
            BinaryPrimitives.WriteUInt16BigEndian(id, n);
        }
    }

    private static void RenumberIpv6FragmentIdentification(List<SimFrame> frames)
    {
        var numbers = new Dictionary<uint, uint>();
        foreach (var frame in frames)
        {
            var f = frame.Data;
            if (!IsIpv6(f) || f[EthHeader + 6] != 44 || f.Length < EthHeader + 48) continue; // 44: Fragment header
            var id = f.AsSpan(EthHeader + 40 + 4, 4);
            uint original = BinaryPrimitives.ReadUInt32BigEndian(id);
            if (!numbers.TryGetValue(original, out uint n)) numbers[original] = n = (uint)(numbers.Count + 1);
            BinaryPrimitives.WriteUInt32BigEndian(id, n);
        }
    }

    private static void ZeroIpv4HeaderChecksum(byte[] f)
    {
        var header = f.AsSpan(EthHeader, (f[EthHeader] & 0x0F) * 4);
        if (header.Length >= 20 && Checksum.Verify(header)) header[10..12].Clear();
    }

    /// <summary>Zeroes the TCP checksum (and the IPv4 header checksum, since lengths may change) where they are valid.</summary>
    private static void ZeroChecksums(byte[] f, int ip, int tcp)
    {
        var segment = f.AsSpan(tcp, IpPayloadEnd(f, ip) - tcp);
        var checksum = segment[16..18];
        if (checksum[0] != 0 || checksum[1] != 0)
        {
            ulong pseudo = IsIpv4(f)
                ? Checksum.PseudoHeaderV4(Ipv4Address.Read(f.AsSpan(ip + 12)), Ipv4Address.Read(f.AsSpan(ip + 16)), (byte)IpProtocol.Tcp, segment.Length)
                : Checksum.PseudoHeaderV6(Ipv6Address.Read(f.AsSpan(ip + 8)), Ipv6Address.Read(f.AsSpan(ip + 24)), (byte)IpProtocol.Tcp, segment.Length);
            if (Checksum.Verify(segment, pseudo)) checksum.Clear();
        }
        if (IsIpv4(f)) ZeroIpv4HeaderChecksum(f);
    }

    private static int IpPayloadEnd(byte[] f, int ip) => IsIpv4(f)
        ? Math.Min(f.Length, ip + BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(ip + 2)))
        : Math.Min(f.Length, ip + 40 + BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(ip + 4)));

    /// <summary>The frame rebuilt with canonical options (a new array: its length changes when the option sets differ).</summary>
    private static byte[] CanonicalizeOptions(byte[] f, int ip, int tcp)
    {
        int headerLength = (f[tcp + 12] >> 4) * 4;
        var options = new List<byte[]>();
        for (int i = tcp + 20; i < tcp + headerLength;)
        {
            byte kind = f[i];
            if (kind == 0) break; // End of option list
            if (kind == 1) { i++; continue; } // NOP
            int length = i + 1 < tcp + headerLength ? f[i + 1] : 0;
            if (length < 2 || i + length > tcp + headerLength) break; // malformed: leave the rest out of both
            var option = f.AsSpan(i, length).ToArray();
            if (kind == 3 && length == 3) option[2] = 0; // window-scale shift
            if (kind == 8 && length == 10) option.AsSpan(2, 4).Clear(); // TSval
            options.Add(option);
            i += length;
        }
        var canonical = options.OrderBy(o => o[0]).SelectMany(o => o).ToList();
        while (canonical.Count % 4 != 0) canonical.Add(1);
        int newHeader = 20 + canonical.Count;
        int payloadStart = tcp + headerLength, payloadEnd = IpPayloadEnd(f, ip);
        var rebuilt = new byte[tcp + newHeader + (payloadEnd - payloadStart)];
        f.AsSpan(0, tcp + 20).CopyTo(rebuilt);
        canonical.ToArray().CopyTo(rebuilt, tcp + 20);
        f.AsSpan(payloadStart, payloadEnd - payloadStart).CopyTo(rebuilt.AsSpan(tcp + newHeader));
        rebuilt[tcp + 12] = (byte)((newHeader / 4) << 4 | (rebuilt[tcp + 12] & 0x0F));
        if (IsIpv4(f)) BinaryPrimitives.WriteUInt16BigEndian(rebuilt.AsSpan(ip + 2), (ushort)(rebuilt.Length - ip));
        else BinaryPrimitives.WriteUInt16BigEndian(rebuilt.AsSpan(ip + 4), (ushort)(rebuilt.Length - ip - 40));
        return rebuilt;
    }
}
