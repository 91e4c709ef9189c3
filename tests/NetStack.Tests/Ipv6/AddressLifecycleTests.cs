using NetStack.Network.Ipv6;
using NetStack.Wire;

namespace NetStack.Tests.Ipv6;

public class AddressLifecycleTests
{
    private static readonly Instant T0 = Instant.FromSeconds(1000);
    private static readonly Ipv6Address A = Ipv6Address.Parse("2001:db8::1");

    private static InterfaceAddress New(uint valid, uint preferred) =>
        new(A, 64, Ipv6AddressOrigin.Slaac, NdpConstants.Expiry(T0, valid), NdpConstants.Expiry(T0, preferred));

    [Fact]
    public void Address_is_tentative_and_unusable_until_DAD_succeeds_RFC4862_5_4()
    {
        var a = New(3600, 1800);
        Assert.Equal(Ipv6AddressState.Tentative, a.State);
        Assert.False(a.IsUsable);
        a.MarkDadSucceeded(T0);
        Assert.Equal(Ipv6AddressState.Preferred, a.State);
        Assert.True(a.IsUsable);
    }

    [Fact]
    public void Preferred_becomes_deprecated_then_invalid_RFC4862_5_5_4()
    {
        var a = New(3600, 1800);
        a.MarkDadSucceeded(T0);
        Assert.Equal(T0 + TimeSpan.FromSeconds(1800), a.NextDeadline);
        a.Advance(T0 + TimeSpan.FromSeconds(1800));
        Assert.Equal(Ipv6AddressState.Deprecated, a.State);
        Assert.True(a.IsUsable);
        a.Advance(T0 + TimeSpan.FromSeconds(3600));
        Assert.Equal(Ipv6AddressState.Invalid, a.State);
    }

    [Fact]
    public void Duplicate_address_is_never_usable_RFC4862_5_4_5()
    {
        var a = New(3600, 1800);
        a.MarkDuplicate();
        a.MarkDadSucceeded(T0);
        Assert.Equal(Ipv6AddressState.Duplicate, a.State);
        Assert.False(a.IsUsable);
    }

    [Fact]
    public void Received_valid_lifetime_over_two_hours_is_taken_RFC4862_5_5_3_e1()
    {
        var now = T0;
        var expiry = SlaacRules.UpdatedValidExpiry(now + TimeSpan.FromMinutes(30), 3 * 3600, now);
        Assert.Equal(now + TimeSpan.FromHours(3), expiry);
    }

    [Fact]
    public void Received_valid_lifetime_longer_than_remaining_is_taken_RFC4862_5_5_3_e1()
    {
        var expiry = SlaacRules.UpdatedValidExpiry(T0 + TimeSpan.FromMinutes(10), 1800, T0);
        Assert.Equal(T0 + TimeSpan.FromMinutes(30), expiry);
    }

    [Fact]
    public void Short_lifetime_is_ignored_when_remaining_is_two_hours_or_less_RFC4862_5_5_3_e2()
    {
        var current = T0 + TimeSpan.FromMinutes(90);
        Assert.Equal(current, SlaacRules.UpdatedValidExpiry(current, 60, T0));
    }

    [Fact]
    public void Short_lifetime_resets_remaining_to_two_hours_RFC4862_5_5_3_e3()
    {
        var current = T0 + TimeSpan.FromHours(10);
        Assert.Equal(T0 + TimeSpan.FromHours(2), SlaacRules.UpdatedValidExpiry(current, 0, T0));
    }

    [Fact]
    public void Infinite_received_lifetime_is_infinite()
    {
        Assert.Equal(Instant.MaxValue, SlaacRules.UpdatedValidExpiry(T0 + TimeSpan.FromHours(1), 0xFFFFFFFF, T0));
    }

    [Theory]
    [InlineData("fe80::", 64, 100u, 50u, 1)]
    [InlineData("2001:db8::", 64, 100u, 200u, 2)]
    [InlineData("2001:db8::", 48, 100u, 50u, 3)]
    [InlineData("2001:db8::", 64, 100u, 50u, 0)]
    public void Prefix_information_checks_RFC4862_5_5_3(string prefix, int len, uint valid, uint preferred, int expected) =>
        Assert.Equal((SlaacRules.PrefixVerdict)expected, SlaacRules.Check(Ipv6Address.Parse(prefix), len, valid, preferred));
}
