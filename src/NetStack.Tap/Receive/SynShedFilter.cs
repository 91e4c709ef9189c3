using System.Runtime.InteropServices;
using NetStack.Wire;

namespace NetStack.Tap.Receive;

/// <summary>One classic BPF instruction (linux/filter.h <c>struct sock_filter</c>).</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct BpfInstruction(ushort Code, byte JumpTrue, byte JumpFalse, uint K);

/// <summary>
/// The classic BPF program a TAP runs on every frame before it queues it for us to read (TUNATTACHFILTER: the tun
/// driver's socket filter, run in <c>tun_net_xmit</c> in the sender's context): it drops bare TCP SYNs (SYN without
/// ACK, RST or FIN) to any port from sources other than the given proven ones, keeping one in 2^<c>level</c> of them
/// at random, and passes every other frame (ARP, NDP, ACKs, data, established flows, fragments, IPv6 packets with
/// extension headers, VLAN-tagged frames). Under a flood, what the receive thread would have read only to drop costs
/// it nothing then: the kernel frees those frames before they reach the queue (they count in the interface's TX
/// "dropped", drop reason SOCKET_FILTER), so the queue does not fill and legitimate frames are not dropped with them
/// (RFC 4987 §3: shed SYNs first, prefer sources with a completed handshake). Ethernet frames (a TAP) only.
/// </summary>
public static class SynShedFilter
{
    // linux/bpf_common.h, linux/filter.h
    private const ushort LD = 0x00, LDX = 0x01, ALU = 0x04, JMP = 0x05, RET = 0x06;
    private const ushort W = 0x00, H = 0x08, B = 0x10;
    private const ushort ABS = 0x20, IND = 0x40, MSH = 0xa0;
    private const ushort JA = 0x00, JEQ = 0x10, JGE = 0x30, JSET = 0x40, AND = 0x50, K = 0x00;
    /// <summary>SKF_AD_OFF + SKF_AD_RANDOM: a load from there gives a random 32-bit value.</summary>
    public const uint RandomOffset = unchecked((uint)-0x1000) + 56;
    /// <summary>The value the program returns for a frame it keeps (the whole frame).</summary>
    public const uint Accept = 0xFFFFFFFF;
    /// <summary>The most addresses of each family the program names (each costs 2 instructions for IPv4, 8 for IPv6).</summary>
    public const int MaxAddressesPerFamily = 64;
    /// <summary>The highest level: one unproven SYN in 2^MaxLevel is kept.</summary>
    public const int MaxLevel = 16;

    /// <summary>
    /// The program for <paramref name="level"/> (1 to <see cref="MaxLevel"/>: one unproven bare SYN in 2^level is kept)
    /// and the proven sources (at most <see cref="MaxAddressesPerFamily"/> of each family are named; others are treated
    /// as unproven).
    /// </summary>
    public static BpfInstruction[] Build(int level, IEnumerable<IpAddress> proven)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(level, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(level, MaxLevel);
        ArgumentNullException.ThrowIfNull(proven);
        var v4 = new List<uint>();
        var v6 = new List<Ipv6Address>();
        foreach (var a in proven)
        {
            if (a.IsV4) { if (v4.Count < MaxAddressesPerFamily && !v4.Contains(a.V4.Value)) v4.Add(a.V4.Value); }
            else if (v6.Count < MaxAddressesPerFamily && !v6.Contains(a.V6)) v6.Add(a.V6);
        }

        var v4Part = new List<BpfInstruction>
        {
            Stmt(LD | B | ABS, 23),                          // IPv4 protocol
            Jump(JEQ, 6, 1, 0), Ret(Accept),                 // not TCP: keep
            Stmt(LD | H | ABS, 20),                          // flags + fragment offset
            Jump(JSET, 0x3FFF, 0, 1), Ret(Accept),           // a fragment: keep (the stack reassembles it)
            Stmt(LDX | B | MSH, 14),                         // X = IPv4 header length
            Stmt(LD | B | IND, 14 + 13),                     // TCP flags
            Stmt(ALU | AND | K, 0x17),                       // ACK | RST | SYN | FIN
            Jump(JEQ, 0x02, 1, 0), Ret(Accept),              // not a bare SYN: keep
            Stmt(LD | W | ABS, 26),                          // source address
        };
        foreach (uint a in v4) { v4Part.Add(Jump(JEQ, a, 0, 1)); v4Part.Add(Ret(Accept)); }

        var v6Part = new List<BpfInstruction>
        {
            Stmt(LD | B | ABS, 20),                          // IPv6 next header
            Jump(JEQ, 6, 1, 0), Ret(Accept),                 // not TCP right after the header: keep
            Stmt(LD | B | ABS, 14 + 40 + 13),                // TCP flags
            Stmt(ALU | AND | K, 0x17),
            Jump(JEQ, 0x02, 1, 0), Ret(Accept),
        };
        Span<byte> bytes = stackalloc byte[16];
        foreach (var a in v6)
        {
            a.Write(bytes);
            for (int w = 0; w < 4; w++)
            {
                v6Part.Add(Stmt(LD | W | ABS, (uint)(22 + 4 * w)));
                uint word = (uint)(bytes[4 * w] << 24 | bytes[4 * w + 1] << 16 | bytes[4 * w + 2] << 8 | bytes[4 * w + 3]);
                // Equal: the next word (or the accept after the fourth); different: past this address's block.
                v6Part.Add(Jump(JEQ, word, 0, (byte)(2 * (3 - w) + 1)));
            }
            v6Part.Add(Ret(Accept));
        }

        // An unproven bare SYN: keep it when a random value falls under 2^(32 - level).
        var sample = new List<BpfInstruction>
        {
            Stmt(LD | W | ABS, RandomOffset),
            Jump(JGE, 1u << (32 - level), 0, 1), Ret(0), Ret(Accept),
        };

        var program = new List<BpfInstruction>
        {
            Stmt(LD | H | ABS, 12),                          // EtherType
            Jump(JEQ, 0x0800, 0, 1), Stmt(JMP | JA, 3),      // IPv4: to v4Part
            Jump(JEQ, 0x86DD, 0, 1), Stmt(JMP | JA, (uint)(v4Part.Count + 2)), // IPv6: past the return below, v4Part and its jump to the sample
            Ret(Accept),                                     // anything else: keep
        };
        program.AddRange(v4Part);
        program.Add(Stmt(JMP | JA, (uint)v6Part.Count));     // an unproven IPv4 SYN: past v6Part to the sample
        program.AddRange(v6Part);
        program.AddRange(sample);
        return [.. program];
    }

    private static BpfInstruction Stmt(ushort code, uint k) => new(code, 0, 0, k);
    private static BpfInstruction Jump(ushort op, uint k, byte jt, byte jf) => new((ushort)(JMP | op | K), jt, jf, k);
    private static BpfInstruction Ret(uint k) => new(RET | K, 0, 0, k);
}
