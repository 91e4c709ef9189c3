using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Transport.Tcp;
using NetStack.Wire;


namespace NetStack.Tests.Flood;

/// <summary>
/// Load-based SYN shedding (issue 13 "Floods", RFC 4987 §3): while the stack is behind its device (a receive batch
/// came back full), only <see cref="StackOptions.SynsPerPollUnderLoad"/> SYNs per poll are answered and the rest are
/// counted drops (<see cref="DropReason.TcpSynShed"/>), SYNs from unresolved on-link sources first; once the device is
/// drained every SYN is answered again.
/// </summary>
public class SynShedUnderLoadTests
{
    private static readonly MacAddress StackMac = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly Instant Ready = Instant.FromSeconds(15);

    private static (NetworkStack Stack, TappedLink Device, TcpLayer Tcp) Build(int synsPerPoll, int provenPeerSlots = 4096)
    {
        var host = new TappedStack(new StackOptions { MaxFramesPerPoll = 256, SynsPerPollUnderLoad = synsPerPoll }, seed: 1);
        var stack = host.Stack;
        var device = host.Add(StackMac, new InterfaceConfig
        {
            Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24"), Ipv4Cidr.Parse("198.51.100.1/24"), Ipv4Cidr.Parse("203.0.113.1/24")],
            Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:1::1/64")],
            Slaac = false,
        });
        // SYN queue 0: every SYN answered is answered with a cookie, so SynCookiesSent counts the answers; no listener budget.
        var tcp = new TcpLayer(stack, new SeededRandom(2), new TcpSettings { SynQueueLength = 0, ListenerSynRate = 0, ProvenPeerSlots = provenPeerSlots });
        stack.RegisterTransport(IpProtocol.Tcp, tcp);
        stack.RegisterPollable(tcp);
        tcp.Listen(new IpEndpoint(Ipv4Address.Any, 80), 128);
        // Past duplicate address detection (RFC 4862 §5.4; RFC 5227 §2.1 probes take up to 10 s): the addresses are ours
        // before the ARP request and the SYNs come.
        host.RunUntil(Ready);
        device.Take();
        return (stack, device, tcp);
    }

    private static readonly MacAddress PeerMac = MacAddress.Parse("02:00:00:00:00:02");
    private static readonly Ipv4Address Peer = Ipv4Address.Parse("192.0.2.2");
    private static readonly Ipv4Address Us = Ipv4Address.Parse("192.0.2.1");

    /// <summary>The peer announces itself (an ARP request for us): its entry is resolved, so its SYNs count as legitimate.</summary>
    private static void ResolvePeer(NetworkStack stack, TappedLink device)
    {
        device.Inject(Frames.Ethernet(PeerMac, MacAddress.Broadcast, EtherType.Arp, Frames.Arp(ArpRepr.Request(PeerMac, Peer, Us))));
        device.Take();
        Assert.True(stack.Ipv4.Interface(0)!.Arp!.TryGetState(Peer, out var state, out _) && state != NeighborState.Incomplete);
    }

    /// <summary>A SYN from the resolved peer, from source port <paramref name="port"/>.</summary>
    private static byte[] PeerSyn(ushort port) => SynFrom(PeerMac, Peer, port);

    /// <summary>A SYN from <paramref name="source"/> (link address <paramref name="mac"/>) to us, port 80.</summary>
    private static byte[] SynFrom(MacAddress mac, Ipv4Address source, ushort port)
    {
        var tcp = new TcpRepr { SourcePort = port, DestinationPort = 80, SequenceNumber = new SeqNumber(port * 1000u), Flags = TcpFlags.Syn, Window = 64240, Mss = 1460 };
        var segment = new byte[tcp.HeaderLength];
        tcp.Write(segment, default, source, Us);
        var f = new byte[14 + 20 + segment.Length];
        new EthernetRepr(mac, StackMac, EtherType.Ipv4).Write(f);
        new Ipv4Repr(source, Us, IpProtocol.Tcp, segment.Length).Write(f.AsSpan(14));
        segment.CopyTo(f.AsSpan(34));
        return f;
    }

