using NetStack.Network.Ipv6;
using NetStack.Wire;

namespace NetStack.Tests.Ipv6;

public class InterfaceIdentifierTests
{
    private static readonly byte[] Secret = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    private static readonly MacAddress Mac = MacAddress.Parse("02:00:5e:10:00:01");

    [Fact]
    public void Modified_EUI64_inserts_fffe_and_flips_the_universal_local_bit_RFC4291_A()
    {
        var iid = InterfaceIdentifier.ModifiedEui64(MacAddress.Parse("00:11:22:33:44:55"));
        Assert.Equal(0x0211_22FF_FE33_4455UL, iid);
    }

    [Fact]
    public void Stable_identifier_is_stable_for_the_same_inputs_RFC7217_5()
    {
        var p = Ipv6Address.Parse("2001:db8:1::");
        Assert.Equal(InterfaceIdentifier.StableOpaque(p, 0, Mac, default, 0, Secret),
                     InterfaceIdentifier.StableOpaque(p, 0, Mac, default, 0, Secret));
    }

    [Fact]
    public void Stable_identifier_differs_per_prefix_and_per_DAD_counter_RFC7217_5()
    {
        var p1 = Ipv6Address.Parse("2001:db8:1::");
        var p2 = Ipv6Address.Parse("2001:db8:2::");
        var a = InterfaceIdentifier.StableOpaque(p1, 0, Mac, default, 0, Secret);
        Assert.NotEqual(a, InterfaceIdentifier.StableOpaque(p2, 0, Mac, default, 0, Secret));
        Assert.NotEqual(a, InterfaceIdentifier.StableOpaque(p1, 0, Mac, default, 1, Secret));
        Assert.NotEqual(a, InterfaceIdentifier.StableOpaque(p1, 0, Mac, default, 0, [9, 9, 9]));
    }

    [Theory]
    [InlineData(0UL, true)]
    [InlineData(0xFDFF_FFFF_FFFF_FF80UL, true)]
    [InlineData(0xFDFF_FFFF_FFFF_FFFFUL, true)]
    [InlineData(0x0200_5EFF_FE00_5213UL, true)]
    [InlineData(0xFE00_0000_0000_0001UL, false)]
    [InlineData(0x1234_5678_9ABC_DEF0UL, false)]
    public void Reserved_identifiers_are_recognized_RFC5453(ulong iid, bool reserved) =>
        Assert.Equal(reserved, InterfaceIdentifier.IsReserved(iid));
}
