using NetStack.Network.Ipv6;
using NetStack.Wire;

namespace NetStack.Tests.Ipv6;

public class SourceAddressSelectionTests
{
    private static SourceCandidate C(string a, int iface = 0, Ipv6AddressState s = Ipv6AddressState.Preferred) => new(Ipv6Address.Parse(a), iface, s);

    private static string Pick(string dst, int outIf, params SourceCandidate[] cands)
    {
        Assert.True(SourceAddressSelection.TrySelect(Ipv6Address.Parse(dst), outIf, cands, out var best));
        return best.Address.ToString();
    }

    [Fact]
    public void Rule1_same_address_wins() =>
        Assert.Equal("2001:db8::1", Pick("2001:db8::1", 0, C("2001:db8::2"), C("2001:db8::1")));

    [Fact]
    public void Rule2_link_local_destination_gets_link_local_source() =>
        Assert.Equal("fe80::1", Pick("fe80::99", 0, C("2001:db8::1"), C("fe80::1")));

    [Fact]
    public void Rule2_global_destination_gets_global_source() =>
        Assert.Equal("2001:db8::1", Pick("2001:db8:5::1", 0, C("fe80::1"), C("2001:db8::1")));

    [Fact]
    public void Rule3_deprecated_is_avoided() =>
        Assert.Equal("2001:db8:2::1", Pick("2001:db8:9::1", 0, C("2001:db8:1::1", s: Ipv6AddressState.Deprecated), C("2001:db8:2::1")));

    [Fact]
    public void Rule5_outgoing_interface_is_preferred() =>
        Assert.Equal("2001:db8:2::1", Pick("2001:db8:9::1", 1, C("2001:db8:1::1", 0), C("2001:db8:2::1", 1)));

    [Fact]
    public void Rule6_matching_label_ULA_to_ULA() =>
        Assert.Equal("fd00::1", Pick("fd00:1::5", 0, C("2001:db8::1"), C("fd00::1")));

    [Fact]
    public void Rule8_longest_matching_prefix() =>
        Assert.Equal("2001:db8:1::1", Pick("2001:db8:1::9", 0, C("2001:db8:2::1"), C("2001:db8:1::1")));

    [Fact]
    public void Tentative_and_duplicate_addresses_are_never_chosen()
    {
        Assert.False(SourceAddressSelection.TrySelect(Ipv6Address.Parse("2001:db8::9"), 0,
            [C("2001:db8::1", s: Ipv6AddressState.Tentative), C("2001:db8::2", s: Ipv6AddressState.Duplicate)], out _));
    }

    [Fact]
    public void Link_local_destination_only_uses_addresses_of_the_outgoing_interface() =>
        Assert.Equal("fe80::2", Pick("fe80::99", 1, C("fe80::1", 0), C("fe80::2", 1)));
}
