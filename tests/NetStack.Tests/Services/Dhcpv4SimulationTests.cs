using CsCheck;
using NetStack.Services;
using NetStack.Wire;

namespace NetStack.Tests.Services;

/// <summary>The client against a small scripted server over a lossy link, in virtual time.</summary>
public class Dhcpv4SimulationTests
{
    private static readonly MacAddress Mac = MacAddress.Parse("02:00:00:00:00:02");
    private static readonly Ipv4Address ServerId = Ipv4Address.Parse("198.51.100.1");
    private static readonly Ipv4Address Pool = Ipv4Address.Parse("198.51.100.20");

    /// <summary>Answers DISCOVER with OFFER and REQUEST with ACK (or NAK for a foreign address); drops by seed.</summary>
    private sealed class Link : IDhcpv4ClientSink
    {
        private readonly IRandomSource _loss;
        private readonly double _lossRate;
        public List<byte[]> ToClient { get; } = [];
        public List<Dhcpv4EventKind> Events { get; } = [];
        public int ServerReceived { get; private set; }

        public Link(IRandomSource loss, double lossRate) { _loss = loss; _lossRate = lossRate; }

        public void OnLeaseEvent(Dhcpv4EventKind kind, Dhcpv4Lease lease)
        {
            Assert.Equal(Pool, lease.Address);
            Events.Add(kind);
        }

        public void Send(ReadOnlySpan<byte> payload, Ipv4Address source, Ipv4Address destination)
        {
            if (_loss.NextDouble() < _lossRate) return;
            ServerReceived++;
            Assert.True(DhcpPacket.TryParse(payload, out var p, out _));
            DhcpMessageType reply;
            switch (p.MessageType)
            {
                case DhcpMessageType.Discover: reply = DhcpMessageType.Offer; break;
                case DhcpMessageType.Request:
                    var wanted = p.RequestedAddress ?? p.ClientAddress;
                    reply = wanted == Pool ? DhcpMessageType.Ack : DhcpMessageType.Nak;
                    break;
                default: return;
            }
            if (_loss.NextDouble() < _lossRate) return;
            var r = new DhcpRepr
            {
                Op = BootpOp.Reply, MessageType = reply, TransactionId = p.TransactionId, ClientMac = p.ClientMac,
                YourAddress = reply == DhcpMessageType.Nak ? Ipv4Address.Any : Pool, ServerIdentifier = ServerId,
                LeaseTime = reply == DhcpMessageType.Nak ? null : 120, SubnetMask = Ipv4Address.Parse("255.255.255.0"),
            };
            var b = new byte[r.BufferLength];
            r.Write(b);
            ToClient.Add(b);
        }
    }

    private static void Run(Dhcpv4Client client, Link link, Instant end)
    {
        var now = Instant.Zero;
        client.Start(now);
        for (int steps = 0; steps < 100_000; steps++)
        {
            while (link.ToClient.Count > 0)
            {
                var m = link.ToClient[0];
                link.ToClient.RemoveAt(0);
                client.Receive(m, now);
            }
            var next = client.NextDeadline;
            if (next > end) return;
            now = Instant.Max(now, next);
            client.Poll(now);
        }
        Assert.Fail("simulation did not settle");
    }

    [Fact]
    public void Without_loss_one_lease_is_renewed_at_every_T1_for_a_day()
    {
        var link = new Link(new SeededRandom(0), 0);
        var client = new Dhcpv4Client(new Dhcpv4ClientOptions(Mac), new SeededRandom(1), link);
        Run(client, link, Instant.FromSeconds(86_400));
        Assert.Equal(Dhcpv4EventKind.LeaseAcquired, link.Events[0]);
        Assert.DoesNotContain(Dhcpv4EventKind.LeaseLost, link.Events);
        // Lease 120 s, T1 60 s: one renewal a minute.
        Assert.InRange(link.Events.Count(e => e == Dhcpv4EventKind.LeaseRenewed), 1438, 1440);
        Assert.Equal(Dhcpv4State.Bound, client.State);
    }

    [Fact]
    public void Under_loss_lease_events_stay_well_formed_and_the_client_recovers()
    {
        Gen.Select(Gen.ULong, Gen.Double[0.05, 0.5]).Sample((seed, lossRate) =>
        {
            var link = new Link(new SeededRandom(seed ^ 0x5555), lossRate);
            var client = new Dhcpv4Client(new Dhcpv4ClientOptions(Mac), new SeededRandom(seed), link);
            Run(client, link, Instant.FromSeconds(3_600));
            bool bound = false;
            foreach (var e in link.Events)
            {
                // Acquired only when unbound; Renewed and Lost only when bound.
                Assert.Equal(e != Dhcpv4EventKind.LeaseAcquired, bound);
                bound = e != Dhcpv4EventKind.LeaseLost;
            }
            Assert.Equal(bound, client.Lease is not null);
            Assert.Contains(Dhcpv4EventKind.LeaseAcquired, link.Events);
        }, iter: 50);
    }
}
