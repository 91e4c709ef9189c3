using NetStack.Wire;
using static NetStack.Tests.Replay.FieldMask;

namespace NetStack.Tests.Replay;

/// <summary>
/// Our stack against the Linux kernel: the request frames of each golden capture (recorded from the kernel by
/// scripts/record-golden.sh, see pcaps/golden/README.md) are replayed into a stack configured as the kernel was,
/// and what we send must equal what the kernel sent, field by field, except for the fields each case masks
/// (listed at the call: each is a free choice of the implementation, with the RFC rule in <see cref="FieldMask"/>).
/// Timestamps must agree within <see cref="KernelReplay.TimeTolerance"/>.
/// </summary>
public class KernelGoldenTests
{
    private const ulong Seed = 1;
    private static readonly FieldMask[] SynAckChoices = [TcpInitialSequenceNumber, TcpSynWindow, TcpSynOptions];

    private static void Check(string golden, FieldMask[] masks, IpAddress? tcpListener = null)
    {
        var outcome = KernelReplay.Run(golden, tcpListener, Seed);
        KernelReplay.AssertSameAsKernel(outcome, golden, Seed, masks);
    }

    [Fact]
    public void ARP_request_for_our_address_gets_the_kernels_reply_RFC826() =>
        Check("kernel-arp.pcap", []);

    [Fact]
    public void Echo_request_from_an_unresolved_neighbour_is_answered_after_ARP_resolution_RFC792_RFC1122_2_3_2_2() =>
        Check("kernel-icmp-echo.pcap", [Ipv4Identification]);

    [Fact]
    public void Fragmented_3000_byte_echo_is_reassembled_and_answered_in_the_kernels_fragments_RFC791() =>
        Check("kernel-icmp-echo-frag.pcap", [Ipv4Identification]);

    [Fact]
    public void UDP_to_a_closed_port_gets_the_kernels_port_unreachable_RFC1122_4_1_3_1() =>
        Check("kernel-udp-closed.pcap", [Ipv4Identification]);

    [Fact]
    public void Port_unreachable_for_a_long_datagram_quotes_up_to_576_bytes_as_the_kernel_RFC1812_4_3_2_3() =>
        Check("kernel-udp-closed-big.pcap", [Ipv4Identification]);

    [Fact]
    public void SYN_to_a_closed_port_gets_the_kernels_RST_RFC9293_3_10_7_1() =>
        Check("kernel-tcp-closed.pcap", [Ipv4Identification]);

    [Fact]
    public void SYN_to_a_listener_gets_the_kernels_SYN_ACK_and_an_in_window_RST_ends_it_silently_RFC9293_3_10_7_4() =>
        Check("kernel-tcp-open.pcap", [Ipv4Identification, .. SynAckChoices], KernelReplay.KernelV4);

    [Fact]
    public void Neighbor_solicitation_for_our_address_gets_the_kernels_advertisement_RFC4861_7_2_4() =>
        Check("kernel-ndp-ns.pcap", []);

    [Fact]
    public void ICMPv6_echo_from_an_unresolved_neighbour_is_answered_after_neighbour_discovery_RFC4443_4_2_RFC4861_7_2_2() =>
        Check("kernel-icmpv6-echo.pcap", [Ipv6FlowLabel]);

    [Fact]
    public void Fragmented_3000_byte_ICMPv6_echo_is_reassembled_and_answered_in_the_kernels_fragments_RFC8200_4_5() =>
        Check("kernel-icmpv6-echo-frag.pcap", [Ipv6FlowLabel, Ipv6FragmentIdentification]);

    [Fact]
    public void UDP_over_IPv6_to_a_closed_port_gets_the_kernels_port_unreachable_RFC4443_3_1() =>
        Check("kernel-udp6-closed.pcap", [Ipv6FlowLabel]);

    [Fact]
    public void ICMPv6_error_for_a_long_datagram_is_cut_to_1280_bytes_as_the_kernel_RFC4443_2_4_c() =>
        Check("kernel-udp6-closed-big.pcap", [Ipv6FlowLabel]);

    [Fact]
    public void SYN_over_IPv6_to_a_closed_port_gets_the_kernels_RST_RFC9293_3_10_7_1() =>
        Check("kernel-tcp6-closed.pcap", [Ipv6FlowLabel]);

    [Fact]
    public void SYN_over_IPv6_to_a_listener_gets_the_kernels_SYN_ACK_and_an_in_window_RST_ends_it_silently_RFC9293_3_10_7_4() =>
        Check("kernel-tcp6-open.pcap", [Ipv6FlowLabel, .. SynAckChoices], KernelReplay.KernelV6);
}
