using System.Net;
using System.Net.Sockets;
using NetStack.Services;
using NetStack.Tap;
using NetStack.Tests.Api.Support;
using NetStack.Wire;

namespace NetStack.Tests.Api;

/// <summary>The stub resolver of <see cref="IpStack"/> against a test DNS server on the peer stack.</summary>
public sealed class DnsApiTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static readonly Dictionary<string, IPAddress[]> Zone = new()
    {
        ["www.example.test"] = [IPAddress.Parse("198.51.100.10"), IPAddress.Parse("2001:db8::10")],
        ["v4only.example.test"] = [IPAddress.Parse("198.51.100.11")],
    };

    private static readonly Dictionary<string, string> Pointers = new()
    {
        ["10.100.51.198.in-addr.arpa"] = "www.example.test",
    };

    private static Task<StackPair> StartAsync(TimeSpan? timeout = null, params string[] servers) =>
        StackPair.StartAsync(optionsA: new IpStackOptions
        {
            DnsServers = (servers.Length == 0 ? ["192.0.2.2"] : servers).Select(IPAddress.Parse).ToArray(),
            DnsTimeout = timeout ?? TimeSpan.FromSeconds(2),
            DnsAttempts = 1,
        });

    [Fact]
    public async Task Name_resolves_to_its_A_and_AAAA_addresses()
    {
        await using var net = await StartAsync();
        await using var server = await TestDnsServer.StartAsync(net.B, Zone, Pointers);

        var addresses = await net.A.GetHostAddressesAsync("www.example.test").WaitAsync(Wait);

        Assert.Equal(
            new[] { IPAddress.Parse("198.51.100.10"), IPAddress.Parse("2001:db8::10") }.OrderBy(a => a.ToString()),
            addresses.OrderBy(a => a.ToString()));
    }

    [Fact]
    public async Task Addresses_the_stack_can_reach_come_first()
    {
        // The IPv4-only stack has a source for 198.51.100.10 only through... no route: both unreachable, IPv6 first (RFC 6724 spirit).
        await using var net = await StartAsync();
        await using var server = await TestDnsServer.StartAsync(net.B, Zone, Pointers);

        var addresses = await net.A.GetHostAddressesAsync("www.example.test", AddressFamily.InterNetwork).WaitAsync(Wait);

        Assert.Equal([IPAddress.Parse("198.51.100.10")], addresses);
    }

    [Fact]
    public async Task Name_that_does_not_exist_fails_with_HostNotFound()
    {
        // RFC 1035 §4.1.1 RCODE 3, surfaced like Dns.GetHostAddressesAsync does.
        await using var net = await StartAsync();
        await using var server = await TestDnsServer.StartAsync(net.B, Zone, Pointers);

        var e = await Assert.ThrowsAsync<DnsResolutionException>(() => net.A.ResolveAsync("nothere.example.test").WaitAsync(Wait));

        Assert.Equal(SocketError.HostNotFound, e.SocketErrorCode);
        Assert.Equal(DnsQueryStatus.NameError, e.Status);
        Assert.Contains("nothere.example.test", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Name_without_records_of_the_family_asked_fails_with_NoData()
    {
        // RFC 2308 §2.2: NODATA.
        await using var net = await StartAsync();
        await using var server = await TestDnsServer.StartAsync(net.B, Zone, Pointers);

        var e = await Assert.ThrowsAsync<DnsResolutionException>(() =>
            net.A.GetHostAddressesAsync("v4only.example.test", AddressFamily.InterNetworkV6).WaitAsync(Wait));

        Assert.Equal(SocketError.NoData, e.SocketErrorCode);
    }

    [Fact]
    public async Task Unresponsive_server_fails_with_TryAgain_after_the_configured_timeout()
    {
        await using var net = await StartAsync(TimeSpan.FromMilliseconds(300));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<DnsResolutionException>(() => net.A.ResolveAsync("www.example.test").WaitAsync(Wait));

        Assert.Equal(SocketError.TryAgain, e.SocketErrorCode);
        Assert.Equal(DnsQueryStatus.Timeout, e.Status);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(280), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Second_server_answers_when_the_first_is_silent()
    {
        await using var net = await StartAsync(TimeSpan.FromSeconds(1), "192.0.2.99", "192.0.2.2");
        await using var server = await TestDnsServer.StartAsync(net.B, Zone, Pointers);

        var addresses = await net.A.GetHostAddressesAsync("v4only.example.test", AddressFamily.InterNetwork).WaitAsync(Wait);

        Assert.Equal([IPAddress.Parse("198.51.100.11")], addresses);
    }

    [Fact]
    public async Task Reverse_lookup_returns_the_PTR_name()
    {
        // RFC 1035 §3.5: in-addr.arpa.
        await using var net = await StartAsync();
        await using var server = await TestDnsServer.StartAsync(net.B, Zone, Pointers);

        var name = await net.A.ReverseAsync(IPAddress.Parse("198.51.100.10")).WaitAsync(Wait);

        Assert.Equal("www.example.test", name);
    }

    [Fact]
    public async Task Repeated_lookup_is_answered_from_the_cache_within_the_ttl()
    {
        await using var net = await StartAsync();
        await using var server = await TestDnsServer.StartAsync(net.B, Zone, Pointers);

        await net.A.GetHostAddressesAsync("v4only.example.test", AddressFamily.InterNetwork).WaitAsync(Wait);
        int after = server.Queries;
        await net.A.GetHostAddressesAsync("v4only.example.test", AddressFamily.InterNetwork).WaitAsync(Wait);

        Assert.Equal(1, after);
        Assert.Equal(1, server.Queries);
    }

    [Fact]
    public async Task Address_literal_is_returned_without_a_query()
    {
        await using var net = await StartAsync();

        var addresses = await net.A.ResolveAsync("2001:db8::5").WaitAsync(Wait);

        Assert.Equal([IPAddress.Parse("2001:db8::5")], addresses);
    }

    [Fact]
    public async Task Cancelled_lookup_ends_with_OperationCanceledException()
    {
        await using var net = await StartAsync(TimeSpan.FromSeconds(5));
        using var cts = new CancellationTokenSource(100);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => net.A.ResolveAsync("www.example.test", cts.Token).WaitAsync(Wait));
    }
}
