using System.Net;
using System.Net.Sockets;
using NetStack.Interop.Tests.Support;
using NetStack.Services;
using NetStack.Tap;

namespace NetStack.Interop.Tests.Api;

/// <summary>Our stub resolver against dnsmasq (started by the test in the namespace, serving a test zone, no upstream).</summary>
public sealed class DnsKernelTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static IpStackOptions Options(TimeSpan? timeout = null) => new()
    {
        DnsServers = [KernelPeer.KernelV4],
        DnsTimeout = timeout ?? TimeSpan.FromSeconds(1),
        DnsAttempts = 1,
    };

    [SkippableFact]
    public async Task Dnsmasq_answers_our_A_and_AAAA_queries()
    {
        // RFC 1035 (A), RFC 3596 (AAAA).
        Root.Require();
        await using var peer = await KernelPeer.StartAsync(Options());
        await Dnsmasq.StartAsync(peer, "192.0.2.1");

        var addresses = await peer.Stack.ResolveAsync("www.example.test").WaitAsync(Wait);

        Assert.Equal(["198.51.100.10", "2001:db8::10"], addresses.Select(a => a.ToString()).Order());
    }

    [SkippableTheory]
    [InlineData("198.51.100.10")]
    [InlineData("2001:db8::10")]
    public async Task Dnsmasq_answers_our_PTR_queries(string address)
    {
        // RFC 1035 §3.5 (in-addr.arpa), RFC 3596 §2.5 (ip6.arpa).
        Root.Require();
        await using var peer = await KernelPeer.StartAsync(Options());
        await Dnsmasq.StartAsync(peer, "192.0.2.1");

        var name = await peer.Stack.ReverseAsync(IPAddress.Parse(address)).WaitAsync(Wait);

        Assert.Equal("www.example.test", name);
    }

    [SkippableFact]
    public async Task Name_dnsmasq_does_not_know_fails_with_HostNotFound()
    {
        Root.Require();
        await using var peer = await KernelPeer.StartAsync(Options());
        await Dnsmasq.StartAsync(peer, "192.0.2.1");

        var e = await Assert.ThrowsAsync<DnsResolutionException>(() => peer.Stack.ResolveAsync("nothere.example.test").WaitAsync(Wait));

        Assert.Equal(SocketError.HostNotFound, e.SocketErrorCode);
        Assert.Equal(DnsQueryStatus.NameError, e.Status);
    }

    [SkippableFact]
    public async Task Unresponsive_server_fails_with_TryAgain_within_the_configured_timeout()
    {
        // No dnsmasq: the kernel answers port unreachable, which a stub resolver waits out (RFC 1035 §4.2.1 retransmission).
        Root.Require();
        await using var peer = await KernelPeer.StartAsync(Options(TimeSpan.FromMilliseconds(500)));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<DnsResolutionException>(() => peer.Stack.ResolveAsync("www.example.test").WaitAsync(Wait));

        Assert.Equal(SocketError.TryAgain, e.SocketErrorCode);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(3));
    }
}
