using CsCheck;
using NetStack.Services;
using NetStack.Wire;

namespace NetStack.Tests.Services;

public class Dhcpv4ClientTests
{
    private static readonly MacAddress Mac = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly Ipv4Address ServerId = Ipv4Address.Parse("192.0.2.1");
    private static readonly Ipv4Address Offered = Ipv4Address.Parse("192.0.2.50");
    private static readonly Ipv4Address Mask = Ipv4Address.Parse("255.255.255.0");

    private sealed record Sent(byte[] Payload, Ipv4Address Source, Ipv4Address Destination)
    {
        public DhcpRepr Repr
        {
            get
            {
                Assert.True(DhcpPacket.TryParse(Payload, out var p, out var e), e.ToString());
                return p.ToRepr();
            }
        }
    }

    private sealed class Recorder : IDhcpv4ClientSink
    {
        public List<Sent> Sent { get; } = [];
        public List<(Dhcpv4EventKind Kind, Dhcpv4Lease Lease)> Events { get; } = [];
        public void Send(ReadOnlySpan<byte> payload, Ipv4Address source, Ipv4Address destination) => Sent.Add(new(payload.ToArray(), source, destination));
        public void OnLeaseEvent(Dhcpv4EventKind kind, Dhcpv4Lease lease) => Events.Add((kind, lease));
        public Sent Last => Sent[^1];
    }

    private static (Dhcpv4Client Client, Recorder Sink) NewClient(ulong seed = 1, Dhcpv4ClientOptions? options = null)
    {
        var sink = new Recorder();
        return (new Dhcpv4Client(options ?? new Dhcpv4ClientOptions(Mac), new SeededRandom(seed), sink), sink);
    }

    /// <summary>A server's reply to <paramref name="request"/>, as a scripted simulated server would send it.</summary>
    private static byte[] Reply(DhcpRepr request, DhcpMessageType type, uint lease = 1000, uint? t1 = null, uint? t2 = null,
        Ipv4Address? server = null, uint? xid = null, MacAddress? mac = null)
    {
        var r = new DhcpRepr
        {
            Op = BootpOp.Reply, MessageType = type, TransactionId = xid ?? request.TransactionId, ClientMac = mac ?? request.ClientMac,
            YourAddress = type == DhcpMessageType.Nak ? Ipv4Address.Any : Offered, ServerIdentifier = server ?? ServerId,
            LeaseTime = type == DhcpMessageType.Nak ? null : lease, RenewalTime = t1, RebindingTime = t2,
            SubnetMask = Mask, Routers = [ServerId], DnsServers = [ServerId, Ipv4Address.Parse("192.0.2.2")], InterfaceMtu = 1400,
            DomainName = "example.test"u8.ToArray(),
        };
        var b = new byte[r.BufferLength];
        r.Write(b);
        return b;
    }

    private static Instant At(double seconds) => Instant.FromSeconds(seconds);

    /// <summary>Runs DISCOVER / OFFER / REQUEST / ACK at t = 0 and returns the bound client.</summary>
    private static (Dhcpv4Client Client, Recorder Sink) Bound(uint lease = 1000, uint? t1 = null, uint? t2 = null)
    {
        var (c, s) = NewClient();
        c.Start(At(0));
        c.Receive(Reply(s.Last.Repr, DhcpMessageType.Offer), At(0.1));
        c.Receive(Reply(s.Last.Repr, DhcpMessageType.Ack, lease, t1, t2), At(0.2));
        Assert.Equal(Dhcpv4State.Bound, c.State);
        s.Sent.Clear();
        s.Events.Clear();
        return (c, s);
    }

    [Fact]
    public void Start_broadcasts_a_DISCOVER_from_the_unspecified_address()
    {
        // RFC 2131 §4.1 and table 5.
        var (c, s) = NewClient();
        c.Start(At(0));
        Assert.Equal(Dhcpv4State.Selecting, c.State);
        var d = Assert.Single(s.Sent);
        Assert.Equal(Ipv4Address.Any, d.Source);
        Assert.Equal(Ipv4Address.Broadcast, d.Destination);
        var r = d.Repr;
        Assert.Equal(DhcpMessageType.Discover, r.MessageType);
        Assert.Equal(BootpOp.Request, r.Op);
        Assert.Equal(Mac, r.ClientMac);
        Assert.Equal(Ipv4Address.Any, r.ClientAddress);
        Assert.Null(r.ServerIdentifier);
        Assert.Equal(c.TransactionId, r.TransactionId);
        Assert.Contains(DhcpOptionCode.SubnetMask, r.ParameterRequestList!);
    }

