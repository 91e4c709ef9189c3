using CsCheck;
using NetStack.Storage;

namespace NetStack.Tests.Storage;

public sealed class AssemblerTests
{
    [Fact]
    public void In_order_data_is_contiguous_at_the_front()
    {
        var a = new Assembler();
        Assert.True(a.Add(0, 10));
        Assert.Equal(10, a.RemoveFront());
        Assert.True(a.IsEmpty);
    }

    [Fact]
    public void A_hole_holds_back_later_data_until_filled()
    {
        var a = new Assembler();
        a.Add(10, 5);
        Assert.Equal(0, a.FrontLength);
        a.Add(0, 10);
        Assert.Equal(15, a.RemoveFront());
    }

    [Fact]
    public void Adjacent_and_overlapping_ranges_merge()
    {
        var a = new Assembler();
        a.Add(10, 5);
        a.Add(20, 5);
        a.Add(14, 7);
        Assert.Equal(1, a.Count);
        Assert.Equal((10, 25), a[0]);
    }

    [Fact]
    public void More_ranges_than_the_limit_are_refused_without_change()
    {
        var a = new Assembler(2);
        Assert.True(a.Add(10, 1));
        Assert.True(a.Add(20, 1));
        Assert.False(a.Add(30, 1));
        Assert.Equal(2, a.Count);
        Assert.True(a.Add(11, 9)); // merging needs no new range
        Assert.Equal(1, a.Count);
    }

    [Fact]
    public void Last_changed_range_is_tracked_for_SACK_ordering()
    {
        var a = new Assembler();
        a.Add(30, 5);
        a.Add(10, 5);
        Assert.Equal(0, a.LastChangedIndex);
        a.Add(35, 5);
        Assert.Equal(1, a.LastChangedIndex);
        a.Add(0, 15);
        a.RemoveFront();
        Assert.Equal(-1, a.LastChangedIndex);
    }

    [Fact]
    public void Matches_a_bitmap_model_under_random_segments()
    {
        Gen.Int[0, 60].Select(Gen.Int[1, 10]).Array[1, 40].Sample(segments =>
        {
            var a = new Assembler(64);
            var have = new bool[200];
            int front = 0;
            foreach (var (off, len) in segments)
            {
                Assert.True(a.Add(off, len));
                for (int i = off; i < off + len; i++) have[front + i] = true;
                int n = a.RemoveFront();
                int expected = 0;
                while (front + expected < have.Length && have[front + expected]) expected++;
                Assert.Equal(expected, n);
                front += n;
                if (front > 40) return;
            }
        });
    }
}
