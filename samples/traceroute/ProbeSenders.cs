using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using NetStack.Network;
using NetStack.Sockets;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Samples.Traceroute;

/// <summary>
/// Sends probes through raw sockets of a NetStack stack and matches every ICMP / ICMPv6 message (and TCP
/// segment, for -T) that comes back to the probe it quotes or answers, by the quoted probe headers, never by
/// arrival order. One subclass per method builds the probe and says how to recognise it.
/// </summary>
public abstract class RawProbeSender : IProbeSender, IDisposable
{
    private readonly RawSocket _icmp;
    private readonly Queue<(RawDatagram Datagram, Instant At)> _icmpQueue = new();
    private TracerouteEngine? _engine;
    private StampingDevice? _stamps;
    private Probe? _sending;
    private readonly byte[] _sendingHeader = new byte[8];

    protected RawProbeSender(NetworkStack stack, TracerouteOptions options, IpAddress source, IpAddress target)
    {
        Stack = stack;
        Options = options;
        Source = source;
        Target = target;
        _icmp = stack.OpenRawSocket(target.Version, target.IsV4 ? IpProtocol.Icmp : IpProtocol.Icmpv6);
        _icmp.Readable += s => Take(s, _icmpQueue);
    }

    protected NetworkStack Stack { get; }
    protected TracerouteOptions Options { get; }
    protected IpAddress Source { get; }
    protected IpAddress Target { get; }
    protected int IpHeaderLength => Target.IsV4 ? 20 : 40;
    public bool IsIpv6 => Target.IsV6;
    protected TracerouteEngine Engine => _engine ?? throw new InvalidOperationException("Attach the engine first.");

    public abstract int HeaderLength { get; }

    /// <summary>The flow identifier to use for a probe (constant with --paris, varied by --mda).</summary>
    public Func<Probe, int>? FlowOf { get; set; }

    public void Attach(TracerouteEngine engine) => _engine = engine;

    /// <summary>Builds the transport header and data of <paramref name="probe"/> into <paramref name="buffer"/>.</summary>
    protected abstract int Build(Probe probe, int dataLength, Span<byte> buffer);

    protected abstract IpProtocol Protocol { get; }

    /// <summary>False for a method whose packets are only headers whatever length is asked (TCP).</summary>
    public virtual bool TakesData => true;

    /// <summary>
    /// Whether Linux traceroute sees an ICMPv4 "fragmentation needed" answering a probe sent without DF (no -F). Its ICMP
    /// and TCP methods read ICMP through raw sockets, whose raw_err() queues the error whatever IP_MTU_DISCOVER says
    /// (it prints "!F-1400"); its UDP sockets do not (udp_err() keeps it to the path MTU cache when IP_PMTUDISC_DONT).
    /// </summary>
    protected virtual bool SeesFragmentationNeededWithoutDf => true;

    /// <summary>Finds the in-flight probe whose transport header is (the start of) <paramref name="quoted"/>.</summary>
    protected abstract Probe? MatchQuoted(ReadOnlySpan<byte> quoted);

    /// <summary>Finds the probe a direct answer from the target (echo reply, TCP SYN-ACK/RST) belongs to.</summary>
    protected virtual Probe? MatchDirect(in IpPacketInfo info, ReadOnlySpan<byte> payload) => null;

    public SendOutcome Send(Probe probe, int dataLength, Instant now, out int mtu)
    {
        mtu = 0;
        var buffer = new byte[Math.Max(64, dataLength + 64)];
        int length = Build(probe, dataLength, buffer);
        var options = new IpSendOptions(
            ttl: (byte)probe.Ttl,
            trafficClass: (byte)Options.Tos,
            dontFragment: Options.DontFragment,
            flowLabel: (uint)Options.FlowLabel)
        {
            // -F is IP_PMTUDISC_PROBE in traceroute 2.1: DF set, the cached path MTU ignored (every probe leaves and
            // the router that cannot forward it answers); --mtu shrinks the probes itself.
            IgnorePathMtu = Options.DontFragment,
        };
        IpSendResult result;
        _sending = probe;
        buffer.AsSpan(0, 8).CopyTo(_sendingHeader);
        try
        {
            result = Stack.Send(Source, Target, Protocol, buffer.AsSpan(0, length), options, now);
        }
        finally
        {
            _sending = null;
        }
        switch (result)
        {
            case IpSendResult.Sent:
                return SendOutcome.Sent;
            case IpSendResult.TooBig:
                // With the path MTU ignored (-F), only the link can refuse the probe: report its MTU, as the kernel does.
                mtu = Options.DontFragment && Stack.Interfaces.Count == 1 ? Stack.Interfaces[0].Mtu : Stack.MaxTransportPayload(Target) + IpHeaderLength;
                return SendOutcome.TooBig;
            case IpSendResult.QueueFull:
                return SendOutcome.Retry;
            default:
                throw new InvalidOperationException($"send probe: {result}");
        }
    }