    [Fact]
    public void Discover_is_retransmitted_with_randomized_exponential_backoff_capped_at_64_seconds()
    {
        // RFC 2131 §4.1: 4, 8, 16, 32, 64, 64 ... seconds, each within ±1 s.
        var (c, s) = NewClient(seed: 42);
        c.Start(At(0));
        var now = At(0);
        double[] nominal = [4, 8, 16, 32, 64, 64, 64];
        foreach (double n in nominal)
        {
            var deadline = c.NextDeadline;
            double gap = (deadline - now).TotalSeconds;
            Assert.InRange(gap, n - 1, n + 1);
            int before = s.Sent.Count;
            c.Poll(deadline - TimeSpan.FromMilliseconds(1));
            Assert.Equal(before, s.Sent.Count);
            c.Poll(deadline);
            Assert.Equal(before + 1, s.Sent.Count);
            Assert.Equal(DhcpMessageType.Discover, s.Last.Repr.MessageType);
            now = deadline;
        }
    }

    [Fact]
    public void Backoff_stays_within_one_second_of_nominal_for_any_seed()
    {
        // RFC 2131 §4.1; CsCheck prints the failing seed.
        Gen.ULong.Sample(seed =>
        {
            var (c, _) = NewClient(seed);
            c.Start(At(0));
            var now = At(0);
            foreach (double n in new double[] { 4, 8, 16, 32, 64, 64 })
            {
                var deadline = c.NextDeadline;
                Assert.InRange((deadline - now).TotalSeconds, n - 1, n + 1);
                c.Poll(deadline);
                now = deadline;
            }
        }, iter: 200);
    }

    [Fact]
    public void Jitter_comes_from_the_random_source_so_seeds_replay()
    {
        var (a, _) = NewClient(seed: 7);
        var (b, _) = NewClient(seed: 7);
        var (c, _) = NewClient(seed: 8);
        a.Start(At(0)); b.Start(At(0)); c.Start(At(0));
        Assert.Equal(a.NextDeadline, b.NextDeadline);
        Assert.Equal(a.TransactionId, b.TransactionId);
        Assert.NotEqual(a.TransactionId, c.TransactionId);
    }

    [Fact]
    public void Offer_with_another_transaction_id_or_client_address_is_ignored()
    {
        // RFC 2131 §4.4.1: match xid (and chaddr).
        var (c, s) = NewClient();
        c.Start(At(0));
        var discover = s.Last.Repr;
        c.Receive(Reply(discover, DhcpMessageType.Offer, xid: discover.TransactionId + 1), At(1));
        c.Receive(Reply(discover, DhcpMessageType.Offer, mac: MacAddress.Parse("02:00:00:00:00:99")), At(1));
        c.Receive(new byte[10], At(1));
        Assert.Equal(Dhcpv4State.Selecting, c.State);
        Assert.Single(s.Sent);
        Assert.Equal(2, c.DroppedUnmatched);
        Assert.Equal(1, c.DroppedMalformed);
    }

    [Fact]
    public void First_offer_is_requested_with_server_identifier_and_requested_address()
    {
        // RFC 2131 §4.3.2 SELECTING: server id + requested IP, ciaddr zero, broadcast.
        var (c, s) = NewClient();
        c.Start(At(0));
        var discover = s.Last.Repr;
        c.Receive(Reply(discover, DhcpMessageType.Offer), At(0.5));
        c.Receive(Reply(discover, DhcpMessageType.Offer, server: Ipv4Address.Parse("192.0.2.9")), At(0.6));
        Assert.Equal(Dhcpv4State.Requesting, c.State);
        Assert.Equal(2, s.Sent.Count);
        var req = s.Last;
        Assert.Equal(Ipv4Address.Broadcast, req.Destination);
        Assert.Equal(DhcpMessageType.Request, req.Repr.MessageType);
        Assert.Equal(ServerId, req.Repr.ServerIdentifier);
        Assert.Equal(Offered, req.Repr.RequestedAddress);
        Assert.Equal(Ipv4Address.Any, req.Repr.ClientAddress);
        Assert.Equal(discover.TransactionId, req.Repr.TransactionId);
    }

