using CsCheck;
using NetStack.Network.Fragmentation;
using NetStack.Network.Ipv4;

namespace NetStack.Tests.Ipv4;

public class FragmenterTests
{
    private static List<FragmentSlice> Plan(int payload, int mtu, int first = 20, int later = 20, bool more = false)
    {
        var list = new List<FragmentSlice>();
        foreach (var f in FragmentPlan.Create(payload, mtu, first, later, more)) list.Add(f);
        return list;
    }

    [Fact]
    public void Ping_of_8008_bytes_over_1500_splits_into_six_fragments_at_multiples_of_8_RFC791_3_2()
    {
        var p = Plan(8008, 1500);
        Assert.Equal(6, p.Count);
        Assert.All(p, f => Assert.Equal(0, f.Offset % 8));
        Assert.All(p.Take(5), f => { Assert.Equal(1480, f.Length); Assert.True(f.More); });
        Assert.Equal(8008 - 5 * 1480, p[5].Length);
        Assert.False(p[5].More);
        Assert.True(p[0].IsFirst);
        Assert.Equal(8008, p.Sum(f => f.Length));
    }

    [Fact]
    public void Data_per_fragment_is_rounded_down_to_8_bytes()
    {
        Assert.Equal(568, FragmentPlan.MaxFragmentData(590, 20));
        var p = Plan(1000, 590);
        Assert.Equal(568, p[0].Length);
        Assert.Equal(568, p[1].Offset);
    }

    [Fact]
    public void Later_fragments_with_a_shorter_header_carry_more_data_RFC791_3_1_copy_flag()
    {
        var p = Plan(3000, 1500, first: 60, later: 24);
        Assert.Equal(1440, p[0].Length);
        Assert.Equal(1472, p[1].Length);
    }

    [Fact]
    public void Refragmenting_a_non_last_fragment_keeps_MF_on_its_last_piece()
    {
        var p = Plan(2000, 1000, more: true);
        Assert.All(p, f => Assert.True(f.More));
    }

    [Fact]
    public void An_MTU_without_room_for_8_data_bytes_gives_no_plan() => Assert.Empty(Plan(100, 27));

    [Fact]
    public void Sum_of_fragment_lengths_is_the_payload_for_any_size() =>
        Gen.Select(Gen.Int[0, 65515], Gen.Int[68, 9000]).Sample((len, mtu) =>
        {
            var p = Plan(len, mtu);
            int next = 0;
            foreach (var f in p)
            {
                if (f.Offset != next || f.Offset % 8 != 0 || f.Length + 20 > mtu) return false;
                next += f.Length;
            }
            return next == len && !p[^1].More;
        });

    [Fact]
    public void Indexed_fragments_equal_the_enumerated_ones_for_any_sizes() =>
        Gen.Select(Gen.Int[0, 65515], Gen.Int[28, 9000], Gen.Int[20, 60], Gen.Int[20, 60], Gen.Bool).Sample((len, mtu, first, later, more) =>
        {
            var plan = FragmentPlan.Create(len, mtu, first, later, more);
            var p = Plan(len, mtu, first, later, more);
            if (plan.Count != p.Count || plan.IsPossible != (p.Count > 0)) return false;
            for (int i = 0; i < p.Count; i++) if (plan[i] != p[i]) return false;
            return true;
        });
}
