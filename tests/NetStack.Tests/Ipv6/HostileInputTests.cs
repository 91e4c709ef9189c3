using CsCheck;
using NetStack.Link;
using NetStack.Network;
using NetStack.Tests.Ipv6.Support;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.Ipv6;

/// <summary>Hostile input is a counted drop, never an exception (DESIGN principle 5).</summary>
public class HostileInputTests
{
    private static readonly Ipv6Address Us = Ipv6Address.Parse("2001:db8::b");

    private static (SimLan Net, NetworkStack S, NetworkInterface I) Host()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var s = net.AddStack(77);
        var i = net.Attach(s, hub, 1, new InterfaceConfig { EnableIpv4 = false, Forwarding = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::b/64")] });
        net.Run(TimeSpan.FromSeconds(3));
        return (net, s, i);
    }

    [Fact]
    public void Random_extension_header_chains_to_us_never_throw()
    {
        var (net, s, i) = Host();
        byte[] nexts = [0, 43, 44, 60, 58, 17, 6, 59, 51, 50, 253];
        Gen.Select(Gen.Byte.Array[0, 200], Gen.Int[0, nexts.Length - 1], Gen.Bool).Sample((payload, nh, multicast) =>
        {
            var dst = multicast ? Ipv6Address.AllNodes : Us;
            var mac = multicast ? MacAddress.ForIpv6Multicast(dst) : i.HardwareAddress;
            s.Receive(i, V6Frames.Ip(mac, Ipv6Address.Parse("2001:db8::a"), dst, (IpProtocol)nexts[nh], payload), net.Now);
            s.Poll(net.Now);
        }, threads: 1); // one stack, fed one frame at a time: a stack is single-threaded by contract
    }

    [Fact]
    public void Bit_flipped_captured_packets_never_throw()
    {
        var frames = new[] { "suri-ipv6-malformed-fragments-1.pcap", "zeek-icmp6-nd-options.pcap", "tcpdump-icmpv6.pcap", "suri-ipv6-covert-dstopts.pcap" }
            .SelectMany(ClassicPcap.Read).ToArray();
        var (net, s, i) = Host();
        Gen.Select(Gen.Int[0, frames.Length - 1], Gen.Int[14, 2000], Gen.Byte).Sample((k, at, value) =>
        {
            var f = (byte[])frames[k].Clone();
            if (at < f.Length) f[at] ^= (byte)(value | 1);
            // Address the frame to our MAC so that it is processed.
            i.HardwareAddress.Write(f);
            s.Receive(i, f, net.Now);
            s.Poll(net.Now);
        }, threads: 1); // one stack, fed one frame at a time: a stack is single-threaded by contract
    }
}