    [Fact]
    public void Ack_binds_a_lease_with_the_offered_configuration()
    {
        var (c, s) = NewClient();
        c.Start(At(0));
        c.Receive(Reply(s.Last.Repr, DhcpMessageType.Offer), At(0.1));
        c.Receive(Reply(s.Last.Repr, DhcpMessageType.Ack, lease: 1000), At(0.2));
        Assert.Equal(Dhcpv4State.Bound, c.State);
        var (kind, lease) = Assert.Single(s.Events);
        Assert.Equal(Dhcpv4EventKind.LeaseAcquired, kind);
        Assert.Equal(Offered, lease.Address);
        Assert.Equal(24, lease.PrefixLength);
        Assert.Equal([ServerId], lease.Routers);
        Assert.Equal(2, lease.DnsServers.Count);
        Assert.Equal((ushort)1400, lease.Mtu);
        Assert.Equal("example.test", lease.DomainName);
        Assert.Equal(ServerId, lease.ServerIdentifier);
        // RFC 2131 §4.4.5: T1 = 0.5 lease, T2 = 0.875 lease by default.
        Assert.Equal(TimeSpan.FromSeconds(500), lease.RenewalTime);
        Assert.Equal(TimeSpan.FromSeconds(875), lease.RebindingTime);
        Assert.Equal(lease.RenewAt, c.NextDeadline);
    }

    [Fact]
    public void Ack_from_a_server_other_than_the_selected_one_is_ignored()
    {
        var (c, s) = NewClient();
        c.Start(At(0));
        c.Receive(Reply(s.Last.Repr, DhcpMessageType.Offer), At(0.1));
        c.Receive(Reply(s.Last.Repr, DhcpMessageType.Ack, server: Ipv4Address.Parse("192.0.2.9")), At(0.2));
        Assert.Equal(Dhcpv4State.Requesting, c.State);
        Assert.Empty(s.Events);
    }

    [Fact]
    public void Request_is_retransmitted_then_abandoned_for_a_new_discovery()
    {
        var (c, s) = NewClient(options: new Dhcpv4ClientOptions(Mac) { MaxRequestTransmissions = 3 });
        c.Start(At(0));
        c.Receive(Reply(s.Last.Repr, DhcpMessageType.Offer), At(0.1));
        uint xid = c.TransactionId;
        for (int i = 0; i < 2; i++)
        {
            c.Poll(c.NextDeadline);
            Assert.Equal(DhcpMessageType.Request, s.Last.Repr.MessageType);
        }
        Assert.Equal(3, s.Sent.Count(x => x.Repr.MessageType == DhcpMessageType.Request));
        c.Poll(c.NextDeadline);
        Assert.Equal(Dhcpv4State.Selecting, c.State);
        Assert.Equal(DhcpMessageType.Discover, s.Last.Repr.MessageType);
        Assert.NotEqual(xid, c.TransactionId);
    }

    [Fact]
    public void Nak_while_requesting_restarts_discovery()
    {
        // RFC 2131 §4.4.1: on DHCPNAK the client restarts the configuration process.
        var (c, s) = NewClient();
        c.Start(At(0));
        c.Receive(Reply(s.Last.Repr, DhcpMessageType.Offer), At(0.1));
        c.Receive(Reply(s.Last.Repr, DhcpMessageType.Nak), At(0.2));
        Assert.Equal(Dhcpv4State.Selecting, c.State);
        Assert.Equal(DhcpMessageType.Discover, s.Last.Repr.MessageType);
        Assert.Empty(s.Events);
        Assert.Null(c.Lease);
    }

    [Fact]
    public void At_T1_a_REQUEST_is_unicast_to_the_server_with_ciaddr_set()
    {
        // RFC 2131 §4.4.5 and §4.3.2 RENEWING: unicast, ciaddr = our address, no server id or requested IP.
        var (c, s) = Bound(lease: 1000);
        var t1 = c.Lease!.RenewAt;
        c.Poll(t1 - TimeSpan.FromMilliseconds(1));
        Assert.Empty(s.Sent);
        c.Poll(t1);
        Assert.Equal(Dhcpv4State.Renewing, c.State);
        var req = Assert.Single(s.Sent);
        Assert.Equal(ServerId, req.Destination);
        Assert.Equal(Offered, req.Source);
        Assert.Equal(Offered, req.Repr.ClientAddress);
        Assert.Null(req.Repr.ServerIdentifier);
        Assert.Null(req.Repr.RequestedAddress);
    }

    [Fact]
    public void Renewing_retransmits_at_half_the_time_to_T2_but_not_sooner_than_60_seconds()
    {
        // RFC 2131 §4.4.5.
        var (c, s) = Bound(lease: 4000);   // T1 2000 s, T2 3500 s
        var t1 = c.Lease!.RenewAt;
        c.Poll(t1);
        Assert.Equal(t1 + TimeSpan.FromSeconds(750), c.NextDeadline);
        var now = c.NextDeadline;
        c.Poll(now);
        Assert.Equal(2, s.Sent.Count);
        Assert.Equal(now + TimeSpan.FromSeconds(375), c.NextDeadline);
        // Near T2 the 60 s floor applies but never runs past T2.
        c.Poll(c.Lease.RebindAt - TimeSpan.FromSeconds(30));
        Assert.Equal(c.Lease.RebindAt, c.NextDeadline);
    }

