using System.Buffers.Binary;
using NetStack.Link;
using NetStack.Tap.Receive;
using NetStack.Wire;

namespace NetStack.Tests.Flood;

/// <summary>
/// The deterministic parts of NetStack.Tap's receive thread (issue 13 "Floods"): the early classifier
/// (<see cref="FramePriority"/>), the kernel SYN filter program (<see cref="SynShedFilter"/>, run here by a small
/// classic BPF interpreter with the kernel's semantics for the instructions it uses), the ring between the threads
/// (<see cref="ReceiveRing"/>, against a queue model with seeded random frame sizes) and the proven-source table.
/// </summary>
public class ReceiveThreadPartsTests
{
    private const byte Syn = 0x02, Ack = 0x10, Rst = 0x04, Fin = 0x01;
    private static readonly Ipv4Address V4Us = Ipv4Address.Parse("198.51.100.3");
    private static readonly Ipv4Address V4Peer = Ipv4Address.Parse("198.51.100.1");
    private static readonly Ipv4Address V4Other = Ipv4Address.Parse("198.51.100.77");
    private static readonly Ipv6Address V6Us = Ipv6Address.Parse("2001:db8:1::3");
    private static readonly Ipv6Address V6Peer = Ipv6Address.Parse("2001:db8:1::1");
    // Differs from V6Peer in the last 32-bit word only, then in the first only.
    private static readonly Ipv6Address V6NearPeer = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly Ipv6Address V6FarPeer = Ipv6Address.Parse("2001:db9:1::1");