    /// <summary>Frames 0..count-1: every <paramref name="peerEvery"/>-th a SYN from the peer (0: none), the others spoofed SYNs.</summary>
    private static void Enqueue(TappedLink device, IRandomSource rng, int count, int peerEvery, ref ushort port)
    {
        for (int i = 0; i < count; i++)
        {
            device.Inject(peerEvery > 0 && i % peerEvery == 0
                ? PeerSyn(port++)
                : SynFloodSimulationTests.SpoofedSyn(rng, ipv6: i % 2 == 1, StackMac, 80));
        }
    }

    [Fact]
    public void Behind_its_device_the_stack_sheds_SYNs_from_unresolved_on_link_sources_and_answers_its_neighbours_RFC6583_7()
    {
        var (stack, device, tcp) = Build(synsPerPoll: 64);
        ResolvePeer(stack, device);
        IRandomSource rng = new SeededRandom(7);
        var now = Ready + TimeSpan.FromSeconds(1);
        ushort port = 10_000;
        Enqueue(device, rng, 1_000, peerEvery: 10, ref port);

        // Poll 1: not known to be behind yet, every SYN of the batch is answered; the batch was full, so now it is.
        stack.Poll(now);
        Assert.Equal(256, tcp.Stats.SynCookiesSent);
        Assert.Equal(0, stack.Statistics.Drops(DropReason.TcpSynShed));
        Assert.True(stack.Overloaded);

        // Polls 2 to 4 (256, 256 and the last 232 frames): the 74 SYNs of the resolved peer among them are answered (fewer
        // than 64 per poll), the 670 from spoofed on-link sources are shed without an answer.
        stack.Poll(now);
        stack.Poll(now);
        stack.Poll(now);
        Assert.False(device.InputPending);
        Assert.Equal(256 + 74, tcp.Stats.SynCookiesSent);
        Assert.Equal(670, stack.Statistics.Drops(DropReason.TcpSynShed));
        Assert.False(stack.Overloaded); // drained: the next batch is answered in full

        Enqueue(device, rng, 100, peerEvery: 0, ref port);
        stack.Poll(now);
        Assert.Equal(256 + 74 + 100, tcp.Stats.SynCookiesSent);
        Assert.Equal(670, stack.Statistics.Drops(DropReason.TcpSynShed));
        Assert.Equal(0, tcp.ConnectionCount); // cookies keep no state
    }

    [Fact]
    public void Behind_its_device_the_stack_answers_at_most_its_per_poll_SYN_budget_of_resolved_sources()
    {
        var (stack, device, tcp) = Build(synsPerPoll: 10);
        ResolvePeer(stack, device);
        var now = Ready + TimeSpan.FromSeconds(1);
        IRandomSource rng = new SeededRandom(8);
        ushort port = 10_000;
        Enqueue(device, rng, 1_000, peerEvery: 1, ref port);
        for (int i = 0; i < 4; i++) stack.Poll(now);
        Assert.False(device.InputPending);
        Assert.Equal(256 + 3 * 10, tcp.Stats.SynCookiesSent);
        Assert.Equal(1_000 - 256 - 3 * 10, stack.Statistics.Drops(DropReason.TcpSynShed));
    }

    private static readonly MacAddress Peer2Mac = MacAddress.Parse("02:00:00:00:00:03");
    private static readonly Ipv4Address Peer2 = Ipv4Address.Parse("192.0.2.3");

