using NetStack.Network;
using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>A fake network layer that records what the transport sends.</summary>
internal sealed class CapturingIpLayer(IpAddress local) : IIpLayer
{
    public List<(IpAddress Source, IpAddress Destination, byte[] Bytes)> Sent { get; } = [];
    /// <summary>The IP controls of every datagram sent (never cleared).</summary>
    public List<IpSendOptions> Options { get; } = [];
    public int Mtu { get; set; } = 1500;

    public bool TrySelectSource(IpAddress destination, out IpAddress source) { source = local; return true; }
    public bool IsLocalAddress(IpAddress address) => address == local;
    public int MaxTransportPayload(IpAddress destination) => Mtu - (destination.IsV4 ? 20 : 40);
    public IpSendResult Send(IpAddress source, IpAddress destination, IpProtocol protocol, ReadOnlySpan<byte> transportPayload, in IpSendOptions options, Instant now)
    {
        Sent.Add((source, destination, transportPayload.ToArray()));
        Options.Add(options);
        return IpSendResult.Sent;
    }

    /// <summary>Reachability advice the transport gave, in order.</summary>
    public List<(IpAddress Destination, bool ForwardProgress, Instant At)> Advice { get; } = [];

    public void ReachabilityAdvice(IpAddress destination, bool forwardProgress, Instant now) => Advice.Add((destination, forwardProgress, now));
}

/// <summary>A segment the stack sent, parsed.</summary>
internal readonly record struct SentSegment(TcpRepr Repr, byte[] Payload, bool ChecksumOk)
{
    public TcpFlags Flags => Repr.Flags;
    public SeqNumber Seq => Repr.SequenceNumber;
    public SeqNumber Ack => Repr.AckNumber;
    public bool Has(TcpFlags f) => (Repr.Flags & f) == f;
    public override string ToString() => $"{Repr.Flags} seq={Seq} ack={Ack} win={Repr.Window} len={Payload.Length} sack={Repr.SackBlocks}";
}

/// <summary>
/// "Send these segments, expect these": one TCP layer under test ("us", 192.0.2.1 or 2001:db8::1) and a scripted peer
/// (192.0.2.2 or 2001:db8::2) whose segments are written with <see cref="TcpRepr"/>, with a virtual clock. Over IPv6 the
/// fake path MTU is 1520, so that both families see the same 1460-byte MSS and a test's segment arithmetic holds for
/// either (<c>[Theory, BothFamilies]</c>).
/// </summary>
internal sealed class TcpBench
{
    /// <summary>Our IPv4 address (the bench's addresses when it runs IPv4, the default).</summary>
    public static readonly IpAddress Us = Families.V4A;
    /// <summary>The peer's IPv4 address.</summary>
    public static readonly IpAddress Peer = Families.V4B;
    public const ushort UsPort = 80;
    public const ushort PeerPort = 40000;

    public TcpBench(TcpSettings? settings = null, ulong seed = 1, IpVersion family = IpVersion.V4)
    {
        Family = family;
        Local = Families.A(family);
        Remote = Families.B(family);
        Ip = new CapturingIpLayer(Local);
        if (family == IpVersion.V6) Ip.Mtu = 1520;
        Layer = new TcpLayer(Ip, new SeededRandom(seed), settings ?? new TcpSettings());
        Now = Instant.FromSeconds(100);
    }

    public IpVersion Family { get; }
    /// <summary>Our address in this bench's family.</summary>
    public IpAddress Local { get; }
    /// <summary>The peer's address in this bench's family.</summary>
    public IpAddress Remote { get; }

    public CapturingIpLayer Ip { get; }
    public TcpLayer Layer { get; }
    public Instant Now { get; private set; }

    /// <summary>The peer's next sequence number.</summary>
    public SeqNumber PeerSeq { get; set; } = new(1000);
    /// <summary>The next sequence number the peer expects from us (what it acknowledges).</summary>
    public SeqNumber OurSeq { get; set; }
    public bool PeerTimestamps { get; set; }
    public uint PeerTsVal { get; set; } = 5000;
    public uint LastOurTsVal { get; set; }
    public ushort PeerPortUsed { get; set; } = PeerPort;
    public ushort UsPortUsed { get; set; } = UsPort;