    [Fact]
    public void Classifier_finds_bare_syns_of_both_families_and_nothing_else()
    {
        Assert.True(FramePriority.IsBareSyn(Tcp4(V4Peer, V4Us, Syn), Medium.Ethernet, out var s4));
        Assert.Equal((IpAddress)V4Peer, s4);
        Assert.True(FramePriority.IsBareSyn(Tcp6(V6Peer, V6Us, Syn), Medium.Ethernet, out var s6));
        Assert.Equal((IpAddress)V6Peer, s6);
        Assert.True(FramePriority.IsBareSyn(Tcp4(V4Peer, V4Us, Syn)[14..], Medium.Ip, out _));
        Assert.True(FramePriority.IsBareSyn(Tcp4(V4Peer, V4Us, Syn, ipOptions: 8), Medium.Ethernet, out _));

        foreach (byte flags in new[] { (byte)(Syn | Ack), Ack, (byte)(Syn | Rst), (byte)(Syn | Fin), Rst, (byte)0 })
        {
            Assert.False(FramePriority.IsBareSyn(Tcp4(V4Peer, V4Us, flags), Medium.Ethernet, out _));
            Assert.False(FramePriority.IsBareSyn(Tcp6(V6Peer, V6Us, flags), Medium.Ethernet, out _));
        }
        Assert.False(FramePriority.IsBareSyn(Tcp4(V4Peer, V4Us, Syn, fragmentWord: 0x2000), Medium.Ethernet, out _)); // more fragments
        Assert.False(FramePriority.IsBareSyn(Tcp6(V6Peer, V6Us, Syn, nextHeader: 0), Medium.Ethernet, out _)); // extension header
        Assert.False(FramePriority.IsBareSyn(Arp(), Medium.Ethernet, out _));
        Assert.False(FramePriority.IsBareSyn(Tcp4(V4Peer, V4Us, Syn)[..40], Medium.Ethernet, out _)); // truncated
        Assert.False(FramePriority.IsBareSyn([], Medium.Ethernet, out _));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10)]
    [InlineData(16)]
    public void Kernel_filter_sheds_only_unproven_bare_syns_keeping_one_in_two_to_the_level(int level)
    {
        var program = SynShedFilter.Build(level, [V4Peer, V6Peer]);
        uint threshold = 1u << (32 - level);
        foreach (uint random in new[] { 0u, threshold - 1, threshold, uint.MaxValue })
        {
            bool kept = random < threshold;
            // Unproven bare SYNs: sampled.
            Assert.Equal(kept, Run(program, Tcp4(V4Other, V4Us, Syn), random) != 0);
            Assert.Equal(kept, Run(program, Tcp4(V4Other, V4Us, Syn, ipOptions: 12), random) != 0);
            Assert.Equal(kept, Run(program, Tcp6(V6NearPeer, V6Us, Syn), random) != 0);
            Assert.Equal(kept, Run(program, Tcp6(V6FarPeer, V6Us, Syn), random) != 0);
            // Proven sources' SYNs and everything that is not a bare SYN: always kept, whole.
            Assert.Equal(SynShedFilter.Accept, Run(program, Tcp4(V4Peer, V4Us, Syn), random));
            Assert.Equal(SynShedFilter.Accept, Run(program, Tcp6(V6Peer, V6Us, Syn), random));
            foreach (byte flags in new[] { (byte)(Syn | Ack), Ack, (byte)(Ack | Fin), Rst, (byte)(Syn | Rst) })
            {
                Assert.Equal(SynShedFilter.Accept, Run(program, Tcp4(V4Other, V4Us, flags), random));
                Assert.Equal(SynShedFilter.Accept, Run(program, Tcp6(V6FarPeer, V6Us, flags), random));
            }
            Assert.Equal(SynShedFilter.Accept, Run(program, Tcp4(V4Other, V4Us, Syn, fragmentWord: 0x0010), random));
            Assert.Equal(SynShedFilter.Accept, Run(program, Tcp4(V4Other, V4Us, Syn, protocol: 17), random));
            Assert.Equal(SynShedFilter.Accept, Run(program, Tcp6(V6FarPeer, V6Us, Syn, nextHeader: 58), random));
            Assert.Equal(SynShedFilter.Accept, Run(program, Tcp6(V6FarPeer, V6Us, Syn, nextHeader: 0), random));
            Assert.Equal(SynShedFilter.Accept, Run(program, Arp(), random));
        }
    }

    [Fact]
    public void Kernel_filter_names_at_most_its_limit_of_addresses_and_every_jump_lands_inside()
    {
        var many = new List<IpAddress>();
        Span<byte> b = stackalloc byte[16];
        for (int i = 0; i < 100; i++)
        {
            many.Add(new Ipv4Address(203, 0, 113, (byte)i));
            V6Peer.Write(b);
            b[15] = (byte)(i + 10);
            many.Add(Ipv6Address.Read(b));
        }
        var program = SynShedFilter.Build(4, many);
        Assert.True(program.Length <= 4096, $"{program.Length} instructions (BPF_MAXINSNS is 4096)");
        for (int pc = 0; pc < program.Length; pc++)
        {
            var ins = program[pc];
            if ((ins.Code & 0x07) != 0x05) continue;
            long far = (ins.Code & 0xF0) == 0x00 ? pc + 1 + ins.K : pc + 1 + Math.Max(ins.JumpTrue, ins.JumpFalse);
            Assert.True(far < program.Length, $"instruction {pc} jumps to {far} of {program.Length}");
        }
        Assert.Equal(SynShedFilter.Accept, Run(program, Tcp4(new Ipv4Address(203, 0, 113, 63), V4Us, Syn), uint.MaxValue)); // the 64th
        Assert.Equal(0u, Run(program, Tcp4(new Ipv4Address(203, 0, 113, 64), V4Us, Syn), uint.MaxValue)); // the 65th: not named
        Span<byte> last = stackalloc byte[16];
        V6Peer.Write(last);
        last[15] = 10 + 63;
        Assert.Equal(SynShedFilter.Accept, Run(program, Tcp6(Ipv6Address.Read(last), V6Us, Syn), uint.MaxValue));
        last[15] = 10 + 64;
        Assert.Equal(0u, Run(program, Tcp6(Ipv6Address.Read(last), V6Us, Syn), uint.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => SynShedFilter.Build(0, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => SynShedFilter.Build(SynShedFilter.MaxLevel + 1, []));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(42)]
    public void Ring_is_a_bounded_fifo_whatever_the_frame_sizes(int seed)
    {
        var random = new Random(seed);
        const int maxFrame = 1514;
        var ring = new ReceiveRing(16, 8 * maxFrame, maxFrame);
        var model = new Queue<byte[]>();
        var buffer = new byte[maxFrame];
        byte next = 0;
        for (int step = 0; step < 20_000; step++)
        {
            if (random.Next(3) != 0)
            {
                var room = ring.BeginWrite();
                if (room.IsEmpty)
                {
                    // Full only for a reason: every slot taken, or the arena cannot fit a largest frame.
                    Assert.True(model.Count == ring.SlotCount || model.Sum(f => (f.Length + 7) & ~7) > 8 * maxFrame - 2 * maxFrame - 16,
                        $"seed {seed}: full with {model.Count} frames of {model.Sum(f => f.Length)} bytes");
                    continue;
                }
                Assert.Equal(maxFrame, room.Length);
                int n = random.Next(3) == 0 ? maxFrame : random.Next(1, 200);
                var frame = new byte[n];
                for (int i = 0; i < n; i++) frame[i] = next++;
                frame.CopyTo(room);
                if (random.Next(10) == 0) { ring.Abandon(); continue; } // a frame the producer dropped
                ring.Commit(n, new FrameReceiveInfo { Truncated = n == maxFrame });
                model.Enqueue(frame);
            }
            else if (ring.TryRead(buffer, out int length, out var info))
            {
                var expected = model.Dequeue();
                Assert.Equal(expected.Length, length);
                Assert.True(expected.AsSpan().SequenceEqual(buffer.AsSpan(0, length)), $"seed {seed}: step {step} read other bytes");
                Assert.Equal(expected.Length == maxFrame, info.Truncated);
            }
            else
            {
                Assert.Empty(model);
            }
            Assert.Equal(model.Count, ring.Count);
            Assert.InRange(ring.Count, 0, ring.SlotCount);
        }
    }

    [Fact]
    public void Ring_marks_a_frame_longer_than_the_readers_buffer_truncated()
    {
        var ring = new ReceiveRing(4, 4096, 1000);
        var room = ring.BeginWrite();
        room[..900].Fill(7);
        ring.Commit(900, default);
        var small = new byte[100];
        Assert.True(ring.TryRead(small, out int n, out var info));
        Assert.Equal(100, n);
        Assert.True(info.Truncated);
        Assert.False(ring.TryRead(small, out _, out _));
        Assert.Throws<InvalidOperationException>(() => ring.Commit(1, default));
    }

    [Fact]
    public void Proven_sources_remember_addresses_for_their_lifetime()
    {
        var table = new ProvenSources(64, TimeSpan.FromSeconds(10), key: 12345);
        var t0 = new Instant(5_000_000);
        Assert.False(table.Contains(V4Peer, t0));
        table.Add(V4Peer, t0);
        table.Add(V6Peer, t0);
        Assert.True(table.Contains(V4Peer, t0 + TimeSpan.FromSeconds(10)));
        Assert.True(table.Contains(V6Peer, t0 + TimeSpan.FromSeconds(1)));
        Assert.False(table.Contains(V4Other, t0));
        Assert.False(table.Contains(V6NearPeer, t0));
        Assert.False(table.Contains(V4Peer, t0 + TimeSpan.FromSeconds(10.001)));
    }

    // ---- frames ----

    private static byte[] Tcp4(Ipv4Address src, Ipv4Address dst, byte flags, int ipOptions = 0, ushort fragmentWord = 0, byte protocol = 6)
    {
        int ihl = 20 + ipOptions;
        var f = new byte[14 + ihl + 20];
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0800);
        var ip = f.AsSpan(14);
        ip[0] = (byte)(0x40 | (ihl / 4));
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(ihl + 20));
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], fragmentWord);
        ip[8] = 64;
        ip[9] = protocol;
        src.Write(ip[12..]);
        dst.Write(ip[16..]);
        var tcp = ip[ihl..];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 7);
        tcp[12] = 0x50;
        tcp[13] = flags;
        return f;
    }

    private static byte[] Tcp6(Ipv6Address src, Ipv6Address dst, byte flags, byte nextHeader = 6)
    {
        var f = new byte[14 + 40 + 20];
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x86DD);
        var ip = f.AsSpan(14);
        ip[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], 20);
        ip[6] = nextHeader;
        ip[7] = 64;
        src.Write(ip[8..]);
        dst.Write(ip[24..]);
        var tcp = ip[40..];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 7);
        tcp[12] = 0x50;
        tcp[13] = flags;
        return f;
    }

    private static byte[] Arp()
    {
        var f = new byte[42];
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0806);
        return f;
    }

    /// <summary>
    /// Classic BPF as the kernel runs a socket filter (net/core/filter.c), for the instructions the program uses: a load
    /// beyond the frame ends the program with 0 (drop); SKF_AD_RANDOM gives <paramref name="random"/>.
    /// </summary>
    private static uint Run(BpfInstruction[] program, byte[] frame, uint random)
    {
        uint a = 0, x = 0;
        int pc = 0;
        for (int steps = 0; steps < 10_000; steps++)
        {
            Assert.InRange(pc, 0, program.Length - 1);
            var ins = program[pc++];
            int cls = ins.Code & 0x07;
            switch (cls)
            {
                case 0x00: // LD
                {
                    int size = ins.Code & 0x18, mode = ins.Code & 0xE0;
                    if (mode == 0x20 && ins.K == SynShedFilter.RandomOffset) { a = random; break; }
                    long at = mode == 0x40 ? x + (long)ins.K : ins.K;
                    Assert.True(mode is 0x20 or 0x40, $"load mode {mode:x}");
                    int width = size == 0x00 ? 4 : size == 0x08 ? 2 : 1;
                    if (at < 0 || at + width > frame.Length) return 0;
                    a = width == 4 ? BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan((int)at)) : width == 2 ? BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan((int)at)) : frame[at];
                    break;
                }
                case 0x01: // LDX B MSH
                    Assert.Equal(0xB1, ins.Code);
                    if (ins.K >= frame.Length) return 0;
                    x = (uint)(4 * (frame[ins.K] & 0x0F));
                    break;
                case 0x04: // ALU AND K
                    Assert.Equal(0x54, ins.Code);
                    a &= ins.K;
                    break;
                case 0x05: // JMP
                {
                    int op = ins.Code & 0xF0;
                    if (op == 0x00) { pc += (int)ins.K; break; }
                    bool taken = op switch
                    {
                        0x10 => a == ins.K,
                        0x30 => a >= ins.K,
                        0x40 => (a & ins.K) != 0,
                        _ => throw new InvalidOperationException($"jump op {op:x}"),
                    };
                    pc += taken ? ins.JumpTrue : ins.JumpFalse;
                    break;
                }
                case 0x06: // RET K
                    return ins.K;
                default:
                    throw new InvalidOperationException($"instruction class {cls}");
            }
        }
        throw new InvalidOperationException("the program did not end");
    }
}