    /// <summary>Takes every queued answer and hands the matching ones to the engine.</summary>
    public virtual void Drain()
    {
        while (_icmpQueue.TryDequeue(out var item))
        {
            if (Target.IsV4) HandleIcmpv4(item.Datagram, item.At);
            else HandleIcmpv6(item.Datagram, item.At);
        }
    }

    /// <summary>True while answers wait to be handed to the engine (<see cref="Drain"/>).</summary>
    public virtual bool HasPending => _icmpQueue.Count > 0;

    /// <summary>
    /// Moves the datagrams a raw socket just queued into <paramref name="queue"/>, each with the time its frame was read
    /// off the device (<see cref="Stamps"/>: the frame being handled right now), or the stack's time in virtual time.
    /// </summary>
    protected void Take(RawSocket socket, Queue<(RawDatagram Datagram, Instant At)> queue)
    {
        while (socket.TryReceive(out var d)) queue.Enqueue((d, Stamps?.LastReceived ?? d.ReceivedAt));
    }

    /// <summary>
    /// A frame went to the device at <paramref name="at"/>: if it carries one of our probes (first fragment), that probe's
    /// clock starts now, also when the frame had waited for ARP / NDP resolution.
    /// </summary>
    private void OnTransmitted(ReadOnlySpan<byte> frame, Instant at)
    {
        if (_engine is null) return;
        ReadOnlySpan<byte> packet = frame;
        if (Stamps!.Medium == Medium.Ethernet)
        {
            if (!EthernetFrame.TryParse(frame, out var eth, out _)) return;
            packet = eth.Payload;
        }
        ReadOnlySpan<byte> transport;
        if (Target.IsV4)
        {
            if (!Ipv4Packet.TryParse(packet, out var ip, out _) || ip.Destination != Target.V4 || ip.Protocol != Protocol || ip.FragmentOffset != 0) return;
            transport = ip.Payload;
        }
        else
        {
            if (!Ipv6Packet.TryParse(packet, out var ip, out _) || ip.Destination != Target.V6) return;
            if (!Ipv6HeaderChain.TryParse(ip, out var chain, out _) || chain.End != Ipv6ChainEnd.UpperLayer || chain.Protocol != Protocol) return;
            transport = ip.Bytes[chain.ProtocolOffset..];
        }
        if (_sending is { } sending)
        {
            // Handed over synchronously, inside Send: the probe is not in flight yet.
            if (transport.Length >= 8 && transport[..8].SequenceEqual(_sendingHeader.AsSpan(0, 8))) sending.SendTime = at;
            return;
        }
        // Released later (it waited for the neighbour): restart its clock.
        if (MatchQuoted(transport) is { } probe) probe.SendTime = at;
    }

    /// <summary>
    /// The device's frame clock (a real device): probes are stamped when their frame is handed to it, answers when
    /// their frame was read. Null in virtual time, where the stack's time is exact.
    /// </summary>
    public StampingDevice? Stamps
    {
        get => _stamps;
        set
        {
            if (_stamps is not null) _stamps.Transmitted -= OnTransmitted;
            _stamps = value;
            if (value is not null) value.Transmitted += OnTransmitted;
        }
    }

