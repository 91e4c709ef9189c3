using System.Buffers.Binary;
using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Transport.Tcp;
using NetStack.Transport.Udp;
using NetStack.Wire;
using static NetStack.Fuzz.FuzzInvariantException;

namespace NetStack.Fuzz;

/// <summary>
/// The whole-stack target: a <see cref="NetworkStack"/> with an Ethernet interface and a raw-IP (TUN) interface over
/// devices that swallow what it sends, TCP listeners (ports 7 and 80, both families), UDP echo sockets (port 7), and two
/// connections of its own being opened (to 192.0.2.2:8080 and [2001:db8::2]:8080). Each input is a sequence of frames
/// (<see cref="FrameInput"/>) delivered in virtual time, each optionally rewritten so that the stack answers it
/// (<see cref="FrameFlags"/>: its own addresses, valid checksums, sequence numbers that fit the connection). A fresh
/// stack with a fixed seed serves each input, so an input replays exactly.
/// <para>
/// Checked: no exception escapes the stack (DESIGN principle 5: hostile input is a counted drop); every poll loop
/// settles (a stack whose deadlines stay in the past would spin its host loop); memory stays bounded (bytes allocated
/// while the input is processed, <see cref="MaxAllocatedBytes"/>, and frames sent per frame received).
/// </para>
/// </summary>
public sealed class StackHarness
{
    /// <summary>Bytes the stack may allocate while one input is processed (its set-up aside): 32 MiB.</summary>
    public const long MaxAllocatedBytes = 32L << 20;

    /// <summary>Frames the stack may send per frame received (answers, retransmissions, timers), plus a base for the set-up.</summary>
    public const int MaxFramesSentPerFrame = 200, MaxFramesSentBase = 2_000;

    /// <summary>
    /// Virtual time run after the last frame: past IPv6 reassembly (60 s) and TIME-WAIT (30 s here). Longer timers are
    /// reached through the records' delays (up to 560 s each).
    /// </summary>
    public static readonly TimeSpan FinalSettle = TimeSpan.FromSeconds(65);

    /// <summary>Polls at one instant before the loop is called spinning.</summary>
    public const int MaxPollsPerInstant = 100_000;

    public static readonly MacAddress OurMac = new(0x02_00_00_00_00_01UL);
    public static readonly MacAddress PeerMac = new(0x02_00_00_00_00_02UL);
    public static readonly Ipv4Address OurV4 = Ipv4Address.Parse("192.0.2.1"), PeerV4 = Ipv4Address.Parse("192.0.2.2");
    public static readonly Ipv6Address OurV6 = Ipv6Address.Parse("2001:db8::1"), PeerV6 = Ipv6Address.Parse("2001:db8::2");
    public static readonly Ipv4Address TunV4 = Ipv4Address.Parse("198.51.100.1");
    public static readonly Ipv6Address TunV6 = Ipv6Address.Parse("fd00::1");

    private readonly NetworkStack _stack;
    private readonly NetworkInterface _eth, _tun;
    private readonly SinkDevice _ethDevice, _tunDevice;
    private readonly TcpLayer _tcp;
    private readonly UdpSocket[] _udp;
    private readonly TcpListenSocket[] _listeners;
    private readonly List<TcpConnection> _connections = [];
    private readonly byte[] _scratch = new byte[ushort.MaxValue + VirtioNetHeader.MergeableLength];
    private readonly byte[] _appBuffer = new byte[4096];
    private readonly bool _virtio;
    private Instant _now = Instant.FromSeconds(1_000);
    private int _framesIn;
    private long _accepted, _established, _udpEchoed;

