using CsCheck;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>RFC 9293 §3.4: sequence numbers compare and add modulo 2^32.</summary>
public class SeqNumberTests
{
    [Fact]
    public void A_number_just_before_the_wrap_is_less_than_one_just_after()
    {
        Assert.True(new SeqNumber(0xFFFFFFF0) < new SeqNumber(0x10));
        Assert.True(new SeqNumber(0x10) > new SeqNumber(0xFFFFFFF0));
        Assert.False(new SeqNumber(0x10) < new SeqNumber(0xFFFFFFF0));
    }

    [Fact]
    public void Addition_wraps_past_two_to_the_32()
    {
        Assert.Equal(new SeqNumber(0x0F), new SeqNumber(0xFFFFFFFF) + 0x10);
        Assert.Equal(new SeqNumber(0xFFFFFFFF), new SeqNumber(0) - 1);
        Assert.Equal(new SeqNumber(5), new SeqNumber(0xFFFFFFFE) + 7u);
    }

    [Fact]
    public void Difference_is_signed_distance_across_the_wrap()
    {
        Assert.Equal(0x20, new SeqNumber(0x10) - new SeqNumber(0xFFFFFFF0));
        Assert.Equal(-0x20, new SeqNumber(0xFFFFFFF0) - new SeqNumber(0x10));
    }

    [Fact]
    public void Comparison_is_equal_only_for_equal_numbers()
    {
        var a = new SeqNumber(0xFFFFFFFF);
        var b = new SeqNumber(0xFFFFFFFF);
        Assert.True(a <= b);
        Assert.True(a >= b);
        Assert.False(a < b);
        Assert.Equal(0, a.CompareTo(b));
    }

    [Fact]
    public void Adding_less_than_two_to_the_31_always_moves_forward()
    {
        Gen.Select(Gen.UInt, Gen.Int[1, int.MaxValue]).Sample((v, n) =>
        {
            var s = new SeqNumber(v);
            Assert.True(s + n > s);
            Assert.True(s < s + n);
            Assert.Equal(n, (s + n) - s);
            Assert.Equal(s + n, SeqNumber.Max(s, s + n));
            Assert.Equal(s, SeqNumber.Min(s, s + n));
        });
    }

    [Fact]
    public void InWindow_includes_the_left_edge_and_excludes_the_right_edge_across_the_wrap()
    {
        var lo = new SeqNumber(0xFFFFFF00);
        var hi = lo + 0x200; // 0x100, past the wrap
        Assert.True(lo.InWindow(lo, hi));
        Assert.True(new SeqNumber(0xFFFFFFFF).InWindow(lo, hi));
        Assert.True(new SeqNumber(0).InWindow(lo, hi));
        Assert.True(new SeqNumber(0xFF).InWindow(lo, hi));
        Assert.False(hi.InWindow(lo, hi));
        Assert.False(new SeqNumber(0xFFFFFEFF).InWindow(lo, hi));
    }

    [Fact]
    public void An_empty_window_contains_nothing()
    {
        Gen.UInt.Sample(v => Assert.False(new SeqNumber(v).InWindow(new SeqNumber(v), new SeqNumber(v))));
    }

    [Fact]
    public void InWindow_agrees_with_offset_arithmetic()
    {
        Gen.Select(Gen.UInt, Gen.UInt[0, 1u << 30], Gen.UInt).Sample((lo, size, x) =>
        {
            var l = new SeqNumber(lo);
            bool expected = unchecked(x - lo) < size;
            Assert.Equal(expected, new SeqNumber(x).InWindow(l, l + size));
        });
    }
}
