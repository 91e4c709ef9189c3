using NetStack.Network.Ipv6;

namespace NetStack.Tests.Ipv6;

public class FragmentPlanTests
{
    [Fact]
    public void Chunks_are_multiples_of_8_and_fit_the_mtu_RFC8200_4_5()
    {
        Assert.True(FragmentPlan.TryCreate(40, 8008, 1500, out var plan));
        Assert.Equal(1448, plan.ChunkSize); // 1500 - 40 - 8 = 1452, rounded down to 8
        Assert.Equal(6, plan.Count);
        for (int i = 0; i < plan.Count - 1; i++)
        {
            Assert.Equal(0, plan.Length(i) % 8);
            Assert.True(40 + 8 + plan.Length(i) <= 1500);
            Assert.True(plan.MoreFragments(i));
        }
        Assert.False(plan.MoreFragments(plan.Count - 1));
        Assert.Equal(8008, Enumerable.Range(0, plan.Count).Sum(plan.Length));
    }

    [Fact]
    public void Path_mtu_below_1280_is_raised_to_1280_RFC8200_5()
    {
        Assert.True(FragmentPlan.TryCreate(40, 4000, 600, out var plan));
        Assert.Equal(1232, plan.ChunkSize);
    }
}
