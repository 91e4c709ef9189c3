using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Flood;

/// <summary>The proven-peer table (<see cref="TcpProvenPeers"/>): addresses that completed a handshake lately.</summary>
public class TcpProvenPeersTests
{
    [Fact]
    public void An_address_is_proven_for_its_lifetime_and_no_other_address_is()
    {
        var table = new TcpProvenPeers(64, TimeSpan.FromMinutes(10), key: 0x1234_5678_9abc_def0UL);
        var t0 = Instant.FromSeconds(100);
        var v4 = new IpAddress(Ipv4Address.Parse("192.0.2.2"));
        var v6 = new IpAddress(Ipv6Address.Parse("2001:db8:1::2"));
        Assert.False(table.Contains(v4, t0));
        table.Add(v4, t0);
        table.Add(v6, t0);
        Assert.True(table.Contains(v4, t0 + TimeSpan.FromMinutes(10)));
        Assert.True(table.Contains(v6, t0 + TimeSpan.FromMinutes(5)));
        Assert.False(table.Contains(v4, t0 + TimeSpan.FromMinutes(10) + TimeSpan.FromMilliseconds(1)));
        // The IPv4 address's bits as an IPv6 address, and its neighbours, are other addresses.
        Assert.False(table.Contains(new IpAddress(new Ipv6Address(0, 0xC000_0202UL)), t0));
        Assert.False(table.Contains(new IpAddress(Ipv4Address.Parse("192.0.2.3")), t0));
        // A later handshake renews the proof.
        table.Add(v4, t0 + TimeSpan.FromMinutes(9));
        Assert.True(table.Contains(v4, t0 + TimeSpan.FromMinutes(15)));
    }

    [Fact]
    public void The_table_is_bounded_and_keeps_most_of_what_fits()
    {
        // 64 slots, 32 addresses: most keep a slot of their own (direct-mapped, so a few may collide); 10,000 more
        // addresses leave it at 64 slots, the newest winning.
        var table = new TcpProvenPeers(64, TimeSpan.FromMinutes(10), key: 42);
        var now = Instant.FromSeconds(1);
        for (uint i = 0; i < 32; i++) table.Add(new IpAddress(new Ipv4Address(0xC6336400u + i)), now);
        int kept = 0;
        for (uint i = 0; i < 32; i++) if (table.Contains(new IpAddress(new Ipv4Address(0xC6336400u + i)), now)) kept++;
        Assert.InRange(kept, 20, 32);
        for (uint i = 0; i < 10_000; i++) table.Add(new IpAddress(new Ipv6Address(0x2001_0db8_0001_0000UL, i)), now);
        var last = new IpAddress(new Ipv6Address(0x2001_0db8_0001_0000UL, 9_999));
        Assert.True(table.Contains(last, now));
    }
}