    private StackHarness(byte scenario, bool virtio)
    {
        _virtio = virtio;
        bool forwarding = (scenario & 1) != 0;
        _stack = new NetworkStack(new StackOptions(), new SeededRandom(0x5eed));
        var shared = new SinkDevice.Shared();
        _ethDevice = new SinkDevice(Medium.Ethernet, OurMac, shared);
        _tunDevice = new SinkDevice(Medium.Ip, MacAddress.Zero, shared);
        _eth = _stack.AddInterface(_ethDevice, new InterfaceConfig
        {
            Name = "eth0", Forwarding = forwarding,
            Ipv4Addresses = [new Ipv4Cidr(OurV4, 24)], Ipv4Gateway = Ipv4Address.Parse("192.0.2.254"),
            Ipv6Addresses = [new Ipv6Cidr(OurV6, 64)], Ipv6Gateway = Ipv6Address.Parse("2001:db8::fe"),
        }, _now);
        _tun = _stack.AddInterface(_tunDevice, new InterfaceConfig
        {
            Name = "tun0", Forwarding = forwarding,
            Ipv4Addresses = [new Ipv4Cidr(TunV4, 24)], Ipv6Addresses = [new Ipv6Cidr(TunV6, 64)],
        }, _now);
        _tcp = new TcpLayer(_stack, _stack.Random, new TcpSettings { TimeWait = TimeSpan.FromSeconds(30) });
        _stack.RegisterTransport(IpProtocol.Tcp, _tcp);
        _stack.RegisterPollable(_tcp);
        var udp = new UdpLayer(_stack);
        _udp = [udp.Bind(new IpEndpoint(Ipv4Address.Any, 7)), udp.Bind(new IpEndpoint(Ipv6Address.Unspecified, 7))];
        _listeners = [_tcp.Listen(new IpEndpoint(Ipv4Address.Any, 7), 8), _tcp.Listen(new IpEndpoint(Ipv4Address.Any, 80), 8)];
        Settle(_now + TimeSpan.FromSeconds(3)); // duplicate address detection, the first router solicitations
        _connections.Add(_tcp.Connect(new IpEndpoint(PeerV4, 8080), _now));
        _connections.Add(_tcp.Connect(new IpEndpoint(PeerV6, 8080), _now));
        Settle(_now);
    }

    public NetworkStack Stack => _stack;

    /// <summary>The whole-stack target: frames on an Ethernet or raw-IP interface.</summary>
    public static void Frames(ReadOnlySpan<byte> input) => Run(input, virtio: false);

    /// <summary>
    /// The virtio-net target: as <see cref="Frames"/>, but each frame begins with the 10-byte virtio-net header an
    /// offloading TAP puts before it (checksum offsets, GSO type and size), which the stack must check before it trusts it.
    /// </summary>
    public static void VirtioFrames(ReadOnlySpan<byte> input) => Run(input, virtio: true);

    /// <summary>What one input did (the <c>explain</c> command: is the harness reaching the stack's depths?).</summary>
    public sealed record Summary(int FramesIn, long FramesSent, long TcpAccepted, long TcpEstablished, long UdpEchoed, long AllocatedBytes,
        IReadOnlyList<KeyValuePair<DropReason, long>> Drops);

    public static Summary Run(ReadOnlySpan<byte> input, bool virtio)
    {
        var h = new StackHarness(input.IsEmpty ? (byte)0 : input[0], virtio);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        foreach (var record in FrameInput.Records(input)) h.Deliver(record);
        h.Settle(h._now + FinalSettle); // the timers the frames armed: reassembly, retransmission, TIME-WAIT
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        Check(allocated <= MaxAllocatedBytes, $"stack: {allocated:N0} bytes allocated for {h._framesIn} frames");
        long sent = h._ethDevice.FramesSent + h._tunDevice.FramesSent;
        Check(sent <= MaxFramesSentBase + (long)MaxFramesSentPerFrame * h._framesIn, $"stack: {sent:N0} frames sent for {h._framesIn} frames received");
        return new Summary(h._framesIn, sent, h._accepted, h._established, h._udpEchoed, allocated, [.. h._stack.Statistics.NonZeroDrops()]);
    }

    private void Deliver(FrameRecord record)
    {
        Settle(_now + FrameInput.DelayOf(record.Delay));
        var frame = record.Frame;
        FrameReceiveInfo info = default;
        if (_virtio)
        {
            if (!VirtioNetHeader.TryRead(frame, out var header)) return;
            info = new FrameReceiveInfo { Virtio = header };
            frame = frame[VirtioNetHeader.Length..];
        }
        bool rawIp = (record.Flags & FrameFlags.RawIp) != 0;
        var buffer = _scratch.AsSpan(0, frame.Length);
        frame.CopyTo(buffer);
        Patch(buffer, record.Flags, rawIp);
        _framesIn++;
        var iface = rawIp ? _tun : _eth;
        if (_virtio) _stack.Receive(iface, buffer, info, _now);
        else _stack.Receive(iface, buffer, _now);
        Settle(_now);
        Application(record.Flags);
        Settle(_now);
    }