    public TransportVerdict Deliver(TcpRepr repr, ReadOnlySpan<byte> payload = default, bool corruptChecksum = false)
    {
        var buf = new byte[repr.BufferLength(payload.Length)];
        int n = repr.Write(buf, payload, Remote, Local);
        if (corruptChecksum) buf[16] ^= 0xFF;
        var info = new IpPacketInfo(Remote, Local, IpProtocol.Tcp, 64, 0, 0, 0, false);
        return Layer.Receive(info, buf.AsSpan(0, n), Now);
    }

    /// <summary>Sends a segment from the peer with defaults from the bench state; advances <see cref="PeerSeq"/>.</summary>
    public TransportVerdict PeerSends(TcpFlags flags, byte[]? data = null, SeqNumber? seq = null, SeqNumber? ack = null,
        ushort window = 65535, TcpSackBlocks sack = default, uint? tsVal = null, ushort urgentPointer = 0)
    {
        var repr = new TcpRepr
        {
            SourcePort = PeerPortUsed,
            DestinationPort = UsPortUsed,
            SequenceNumber = seq ?? PeerSeq,
            AckNumber = (flags & TcpFlags.Ack) != 0 ? ack ?? OurSeq : default,
            Flags = flags,
            Window = window,
            SackBlocks = sack,
            UrgentPointer = urgentPointer,
        };
        if (PeerTimestamps) repr.Timestamps = new TcpTimestamps(tsVal ?? ++PeerTsVal, LastOurTsVal);
        if (seq is null) PeerSeq += (data?.Length ?? 0) + ((flags & TcpFlags.Syn) != 0 ? 1 : 0) + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);
        return Deliver(repr, data);
    }

    /// <summary>Everything sent since the last call, parsed.</summary>
    public List<SentSegment> TakeSent()
    {
        var list = new List<SentSegment>();
        foreach (var (src, dst, bytes) in Ip.Sent)
        {
            Assert.True(TcpSegment.TryParse(bytes, out var seg, out var err), $"we sent a malformed segment: {err}");
            var repr = seg.ToRepr();
            if (repr.Timestamps is { } ts) LastOurTsVal = ts.Value;
            list.Add(new SentSegment(repr, seg.Payload.ToArray(), seg.VerifyChecksum(src, dst)));
        }
        Ip.Sent.Clear();
        return list;
    }

    /// <summary>The segments that carry data among everything sent since the last call.</summary>
    public List<SentSegment> TakeData() => TakeSent().Where(x => x.Payload.Length > 0).ToList();

    /// <summary>One SACK block [left, right).</summary>
    public static TcpSackBlocks Sack(SeqNumber left, SeqNumber right)
    {
        var s = new TcpSackBlocks();
        s.TryAdd(new SackBlock(left, right));
        return s;
    }

    /// <summary>
    /// A bench with a passively opened connection whose handshake took <paramref name="rtt"/>, so that SRTT = RTT
    /// (checked); by default with a 1 MB send buffer.
    /// </summary>
    public static (TcpBench B, TcpConnection C) Established(TimeSpan rtt, IpVersion family = IpVersion.V4, TcpSettings? settings = null)
    {
        var b = new TcpBench(settings ?? new TcpSettings { SendBufferSize = 1 << 20 }, family: family);
        var c = b.Accept(handshakeRtt: rtt);
        Assert.Equal(rtt, c.SmoothedRtt);
        return (b, c);
    }

    /// <summary>Exactly one segment was sent; returns it.</summary>
    public SentSegment Single()
    {
        var sent = TakeSent();
        Assert.True(sent.Count == 1, $"expected one segment, got {sent.Count}: {string.Join("; ", sent)}");
        Assert.True(sent[0].ChecksumOk);
        return sent[0];
    }

    public void Nothing()
    {
        var sent = TakeSent();
        Assert.True(sent.Count == 0, $"expected nothing, got: {string.Join("; ", sent)}");
    }

    /// <summary>Moves the clock and polls.</summary>
    public void Advance(TimeSpan d)
    {
        Now += d;
        Layer.Poll(Now);
    }

    /// <summary>Polls at the current time (flushes queued output).</summary>
    public void Poll() => Layer.Poll(Now);

    /// <summary>Runs timers until <paramref name="until"/> in steps of the next deadline.</summary>
    public void RunUntil(Instant until)
    {
        Layer.Poll(Now);
        while (true)
        {
            var d = Layer.NextDeadline;
            if (d > until || d == Instant.MaxValue) { Now = until; Layer.Poll(Now); return; }
            Now = Instant.Max(Now, d);
            Layer.Poll(Now);
        }
    }

    /// <summary>Passive open: LISTEN on port 80, the peer's SYN (with options), our SYN,ACK, the peer's ACK. Returns the accepted connection.</summary>
    public TcpConnection Accept(bool options = true, ushort peerWindow = 65535, byte? peerWindowScale = 7, int backlog = 4,
        TimeSpan handshakeRtt = default)
    {
        var listener = Layer.Listen(new IpEndpoint(Local, UsPort), backlog);
        PeerTimestamps = false;
        var syn = new TcpRepr
        {
            SourcePort = PeerPortUsed, DestinationPort = UsPort, SequenceNumber = PeerSeq, Flags = TcpFlags.Syn, Window = peerWindow,
        };
        if (options)
        {
            syn.Mss = 1460; syn.WindowScale = peerWindowScale; syn.SackPermitted = true;
            syn.Timestamps = new TcpTimestamps(++PeerTsVal, 0);
        }
        Deliver(syn);
        PeerSeq += 1;
        var synAck = Single();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        OurSeq = synAck.Seq + 1;
        PeerTimestamps = options;
        if (handshakeRtt > TimeSpan.Zero) Advance(handshakeRtt);
        PeerSends(TcpFlags.Ack, window: peerWindow);
        Assert.True(listener.TryAccept(out var c));
        Assert.Equal(TcpState.Established, c.State);
        return c;
    }

    /// <summary>
    /// Active open up to our SYN: connects to the peer's port 80, checks that exactly one SYN went out, and aims the peer's
    /// segments at it (<see cref="UsPortUsed"/>, <see cref="PeerPortUsed"/>). Returns the connection (SYN-SENT) and the SYN.
    /// </summary>
    public (TcpConnection Connection, SentSegment Syn) SendSyn()
    {
        var c = Layer.Connect(new IpEndpoint(Remote, 80), Now);
        var syn = Single();
        Assert.Equal(TcpFlags.Syn, syn.Flags);
        UsPortUsed = syn.Repr.SourcePort;
        PeerPortUsed = 80;
        return (c, syn);
    }

    /// <summary>Active open to the peer's port 80 from an ephemeral port, completing the handshake.</summary>
    public TcpConnection Connect(bool options = true, ushort peerWindow = 65535, byte? peerWindowScale = 7)
    {
        var (c, syn) = SendSyn();
        OurSeq = syn.Seq + 1;
        var synAck = new TcpRepr
        {
            SourcePort = 80, DestinationPort = UsPortUsed, SequenceNumber = PeerSeq, AckNumber = OurSeq,
            Flags = TcpFlags.Syn | TcpFlags.Ack, Window = peerWindow,
        };
        if (options)
        {
            synAck.Mss = 1460; synAck.WindowScale = peerWindowScale; synAck.SackPermitted = true;
            synAck.Timestamps = new TcpTimestamps(++PeerTsVal, syn.Repr.Timestamps?.Value ?? 0);
        }
        Deliver(synAck);
        PeerSeq += 1;
        PeerTimestamps = options;
        var ack = Single();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(TcpState.Established, c.State);
        return c;
    }
}