    [Fact]
    public void Ack_while_renewing_extends_the_lease()
    {
        var (c, s) = Bound(lease: 1000);
        var t1 = c.Lease!.RenewAt;
        c.Poll(t1);
        c.Receive(Reply(s.Last.Repr, DhcpMessageType.Ack, lease: 2000), t1 + TimeSpan.FromSeconds(1));
        Assert.Equal(Dhcpv4State.Bound, c.State);
        var (kind, lease) = Assert.Single(s.Events);
        Assert.Equal(Dhcpv4EventKind.LeaseRenewed, kind);
        Assert.Equal(TimeSpan.FromSeconds(2000), lease.LeaseTime);
        Assert.Equal(t1 + TimeSpan.FromSeconds(1000), c.NextDeadline);
    }

    [Fact]
    public void At_T2_a_REQUEST_is_broadcast()
    {
        // RFC 2131 §4.4.5 REBINDING.
        var (c, s) = Bound(lease: 1000, t1: 400, t2: 700);
        Assert.Equal(TimeSpan.FromSeconds(400), c.Lease!.RenewalTime);
        c.Poll(c.Lease.RenewAt);
        c.Poll(c.Lease.RebindAt);
        Assert.Equal(Dhcpv4State.Rebinding, c.State);
        var req = s.Last;
        Assert.Equal(Ipv4Address.Broadcast, req.Destination);
        Assert.Equal(Offered, req.Repr.ClientAddress);
        c.Receive(Reply(req.Repr, DhcpMessageType.Ack, lease: 1000), c.Lease.RebindAt + TimeSpan.FromSeconds(1));
        Assert.Equal(Dhcpv4State.Bound, c.State);
        Assert.Equal(Dhcpv4EventKind.LeaseRenewed, s.Events[^1].Kind);
    }

    [Fact]
    public void Lease_expiry_removes_the_address_and_restarts_discovery()
    {
        // RFC 2131 §4.4.5: at expiry, stop using the address and go back to INIT.
        var (c, s) = Bound(lease: 1000);
        var lease = c.Lease!;
        c.Poll(lease.RenewAt);
        c.Poll(lease.RebindAt);
        c.Poll(lease.ExpiresAt - TimeSpan.FromMilliseconds(1));
        Assert.Equal(Dhcpv4State.Rebinding, c.State);
        c.Poll(lease.ExpiresAt);
        Assert.Null(c.Lease);
        Assert.Equal(Dhcpv4EventKind.LeaseLost, s.Events[^1].Kind);
        Assert.Equal(Dhcpv4State.Selecting, c.State);
        Assert.Equal(DhcpMessageType.Discover, s.Last.Repr.MessageType);
    }

    [Fact]
    public void A_long_pause_crosses_T1_T2_and_expiry_in_one_poll()
    {
        var (c, s) = Bound(lease: 1000);
        c.Poll(At(5000));
        Assert.Null(c.Lease);
        Assert.Equal(Dhcpv4State.Selecting, c.State);
        Assert.Equal(Dhcpv4EventKind.LeaseLost, Assert.Single(s.Events).Kind);
    }

    [Fact]
    public void Nak_while_renewing_loses_the_lease()
    {
        var (c, s) = Bound();
        c.Poll(c.Lease!.RenewAt);
        c.Receive(Reply(s.Last.Repr, DhcpMessageType.Nak), c.NextDeadline - TimeSpan.FromSeconds(1));
        Assert.Null(c.Lease);
        Assert.Equal(Dhcpv4EventKind.LeaseLost, Assert.Single(s.Events).Kind);
        Assert.Equal(Dhcpv4State.Selecting, c.State);
    }

    [Fact]
    public void Decline_sends_DECLINE_drops_the_lease_and_waits_ten_seconds()
    {
        // RFC 2131 §3.1 step 5 and table 5.
        var (c, s) = Bound();
        c.Decline(At(1));
        var d = Assert.Single(s.Sent);
        Assert.Equal(DhcpMessageType.Decline, d.Repr.MessageType);
        Assert.Equal(Offered, d.Repr.RequestedAddress);
        Assert.Equal(ServerId, d.Repr.ServerIdentifier);
        Assert.Equal(Ipv4Address.Any, d.Repr.ClientAddress);
        Assert.Equal(Dhcpv4EventKind.LeaseLost, Assert.Single(s.Events).Kind);
        Assert.Equal(Dhcpv4State.Init, c.State);
        Assert.Equal(At(11), c.NextDeadline);
        c.Poll(At(11));
        Assert.Equal(DhcpMessageType.Discover, s.Last.Repr.MessageType);
    }