    /// <summary>Polls the stack until nothing is due at or before <paramref name="until"/>, then stands at it.</summary>
    private void Settle(Instant until)
    {
        int pollsHere = 0;
        while (true)
        {
            var next = _stack.Poll(_now);
            if (next > until) break;
            if (next > _now)
            {
                _now = next;
                pollsHere = 0;
                continue;
            }
            // Something is due now: poll again, but a loop that never settles is a finding (a host loop would spin).
            Check(++pollsHere < MaxPollsPerInstant, $"stack: Poll still due after {MaxPollsPerInstant:N0} polls at {_now}");
        }
        _now = until;
        _stack.Poll(_now);
    }

    /// <summary>An echo server and a client that sends and closes when the input says so.</summary>
    private void Application(FrameFlags flags)
    {
        foreach (var l in _listeners)
            while (l.TryAccept(out var c))
            {
                _connections.Add(c);
                _accepted++;
            }
        foreach (var c in _connections)
        {
            int n;
            while ((n = c.Receive(_appBuffer)) > 0) c.Send(_appBuffer.AsSpan(0, n));
            if ((flags & FrameFlags.AppSends) != 0) c.Send(_appBuffer.AsSpan(0, 1000));
            if (c.ReceiveFinished || (flags & FrameFlags.AppCloses) != 0)
            {
                if (c.State == TcpState.Closed) c.Abort();
                else c.Close();
            }
        }
        _connections.RemoveAll(c => c.State == TcpState.Closed);
        _established = Math.Max(_established, _connections.Count(c => c.State == TcpState.Established));
        foreach (var s in _udp)
        {
            while (s.TryReceive(_appBuffer, out var info, out int copied))
            {
                s.Send(_appBuffer.AsSpan(0, copied), info.Remote, default, _now);
                _udpEchoed++;
            }
        }
    }

    // ---- making a frame one the stack answers ----

    private void Patch(Span<byte> frame, FrameFlags flags, bool rawIp)
    {
        int l3 = 0;
        ushort etherType;
        if (rawIp)
        {
            if (frame.IsEmpty) return;
            etherType = (frame[0] >> 4) == 6 ? (ushort)EtherType.Ipv6 : (ushort)EtherType.Ipv4;
        }
        else
        {
            if (frame.Length < EthernetFrame.HeaderLength) return;
            if ((flags & FrameFlags.RewriteAddresses) != 0 && (frame[0] & 1) == 0) OurMac.Write(frame);
            if (!EthernetFrame.TryParse(frame, out var eth, out _)) return;
            l3 = eth.HeaderSize;
            etherType = (ushort)eth.EtherType;
        }
        var packet = frame[l3..];
        var ourV4 = rawIp ? TunV4 : OurV4;
        var ourV6 = rawIp ? TunV6 : OurV6;
        bool rewrite = (flags & FrameFlags.RewriteAddresses) != 0;
        switch ((EtherType)etherType)
        {
            case EtherType.Arp:
                if (rewrite && packet.Length >= ArpPacket.Length) ourV4.Write(packet[24..]);
                break;
            case EtherType.Ipv4:
                PatchIpv4(packet, flags, ourV4);
                break;
            case EtherType.Ipv6:
                PatchIpv6(packet, flags, ourV6);
                break;
        }
    }