    private void HandleIcmpv4(RawDatagram d, Instant at)
    {
        if (!Icmpv4Packet.TryParse(d.Payload, out var icmp, out _) || !icmp.ChecksumValid) return;
        if (icmp.Type is Icmpv4Type.TimeExceeded or Icmpv4Type.DestinationUnreachable or Icmpv4Type.ParameterProblem)
        {
            // The Linux kernel never hands these to traceroute, so it sees nothing (and prints "*"): unreachable codes
            // beyond 15 (icmp_unreach: "code > NR_ICMP_UNREACH" is dropped, whatever the method), and, for the UDP
            // methods, "fragmentation needed" for a datagram sent without DF (traceroute's UDP sockets are
            // IP_PMTUDISC_DONT without -F, and udp_err() then reports nothing).
            if (icmp.Type == Icmpv4Type.DestinationUnreachable && icmp.Code > 15) return;
            if (icmp.Type == Icmpv4Type.DestinationUnreachable && icmp.Code == 4 && !Options.DontFragment && !SeesFragmentationNeededWithoutDf) return;
            if (!icmp.TryGetQuotedDatagram(out var quoted, out _)) return;
            if (quoted.Destination != Target.V4 || quoted.Protocol != Protocol) return;
            var probe = MatchQuoted(quoted.Payload);
            if (probe is null) return;
            string? ext = icmp.TryGetExtension(out var extension, out _) ? FormatExtension(extension) : null;
            uint info = icmp.Type == Icmpv4Type.DestinationUnreachable && icmp.Code == 4 ? icmp.NextHopMtu : 0u;
            Engine.AnswerIcmp(probe, d.Info.Source, at, d.Info.Ttl, (int)icmp.Type, icmp.Code, info, ext);
            return;
        }
        var direct = MatchDirect(d.Info, d.Payload);
        if (direct is not null) Engine.AnswerFinal(direct, d.Info.Source, at, d.Info.Ttl);
    }

    private void HandleIcmpv6(RawDatagram d, Instant at)
    {
        if (!Icmpv6Packet.TryParse(d.Payload, out var icmp, out _)) return;
        if (!icmp.VerifyChecksum(d.Info.Source.V6, d.Info.Destination.V6)) return;
        if (icmp.IsError)
        {
            if (!Ipv6Packet.TryParseQuoted(icmp.InvokingPacket, out var quoted, out _)) return;
            if (quoted.Destination != Target.V6) return;
            if (!Ipv6HeaderChain.TryParse(quoted, out var chain, out _) || chain.End != Ipv6ChainEnd.UpperLayer || chain.Protocol != Protocol) return;
            var probe = MatchQuoted(quoted.Bytes[chain.ProtocolOffset..]);
            if (probe is null) return;
            string? ext = icmp.TryGetExtension(out var extension, out _) ? FormatExtension(extension) : null;
            uint info = (int)icmp.Type == 2 ? icmp.Mtu : 0;
            Engine.AnswerIcmp(probe, d.Info.Source, at, d.Info.Ttl, (int)icmp.Type, icmp.Code, info, ext);
            return;
        }
        var direct = MatchDirect(d.Info, d.Payload);
        if (direct is not null) Engine.AnswerFinal(direct, d.Info.Source, at, d.Info.Ttl);
    }