    /// <summary>
    /// The peer (resolved, and proven: it completed a handshake lately) and a second resolved neighbour that never did;
    /// 1,000 SYNs, every 50th from the peer (20), the others from the second neighbour. Returns the SYN,ACKs to the peer.
    /// </summary>
    private static int FloodFromAResolvedNeighbour(NetworkStack stack, TappedLink device, TcpLayer tcp)
    {
        ResolvePeer(stack, device);
        device.Inject(Frames.Ethernet(Peer2Mac, MacAddress.Broadcast, EtherType.Arp, Frames.Arp(ArpRepr.Request(Peer2Mac, Peer2, Us))));
        device.Take();
        var now = Ready + TimeSpan.FromSeconds(1);
        tcp.NoteHandshakeCompleted(new IpAddress(Peer), now);
        ushort port = 10_000;
        for (int i = 0; i < 1_000; i++) device.Inject(i % 50 == 0 ? PeerSyn(port++) : SynFrom(Peer2Mac, Peer2, port++));
        for (int i = 0; i < 4; i++) stack.Poll(now);
        Assert.False(device.InputPending);
        // What the polls sent (at stack time `now`) reaches the tap once the simulator's clock gets there.
        device.Owner.RunUntil(now + TimeSpan.FromMilliseconds(100));
        return device.Take().Count(f => f.Length >= 34 + 20 && f[12] == 0x08 && f[13] == 0
            && new Ipv4Address(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(f.AsSpan(14 + 16))) == Peer);
    }

    [Fact]
    public void Behind_its_device_a_proven_peer_has_a_SYN_budget_that_other_resolved_sources_cannot_spend_RFC4987_3()
    {
        var (stack, device, tcp) = Build(synsPerPoll: 10);
        int answered = FloodFromAResolvedNeighbour(stack, device, tcp);
        Assert.Equal(20, tcp.Stats.ProvenPeerSyns);
        // Poll 1 answers its 256 (6 proven); polls 2 to 4 answer the 14 proven SYNs and 10 per poll of the other 730.
        Assert.Equal(256 + 14 + 3 * 10, tcp.Stats.SynCookiesSent);
        Assert.Equal(730 - 3 * 10, stack.Statistics.Drops(DropReason.TcpSynShed));
        Assert.Equal(20, answered);
    }

    [Fact]
    public void Without_the_proven_peer_table_the_returning_peer_shares_the_budget_and_loses_SYNs()
    {
        // The control of the test above: with ProvenPeerSlots = 0, the peer's SYNs compete with the flood for 10 per poll.
        var (stack, device, tcp) = Build(synsPerPoll: 10, provenPeerSlots: 0);
        int answered = FloodFromAResolvedNeighbour(stack, device, tcp);
        Assert.Equal(0, tcp.Stats.ProvenPeerSyns);
        Assert.Equal(256 + 3 * 10, tcp.Stats.SynCookiesSent);
        // Poll 1 answers the peer's first 6; after that it takes turns with the flood for 10 per poll (1 in 50 of them).
        Assert.InRange(answered, 6, 19);
    }

    [Fact]
    public void A_backlog_reported_by_the_runtime_makes_the_next_poll_shed()
    {
        var (stack, device, tcp) = Build(synsPerPoll: 10);
        ResolvePeer(stack, device);
        var now = Ready + TimeSpan.FromSeconds(1);
        IRandomSource rng = new SeededRandom(9);
        ushort port = 10_000;
        stack.ReportReceiveBacklog(5_000);
        Assert.True(stack.Overloaded);
        Enqueue(device, rng, 100, peerEvery: 1, ref port);
        stack.Poll(now);
        Assert.Equal(10, tcp.Stats.SynCookiesSent);
        Assert.Equal(90, stack.Statistics.Drops(DropReason.TcpSynShed));
        Assert.False(stack.Overloaded); // the report lasts one poll; this batch was not full
        Enqueue(device, rng, 100, peerEvery: 1, ref port);
        stack.Poll(now);
        Assert.Equal(110, tcp.Stats.SynCookiesSent);
    }

    [Fact]
    public void With_shedding_off_every_SYN_is_answered_however_far_behind()
    {
        var (stack, device, tcp) = Build(synsPerPoll: 0);
        IRandomSource rng = new SeededRandom(10);
        var now = Ready + TimeSpan.FromSeconds(1);
        ushort port = 10_000;
        Enqueue(device, rng, 1_000, peerEvery: 0, ref port);
        for (int i = 0; i < 4; i++) stack.Poll(now);
        Assert.Equal(1_000, tcp.Stats.SynCookiesSent);
        Assert.Equal(0, stack.Statistics.Drops(DropReason.TcpSynShed));
    }
}