    [Fact]
    public void Release_unicasts_RELEASE_to_the_server_and_stops()
    {
        // RFC 2131 §4.4.6.
        var (c, s) = Bound();
        c.Release(At(2));
        var r = Assert.Single(s.Sent);
        Assert.Equal(DhcpMessageType.Release, r.Repr.MessageType);
        Assert.Equal(ServerId, r.Destination);
        Assert.Equal(Offered, r.Repr.ClientAddress);
        Assert.Equal(ServerId, r.Repr.ServerIdentifier);
        Assert.Equal(Dhcpv4State.Stopped, c.State);
        Assert.Equal(Instant.MaxValue, c.NextDeadline);
        Assert.Equal(Dhcpv4EventKind.LeaseLost, Assert.Single(s.Events).Kind);
    }

    [Fact]
    public void Infinite_lease_sets_no_timers()
    {
        // RFC 2131 §3.3: 0xFFFFFFFF is infinity.
        var (c, _) = Bound(lease: uint.MaxValue);
        Assert.True(c.Lease!.IsInfinite);
        Assert.Equal(Instant.MaxValue, c.NextDeadline);
    }

    [Fact]
    public void Reboot_broadcasts_a_REQUEST_for_the_remembered_address_and_binds_on_ACK()
    {
        // RFC 2131 §4.3.2 INIT-REBOOT: requested IP, no server id, ciaddr zero.
        var (c, s) = NewClient();
        c.StartReboot(Offered, At(0));
        Assert.Equal(Dhcpv4State.Rebooting, c.State);
        var req = Assert.Single(s.Sent);
        Assert.Equal(Ipv4Address.Broadcast, req.Destination);
        Assert.Equal(DhcpMessageType.Request, req.Repr.MessageType);
        Assert.Equal(Offered, req.Repr.RequestedAddress);
        Assert.Null(req.Repr.ServerIdentifier);
        Assert.Equal(Ipv4Address.Any, req.Repr.ClientAddress);
        c.Receive(Reply(req.Repr, DhcpMessageType.Ack), At(0.1));
        Assert.Equal(Dhcpv4State.Bound, c.State);
        Assert.Equal(Dhcpv4EventKind.LeaseAcquired, Assert.Single(s.Events).Kind);
    }

    [Fact]
    public void Reboot_falls_back_to_discovery_on_NAK_or_silence()
    {
        // RFC 2131 §3.2 step 3 and §4.4.2.
        var (c, s) = NewClient();
        c.StartReboot(Offered, At(0));
        c.Receive(Reply(s.Last.Repr, DhcpMessageType.Nak), At(0.1));
        Assert.Equal(Dhcpv4State.Selecting, c.State);

        var (d, t) = NewClient(options: new Dhcpv4ClientOptions(Mac) { MaxRequestTransmissions = 2 });
        d.StartReboot(Offered, At(0));
        d.Poll(d.NextDeadline);
        Assert.Equal(Dhcpv4State.Rebooting, d.State);
        d.Poll(d.NextDeadline);
        Assert.Equal(Dhcpv4State.Selecting, d.State);
        Assert.Equal(DhcpMessageType.Discover, t.Last.Repr.MessageType);
    }

    [Fact]
    public void Ack_without_a_lease_time_is_ignored()
    {
        // RFC 2131 §4.3.1 table 3: lease time MUST be in a DHCPACK to a DHCPREQUEST.
        var (c, s) = NewClient();
        c.Start(At(0));
        c.Receive(Reply(s.Last.Repr, DhcpMessageType.Offer), At(0.1));
        var ack = new DhcpRepr { Op = BootpOp.Reply, MessageType = DhcpMessageType.Ack, TransactionId = c.TransactionId, ClientMac = Mac,
            YourAddress = Offered, ServerIdentifier = ServerId };
        var b = new byte[ack.BufferLength];
        ack.Write(b);
        c.Receive(b, At(0.2));
        Assert.Equal(Dhcpv4State.Requesting, c.State);
        Assert.Empty(s.Events);
    }

    [Theory]
    [InlineData("255.255.255.0", 24)]
    [InlineData("255.255.255.255", 32)]
    [InlineData("0.0.0.0", 0)]
    [InlineData("255.255.240.0", 20)]
    public void Prefix_length_comes_from_the_subnet_mask(string mask, int prefix) =>
        Assert.Equal(prefix, Dhcpv4Client.PrefixLengthOf(Ipv4Address.Parse(mask)));
}