    /// <summary>
    /// ICMP extension objects as Linux traceroute -e prints them: "MPLS:L=..,E=..,S=..,T=.." per label, "/" between
    /// labels; any other object as "CLASS/CTYPE:" and its 32-bit words in lower-case hex joined by commas
    /// ("2/14:0000000c,c0000201"); ";" between objects. An object whose data is not whole 32-bit words spoils the lot
    /// (traceroute 2.1 prints nothing then).
    /// </summary>
    public static string? FormatExtension(IcmpExtension extension)
    {
        var sb = new StringBuilder();
        foreach (var obj in extension.Objects)
        {
            if (obj.Payload.Length % 4 != 0) return null;
            if (sb.Length > 0) sb.Append(';');
            if (obj.IsMplsLabelStack && obj.MplsEntryCount >= 1)
            {
                sb.Append("MPLS:");
                for (int i = 0; i < obj.MplsEntryCount; i++)
                {
                    var e = obj.MplsEntry(i);
                    if (i > 0) sb.Append('/');
                    sb.Append(CultureInfo.InvariantCulture, $"L={e.Label},E={e.TrafficClass},S={(e.BottomOfStack ? 1 : 0)},T={e.Ttl}");
                }
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"{obj.ClassNum}/{obj.CType}:");
                for (int i = 0; i < obj.Payload.Length; i += 4)
                {
                    if (i > 0) sb.Append(',');
                    sb.Append(CultureInfo.InvariantCulture, $"{BinaryPrimitives.ReadUInt32BigEndian(obj.Payload[i..]):x8}");
                }
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// Chooses the 16-bit word that, placed at <paramref name="wordOffset"/> of <paramref name="message"/> (whose
    /// checksum field is at <paramref name="checksumOffset"/>), makes the checksum field equal <paramref name="wanted"/>.
    /// Paris traceroute's trick: the checksum carries the probe's identity while the flow fields stay constant.
    /// </summary>
    protected static void ForceChecksum(Span<byte> message, int checksumOffset, int wordOffset, ulong pseudoHeader, ushort wanted)
    {
        BinaryPrimitives.WriteUInt16BigEndian(message[checksumOffset..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(message[wordOffset..], 0);
        ushort s = Checksum.Fold(Checksum.Accumulate(message, pseudoHeader));
        // field = ~(S + X)  =>  X = ~field - S  (ones' complement arithmetic)
        ushort x = Checksum.Fold((ulong)(ushort)~wanted + (ushort)~s);
        BinaryPrimitives.WriteUInt16BigEndian(message[wordOffset..], x);
        BinaryPrimitives.WriteUInt16BigEndian(message[checksumOffset..], wanted);
    }

    protected static void FillData(Span<byte> data)
    {
        // Linux traceroute fills probe data with 0x40 + (i & 0x3f).
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(0x40 + (i & 0x3F));
    }

    public void Dispose()
    {
        _icmp.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// UDP probes: by default to port 33434 and up, one port per probe, as Linux traceroute does; -U to one fixed
/// port; with --paris (and --mda) the ports stay fixed and the UDP checksum carries the probe's identity.
/// </summary>
public sealed class UdpProbeSender : RawProbeSender
{
    private readonly ushort _basePort;
    private readonly ushort _sourcePort;
    private readonly bool _fixedPort;

    public UdpProbeSender(NetworkStack stack, TracerouteOptions options, IpAddress source, IpAddress target, ushort sourcePort)
        : base(stack, options, source, target)
    {
        _fixedPort = options.Method == ProbeMethod.UdpFixed;
        _basePort = (ushort)(options.Port ?? (_fixedPort ? TracerouteOptions.DefaultFixedUdpPort : TracerouteOptions.DefaultUdpPort));
        _sourcePort = sourcePort;
    }

    /// <summary>A UDP socket of traceroute 2.1 without -F is IP_PMTUDISC_DONT: udp_err() reports no "fragmentation needed".</summary>
    protected override bool SeesFragmentationNeededWithoutDf => false;

    public override int HeaderLength => IpHeaderLength + UdpDatagram.HeaderLength;
    protected override IpProtocol Protocol => IpProtocol.Udp;
    private bool IdentifyByChecksum => Options.Paris || Options.Mda;

    protected override int Build(Probe probe, int dataLength, Span<byte> buffer)
    {
        int length = UdpDatagram.HeaderLength + dataLength;
        var message = buffer[..length];
        FillData(message[UdpDatagram.HeaderLength..]);
        ushort srcPort = _sourcePort, dstPort;
        if (IdentifyByChecksum)
        {
            dstPort = _basePort;
            if (FlowOf is not null) srcPort = (ushort)(_sourcePort + FlowOf(probe)); // --mda: the flow is the source port
            probe.WireId = probe.Index + 1;
        }
        else
        {
            dstPort = _fixedPort ? _basePort : (ushort)(_basePort + probe.Index);
            if (_fixedPort && Options.SourcePort is null) srcPort = (ushort)(_sourcePort + probe.Index);
            probe.WireId = _fixedPort ? srcPort : dstPort;
        }
        probe.SourcePort = srcPort;
        new UdpRepr(srcPort, dstPort, dataLength).Write(message, Source, Target);
        if (IdentifyByChecksum && dataLength >= 2)
        {
            ForceChecksum(message, 6, UdpDatagram.HeaderLength, Checksum.PseudoHeader(Source, Target, (byte)IpProtocol.Udp, length), (ushort)probe.WireId);
        }
        return length;
    }

    protected override Probe? MatchQuoted(ReadOnlySpan<byte> quoted)
    {
        if (quoted.Length < UdpDatagram.HeaderLength) return null;
        ushort src = BinaryPrimitives.ReadUInt16BigEndian(quoted);
        ushort dst = BinaryPrimitives.ReadUInt16BigEndian(quoted[2..]);
        ushort sum = BinaryPrimitives.ReadUInt16BigEndian(quoted[6..]);
        if (IdentifyByChecksum) return Engine.FindInFlight(p => p.WireId == sum && p.SourcePort == src);
        if (_fixedPort) return Engine.FindInFlight(p => p.WireId == src && dst == _basePort);
        return Engine.FindInFlight(p => p.WireId == dst && src == _sourcePort);
    }
}

/// <summary>
/// ICMP / ICMPv6 echo probes (-I): one identifier, the sequence number per probe (from -p, default 1), as Linux does.
/// With --paris the checksum is held constant (the flow of hashing routers), with --mda it is the flow.
/// </summary>
public sealed class IcmpProbeSender : RawProbeSender
{
    private readonly ushort _identifier;
    private readonly int _firstSequence;

    public IcmpProbeSender(NetworkStack stack, TracerouteOptions options, IpAddress source, IpAddress target, ushort identifier)
        : base(stack, options, source, target)
    {
        _identifier = identifier;
        _firstSequence = options.Port ?? 1;
    }

    public override int HeaderLength => IpHeaderLength + 8;
    protected override IpProtocol Protocol => Target.IsV4 ? IpProtocol.Icmp : IpProtocol.Icmpv6;

    protected override int Build(Probe probe, int dataLength, Span<byte> buffer)
    {
        int length = 8 + dataLength;
        var message = buffer[..length];
        ushort seq = (ushort)(_firstSequence + probe.Index);
        probe.WireId = seq;
        message[0] = Target.IsV4 ? (byte)Icmpv4Type.EchoRequest : (byte)128;
        message[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(message[4..], _identifier);
        BinaryPrimitives.WriteUInt16BigEndian(message[6..], seq);
        FillData(message[8..]);
        ulong pseudo = Target.IsV4 ? 0 : Checksum.PseudoHeader(Source, Target, (byte)IpProtocol.Icmpv6, length);
        if ((Options.Paris || Options.Mda) && dataLength >= 2)
        {
            // Paris: a constant checksum keeps (type, code, checksum) -- the flow -- the same for every probe.
            ushort flow = (ushort)(0x5A5A + (FlowOf?.Invoke(probe) ?? 0));
            ForceChecksum(message, 2, 8, pseudo, flow);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(message[2..], 0);
            BinaryPrimitives.WriteUInt16BigEndian(message[2..], Checksum.Compute(message, pseudo));
        }
        return length;
    }

    protected override Probe? MatchQuoted(ReadOnlySpan<byte> quoted)
    {
        if (quoted.Length < 8) return null;
        byte echoRequest = Target.IsV4 ? (byte)Icmpv4Type.EchoRequest : (byte)128;
        if (quoted[0] != echoRequest || BinaryPrimitives.ReadUInt16BigEndian(quoted[4..]) != _identifier) return null;
        ushort seq = BinaryPrimitives.ReadUInt16BigEndian(quoted[6..]);
        return Engine.FindInFlight(p => p.WireId == seq);
    }

    protected override Probe? MatchDirect(in IpPacketInfo info, ReadOnlySpan<byte> payload)
    {
        byte echoReply = Target.IsV4 ? (byte)Icmpv4Type.EchoReply : (byte)129;
        if (info.Source != Target || payload.Length < 8 || payload[0] != echoReply) return null;
        if (BinaryPrimitives.ReadUInt16BigEndian(payload[4..]) != _identifier) return null;
        ushort seq = BinaryPrimitives.ReadUInt16BigEndian(payload[6..]);
        return Engine.FindInFlight(p => p.WireId == seq);
    }
}

/// <summary>
/// TCP SYN probes (-T, port 80 by default), as traceroute 2.1's tcp module sends them: a bare SYN with the options the
/// sysctls enable by default (MSS, SACK-permitted, timestamps, window scale: a 40-byte header, so 60-byte IPv4 and
/// 80-byte IPv6 packets) and NO data, whatever packet length is asked for (Linux ignores it, also under --mtu). The
/// source port identifies the probe (with --paris it is constant and the sequence number does). A SYN-ACK or RST from
/// the target ends the trace; -O info prints its flags.
/// </summary>
public sealed class TcpProbeSender : RawProbeSender
{
    private const int TcpHeaderLength = 40;
    private readonly RawSocket _tcp;
    private readonly Queue<(RawDatagram Datagram, Instant At)> _tcpQueue = new();
    private readonly ushort _port;
    private readonly ushort _sourcePort;
    private readonly bool _fixedSourcePort;
    private readonly uint _isnBase;

    public TcpProbeSender(NetworkStack stack, TracerouteOptions options, IpAddress source, IpAddress target, ushort sourcePort, uint isnBase)
        : base(stack, options, source, target)
    {
        _tcp = stack.OpenRawSocket(target.Version, IpProtocol.Tcp);
        _tcp.Readable += s => Take(s, _tcpQueue);
        _port = (ushort)(options.Port ?? TracerouteOptions.DefaultTcpPort);
        _sourcePort = sourcePort;
        _fixedSourcePort = options.SourcePort is not null;
        _isnBase = isnBase;
    }

    public override int HeaderLength => IpHeaderLength + TcpHeaderLength;
    protected override IpProtocol Protocol => IpProtocol.Tcp;
    private bool IdentifyBySequence => Options.Paris || Options.Mda || _fixedSourcePort;

    /// <summary>The TCP method takes no data: its packets are its headers (traceroute 2.1 ignores the packet length).</summary>
    public override bool TakesData => false;

    protected override int Build(Probe probe, int dataLength, Span<byte> buffer)
    {
        const int length = TcpHeaderLength;
        var m = buffer[..length];
        m.Clear();
        ushort src = _fixedSourcePort ? _sourcePort
            : IdentifyBySequence ? (ushort)(_sourcePort + (FlowOf?.Invoke(probe) ?? 0)) : (ushort)(_sourcePort + probe.Index);
        uint seq = _isnBase + (uint)probe.Index;
        probe.SourcePort = src;
        probe.WireId = probe.Index;
        BinaryPrimitives.WriteUInt16BigEndian(m, src);
        BinaryPrimitives.WriteUInt16BigEndian(m[2..], _port);
        BinaryPrimitives.WriteUInt32BigEndian(m[4..], seq);
        m[12] = (TcpHeaderLength / 4) << 4;
        m[13] = 0x02; // SYN
        BinaryPrimitives.WriteUInt16BigEndian(m[14..], 5840);
        // Options: MSS 1460, SACK-permitted, timestamps, NOP, window scale (20 bytes).
        ReadOnlySpan<byte> opts = [2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 2];
        opts.CopyTo(m[20..]);
        BinaryPrimitives.WriteUInt32BigEndian(m[28..], (uint)probe.Index + 1);
        ulong pseudo = Checksum.PseudoHeader(Source, Target, (byte)IpProtocol.Tcp, length);
        BinaryPrimitives.WriteUInt16BigEndian(m[16..], Checksum.Compute(m, pseudo));
        return length;
    }

    protected override Probe? MatchQuoted(ReadOnlySpan<byte> quoted)
    {
        if (quoted.Length < 8) return null;
        ushort src = BinaryPrimitives.ReadUInt16BigEndian(quoted);
        ushort dst = BinaryPrimitives.ReadUInt16BigEndian(quoted[2..]);
        uint seq = BinaryPrimitives.ReadUInt32BigEndian(quoted[4..]);
        if (dst != _port) return null;
        int index = unchecked((int)(seq - _isnBase));
        return Engine.FindInFlight(p => p.Index == index && p.SourcePort == src);
    }

    public override bool HasPending => base.HasPending || _tcpQueue.Count > 0;

    public override void Drain()
    {
        base.Drain();
        while (_tcpQueue.TryDequeue(out var item))
        {
            var (d, at) = item;
            var s = d.Payload;
            if (d.Info.Source != Target || s.Length < 20) continue;
            ushort src = BinaryPrimitives.ReadUInt16BigEndian(s);
            ushort dst = BinaryPrimitives.ReadUInt16BigEndian(s[2..]);
            uint ack = BinaryPrimitives.ReadUInt32BigEndian(s[8..]);
            byte flags = s[13];
            bool synAck = (flags & 0x12) == 0x12, rst = (flags & 0x04) != 0;
            if (src != _port || !(synAck || rst)) continue;
            Probe? probe;
            if (IdentifyBySequence)
            {
                // One source port for every probe: the answer acknowledges our SYN, ack = seq + 1 (a SYN carries no data).
                int index = unchecked((int)(ack - 1 - _isnBase));
                probe = Engine.FindInFlight(p => p.Index == index && p.SourcePort == dst);
            }
            else
            {
                // traceroute 2.1 (probe_by_seq): the port the answer goes to is the probe.
                probe = Engine.FindInFlight(p => p.SourcePort == dst);
            }
            if (probe is not null) Engine.AnswerFinal(probe, d.Info.Source, at, d.Info.Ttl, Options.TcpInfo ? FlagNames(flags) : null);
        }
    }

    /// <summary>-O info: the flags of an answer as traceroute 2.1 names them ("syn,ack", "rst,ack").</summary>
    public static string FlagNames(byte flags)
    {
        string[] names = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr"];
        return string.Join(',', names.Where((_, i) => (flags & (1 << i)) != 0));
    }
}