    private void PatchIpv4(Span<byte> packet, FrameFlags flags, Ipv4Address ours)
    {
        if (packet.Length < Ipv4Packet.MinHeaderLength || (packet[0] >> 4) != 4) return;
        if ((flags & FrameFlags.RewriteAddresses) != 0 && packet[16] < 224) ours.Write(packet[16..]);
        if (!Ipv4Packet.TryParse(packet, out var ip, out _)) return;
        int headerLength = ip.HeaderLength, total = ip.Bytes.Length;
        var protocol = ip.Protocol;
        bool whole = !ip.IsFragment;
        var src = ip.Source;
        var dst = ip.Destination;
        var transport = packet[headerLength..total];
        if (whole && protocol == IpProtocol.Tcp) PatchTcp(transport, flags);
        if ((flags & FrameFlags.FixChecksums) == 0) return;
        packet[10] = 0;
        packet[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(packet[10..], Checksum.Compute(packet[..headerLength]));
        if (!whole) return;
        switch (protocol)
        {
            case IpProtocol.Tcp: FixChecksum(transport, 16, Checksum.PseudoHeaderV4(src, dst, (byte)protocol, transport.Length)); break;
            case IpProtocol.Udp: FixChecksum(transport, 6, Checksum.PseudoHeaderV4(src, dst, (byte)protocol, transport.Length)); break;
            case IpProtocol.Icmp or IpProtocol.Igmp: FixChecksum(transport, 2, 0); break;
        }
    }

    private void PatchIpv6(Span<byte> packet, FrameFlags flags, Ipv6Address ours)
    {
        if (packet.Length < Ipv6Packet.HeaderLength || (packet[0] >> 4) != 6) return;
        bool rewrite = (flags & FrameFlags.RewriteAddresses) != 0;
        if (rewrite && packet[24] != 0xFF) ours.Write(packet[24..]);
        if (!Ipv6Packet.TryParse(packet, out var ip, out _)) return;
        var src = ip.Source;
        var dst = ip.Destination;
        int end = ip.Bytes.Length;
        if (!Ipv6HeaderChain.TryParse(ip.Bytes, out var chain, out _) || chain.End != Ipv6ChainEnd.UpperLayer) return;
        var transport = packet[chain.ProtocolOffset..end];
        var protocol = chain.Protocol;
        if (protocol == IpProtocol.Tcp) PatchTcp(transport, flags);
        // RFC 4861 §4.3: a Neighbor Solicitation's target (octets 8-23) names the address asked about.
        if (rewrite && protocol == IpProtocol.Icmpv6 && transport.Length >= 24 && transport[0] == (byte)Icmpv6Type.NeighborSolicitation)
            ours.Write(transport[8..]);
        if ((flags & FrameFlags.FixChecksums) == 0) return;
        ulong pseudo = Checksum.PseudoHeaderV6(src, dst, (byte)protocol, transport.Length);
        switch (protocol)
        {
            case IpProtocol.Tcp: FixChecksum(transport, 16, pseudo); break;
            case IpProtocol.Udp: FixChecksum(transport, 6, pseudo); break;
            case IpProtocol.Icmpv6: FixChecksum(transport, 2, pseudo); break;
        }
    }

    private void PatchTcp(Span<byte> segment, FrameFlags flags)
    {
        if (segment.Length < TcpSegment.HeaderLength) return;
        if (_ethDevice.LastTcp is not { } last) return;
        if ((flags & FrameFlags.PortsOurs) != 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(segment, last.DestinationPort);
            BinaryPrimitives.WriteUInt16BigEndian(segment[2..], last.SourcePort);
        }
        if ((flags & FrameFlags.SeqTheirs) != 0) BinaryPrimitives.WriteUInt32BigEndian(segment[4..], last.Ack);
        if ((flags & FrameFlags.AckOurs) != 0) BinaryPrimitives.WriteUInt32BigEndian(segment[8..], last.End);
    }

    private static void FixChecksum(Span<byte> message, int at, ulong pseudo)
    {
        if (message.Length < at + 2) return;
        message[at] = 0;
        message[at + 1] = 0;
        ushort sum = Checksum.Compute(message, pseudo);
        BinaryPrimitives.WriteUInt16BigEndian(message[at..], sum);
    }

    /// <summary>The last TCP segment the stack sent: where it ends, what it acknowledged, its ports.</summary>
    private readonly record struct LastSegment(uint End, uint Ack, ushort SourcePort, ushort DestinationPort);

    /// <summary>
    /// A device that swallows what the stack sends, noting its last TCP segment, with one neighbour behind it who answers
    /// every ARP request and Neighbor Solicitation for an address other than the stack's own (so that every answer the
    /// stack makes can leave: without it they would wait for address resolution and be dropped). Its answers are what
    /// the device receives; the fuzzed frames are pushed in beside them.
    /// </summary>
    private sealed class SinkDevice(Medium medium, MacAddress mac, SinkDevice.Shared shared) : INetDevice
    {
        public sealed class Shared
        {
            public LastSegment? LastTcp { get; set; }
        }

        private const int MaxAnswersWaiting = 64;
        private readonly Shared _shared = shared;
        private readonly Queue<byte[]> _answers = new();

        public Medium Medium { get; } = medium;
        public int Mtu => 1500;
        public int MaxFrameSize => Medium == Medium.Ip ? Mtu : Mtu + EthernetFrame.HeaderLength + EthernetFrame.MaxTags * EthernetFrame.TagLength;
        public MacAddress HardwareAddress { get; } = mac;
        public long FramesSent { get; private set; }

        /// <summary>Where the last TCP segment sent (on either device: they share it) ends and what it acknowledged.</summary>
        public LastSegment? LastTcp { get => _shared.LastTcp; private set => _shared.LastTcp = value; }

        public bool TryReceive(Span<byte> buffer, Instant now, out int length)
        {
            length = 0;
            if (!_answers.TryDequeue(out var frame) || frame.Length > buffer.Length) return false;
            frame.CopyTo(buffer);
            length = frame.Length;
            return true;
        }

        public void Transmit(ReadOnlySpan<byte> frame, Instant now)
        {
            FramesSent++;
            var packet = frame;
            if (Medium == Medium.Ethernet)
            {
                if (!EthernetFrame.TryParse(frame, out var eth, out _)) return;
                packet = eth.Payload;
                if (eth.EtherType == EtherType.Arp)
                {
                    AnswerArp(packet);
                    return;
                }
            }
            ReadOnlySpan<byte> segment = default;
            if (Ipv4Packet.TryParse(packet, out var v4, out _))
            {
                if (v4.Protocol != IpProtocol.Tcp || v4.IsFragment) return;
                segment = v4.Payload;
            }
            else if (Ipv6Packet.TryParse(packet, out var v6, out _)
                && Ipv6HeaderChain.TryParse(v6.Bytes, out var chain, out _) && chain.End == Ipv6ChainEnd.UpperLayer)
            {
                if (chain.Protocol == IpProtocol.Icmpv6 && Medium == Medium.Ethernet) AnswerSolicitation(v6.Source, v6.Bytes[chain.ProtocolOffset..]);
                if (chain.Protocol != IpProtocol.Tcp) return;
                segment = v6.Bytes[chain.ProtocolOffset..];
            }
            if (!TcpSegment.TryParse(segment, out var tcp, out _)) return;
            LastTcp = new LastSegment((tcp.SequenceNumber + tcp.SegmentLength).Value, tcp.AckNumber.Value, tcp.SourcePort, tcp.DestinationPort);
        }

        private void AnswerArp(ReadOnlySpan<byte> packet)
        {
            if (!ArpPacket.TryParse(packet, out var arp, out _) || arp.Operation != ArpOperation.Request) return;
            var request = arp.ToRepr();
            // Not a probe (sender 0.0.0.0) nor an announcement (target = sender), RFC 5227 §2.1.1, §3: those ask whether
            // the stack's own address is taken, and answering would be a conflict.
            if (request.SenderProtocolAddress == Ipv4Address.Any || request.TargetProtocolAddress == request.SenderProtocolAddress) return;
            if (request.TargetProtocolAddress == OurV4 || request.TargetProtocolAddress == TunV4) return;
            var answer = new byte[EthernetFrame.HeaderLength + ArpPacket.Length];
            new EthernetRepr(PeerMac, HardwareAddress, EtherType.Arp).Write(answer);
            ArpRepr.ReplyTo(request, PeerMac).Write(answer.AsSpan(EthernetFrame.HeaderLength));
            Enqueue(answer);
        }

        private void AnswerSolicitation(Ipv6Address source, ReadOnlySpan<byte> icmp)
        {
            if (!NdpMessage.TryParse(icmp, out var ns, out _) || ns.Type != Icmpv6Type.NeighborSolicitation) return;
            var target = ns.TargetAddress;
            // RFC 4862 §5.4.2: a solicitation from the unspecified address is duplicate address detection of the stack's own.
            if (source == Ipv6Address.Unspecified || target == OurV6 || target == TunV6) return;
            var na = new NeighborAdvertisementRepr(false, true, true, target, new[] { NdpOptionRepr.TargetLinkLayer(PeerMac) });
            int length = na.BufferLength;
            var answer = new byte[EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength + length];
            new EthernetRepr(PeerMac, HardwareAddress, EtherType.Ipv6).Write(answer);
            new Ipv6Repr(target, source, IpProtocol.Icmpv6, length, 255, 0, 0).Write(answer.AsSpan(EthernetFrame.HeaderLength));
            na.Write(answer.AsSpan(EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength), target, source);
            Enqueue(answer);
        }

        private void Enqueue(byte[] answer)
        {
            if (_answers.Count < MaxAnswersWaiting) _answers.Enqueue(answer);
        }
    }
}
