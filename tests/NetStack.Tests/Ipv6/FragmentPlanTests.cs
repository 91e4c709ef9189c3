using NetStack.Network.Fragmentation;
using NetStack.Network.Ipv6;

namespace NetStack.Tests.Ipv6;

public class FragmentPlanTests
{
    // RFC 8200 §4.5: every fragment carries the unfragmentable part (here the 40-byte IPv6 header) and an 8-byte Fragment header.
    private static FragmentPlan Plan(int unfragmentable, int fragmentable, int pathMtu) =>
        FragmentPlan.Create(fragmentable, Ipv6Family.SourceFragmentMtu(pathMtu), unfragmentable + 8, unfragmentable + 8);

    [Fact]
    public void Chunks_are_multiples_of_8_and_fit_the_mtu_RFC8200_4_5()
    {
        var plan = Plan(40, 8008, 1500);
        Assert.True(plan.IsPossible);
        Assert.Equal(1448, plan.ChunkSize); // 1500 - 40 - 8 = 1452, rounded down to 8
        Assert.Equal(6, plan.Count);
        for (int i = 0; i < plan.Count - 1; i++)
        {
            Assert.Equal(0, plan[i].Length % 8);
            Assert.True(40 + 8 + plan[i].Length <= 1500);
            Assert.True(plan[i].More);
        }
        Assert.False(plan[plan.Count - 1].More);
        Assert.Equal(8008, Enumerable.Range(0, plan.Count).Sum(i => plan[i].Length));
        // The lazy enumeration the layer uses yields the same fragments.
        var enumerated = new List<FragmentSlice>();
        foreach (var f in plan) enumerated.Add(f);
        Assert.Equal(Enumerable.Range(0, plan.Count).Select(i => plan[i]), enumerated);
    }

    [Fact]
    public void Path_mtu_below_1280_is_raised_to_1280_RFC8200_5()
    {
        var plan = Plan(40, 4000, 600);
        Assert.True(plan.IsPossible);
        Assert.Equal(1232, plan.ChunkSize);
    }
}
