using CsCheck;
using NetStack.Storage;

namespace NetStack.Tests.Storage;

public sealed class RingBufferTests
{
    [Fact]
    public void Enqueue_stops_at_capacity()
    {
        var r = new RingBuffer(8);
        Assert.Equal(8, r.Enqueue(new byte[10]));
        Assert.True(r.IsFull);
        Assert.Equal(0, r.Enqueue(new byte[1]));
    }

    [Fact]
    public void Data_comes_out_in_order_across_the_wrap()
    {
        var r = new RingBuffer(8);
        r.Enqueue([1, 2, 3, 4, 5, 6]);
        var tmp = new byte[4];
        r.Dequeue(tmp);
        r.Enqueue([7, 8, 9, 10, 11, 12]);
        var all = new byte[8];
        Assert.Equal(8, r.Dequeue(all));
        Assert.Equal(new byte[] { 5, 6, 7, 8, 9, 10, 11, 12 }, all);
    }

    [Fact]
    public void Peek_at_an_offset_does_not_consume()
    {
        var r = new RingBuffer(8);
        r.Enqueue([1, 2, 3, 4]);
        var b = new byte[2];
        Assert.Equal(2, r.Peek(1, b));
        Assert.Equal(new byte[] { 2, 3 }, b);
        Assert.Equal(4, r.Length);
        Assert.Equal(0, r.Peek(4, b));
    }

    [Fact]
    public void Unallocated_writes_become_visible_only_when_committed()
    {
        var r = new RingBuffer(8);
        r.Enqueue([1]);
        Assert.Equal(2, r.WriteUnallocated(2, [4, 5]));   // out of order, past the tail
        Assert.Equal(1, r.Length);
        Assert.Equal(2, r.WriteUnallocated(0, [2, 3]));
        Assert.Equal(4, r.CommitUnallocated(4));
        var b = new byte[5];
        Assert.Equal(5, r.Dequeue(b));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, b);
    }

    [Fact]
    public void Unallocated_data_survives_the_buffer_draining_empty()
    {
        // The receive side keeps out-of-order bytes past the tail while the application drains everything.
        var r = new RingBuffer(8);
        r.Enqueue([1, 2, 3]);
        r.WriteUnallocated(1, [9]);
        r.Dequeue(new byte[3]);
        r.WriteUnallocated(0, [8]);
        r.CommitUnallocated(2);
        var b = new byte[2];
        r.Dequeue(b);
        Assert.Equal(new byte[] { 8, 9 }, b);
    }

    [Fact]
    public void Behaves_like_a_queue_under_random_operations()
    {
        Gen.Int[0, 2].Select(Gen.Int[0, 20]).Array[1, 60].Sample(ops =>
        {
            var r = new RingBuffer(16);
            var model = new Queue<byte>();
            byte next = 0;
            foreach (var (op, n) in ops)
            {
                if (op == 0)
                {
                    var data = new byte[n];
                    for (int i = 0; i < n; i++) data[i] = next++;
                    int k = r.Enqueue(data);
                    Assert.Equal(Math.Min(n, 16 - model.Count), k);
                    for (int i = 0; i < k; i++) model.Enqueue(data[i]);
                    next = (byte)(next - (n - k));
                }
                else if (op == 1)
                {
                    var d = new byte[n];
                    int k = r.Dequeue(d);
                    Assert.Equal(Math.Min(n, model.Count), k);
                    for (int i = 0; i < k; i++) Assert.Equal(model.Dequeue(), d[i]);
                }
                else
                {
                    int k = r.Discard(n);
                    for (int i = 0; i < k; i++) model.Dequeue();
                }
                Assert.Equal(model.Count, r.Length);
            }
        });
    }
}
