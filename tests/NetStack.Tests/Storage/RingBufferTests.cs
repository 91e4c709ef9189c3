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

    [Fact]
    public void An_empty_ring_holds_no_memory_and_grows_on_demand_up_to_its_capacity()
    {
        var r = new RingBuffer(64 * 1024);
        Assert.Equal(0, r.AllocatedBytes);
        r.Enqueue(new byte[10]);
        Assert.InRange(r.AllocatedBytes, RingBuffer.MinimumAllocation, 2 * RingBuffer.MinimumAllocation - 1);
        r.Enqueue(new byte[20_000]);
        Assert.InRange(r.AllocatedBytes, 20_010, 64 * 1024);
        Assert.Equal(64 * 1024 - 20_010, r.Enqueue(new byte[100_000])); // the capacity still bounds it
        Assert.False(r.Release());                                       // not empty: kept
        r.Discard(r.Length);
        Assert.True(r.Release());
        Assert.Equal(0, r.AllocatedBytes);
        Assert.Equal(64 * 1024, r.Free);
    }

    [Fact]
    public void Growing_keeps_wrapped_data_and_out_of_order_bytes_past_the_tail()
    {
        var r = new RingBuffer(1 << 20);
        var chunk = Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray();
        r.Enqueue(chunk);                       // 4 KiB of storage
        r.Discard(2500);
        r.Enqueue(chunk);                       // wraps: 500 + 3000 bytes
        Assert.Equal(3000, r.WriteUnallocated(1000, chunk)); // past the tail, grows the storage (linearized)
        Assert.True(r.AllocatedBytes >= 3500 + 1000 + 3000);
        Assert.Equal(1000, r.WriteUnallocated(0, chunk.AsSpan(0, 1000)));
        Assert.Equal(4000, r.CommitUnallocated(4000));
        var all = new byte[r.Length];
        Assert.Equal(7500, r.Dequeue(all));
        Assert.Equal(chunk[2500..], all[..500]);
        Assert.Equal(chunk, all[500..3500]);
        Assert.Equal(chunk[..1000], all[3500..4500]);
        Assert.Equal(chunk, all[4500..]);
    }

    [Fact]
    public void Behaves_like_a_queue_while_growing_and_releasing()
    {
        // Sizes around the allocation steps, wraps, and releases whenever the ring is empty.
        Gen.Int[0, 3].Select(Gen.Int[0, 9000]).Array[1, 80].Sample(ops =>
        {
            const int capacity = 40_000;
            var r = new RingBuffer(capacity);
            var model = new Queue<byte>();
            byte next = 0;
            foreach (var (op, n) in ops)
            {
                switch (op)
                {
                    case 0:
                    {
                        var data = new byte[n];
                        for (int i = 0; i < n; i++) data[i] = next++;
                        int k = r.Enqueue(data);
                        Assert.Equal(Math.Min(n, capacity - model.Count), k);
                        for (int i = 0; i < k; i++) model.Enqueue(data[i]);
                        next = (byte)(next - (n - k));
                        break;
                    }
                    case 1:
                    {
                        var d = new byte[n];
                        int k = r.Dequeue(d);
                        Assert.Equal(Math.Min(n, model.Count), k);
                        for (int i = 0; i < k; i++) Assert.Equal(model.Dequeue(), d[i]);
                        break;
                    }
                    case 2:
                    {
                        var d = new byte[Math.Min(n, 100)];
                        int off = model.Count == 0 ? 0 : n % model.Count;
                        int k = r.Peek(off, d);
                        Assert.Equal(Math.Min(d.Length, Math.Max(0, model.Count - off)), k);
                        var expected = model.Skip(off).Take(k).ToArray();
                        Assert.Equal(expected, d[..k]);
                        break;
                    }
                    default:
                        Assert.Equal(model.Count == 0 && r.AllocatedBytes > 0, r.Release());
                        break;
                }
                Assert.Equal(model.Count, r.Length);
                Assert.True(r.AllocatedBytes == 0 || r.AllocatedBytes >= r.Length);
            }
        });
    }

    [Fact]
    public void Growing_the_capacity_keeps_wrapped_and_unallocated_data_and_takes_no_memory_by_itself()
    {
        // Receive-buffer auto-tuning raises the bound of a ring that may hold wrapped data and out-of-order bytes past
        // its tail; they keep their offsets, and the storage grows only when data needs it.
        var r = new RingBuffer(6000);
        var data = Enumerable.Range(0, 6000).Select(i => (byte)i).ToArray();
        r.Enqueue(data.AsSpan(0, 5000));
        var sink = new byte[3000];
        r.Dequeue(sink);                                     // head moves on: the next writes wrap
        r.Enqueue(data.AsSpan(5000, 900));
        Assert.Equal(100, r.WriteUnallocated(100, data.AsSpan(0, 100))); // 100 bytes past a 100-byte gap, at the bound's end
        long before = r.AllocatedBytes;
        r.Grow(20_000);
        Assert.Equal(20_000, r.Capacity);
        Assert.Equal(before, r.AllocatedBytes);
        r.Grow(10);                                          // never lowered
        Assert.Equal(20_000, r.Capacity);
        Assert.Equal(10_000, r.WriteUnallocated(300, new byte[10_000])); // beyond the old bound: storage grows now
        Assert.True(r.AllocatedBytes >= 2900 + 300 + 10_000);
        Assert.Equal(100, r.WriteUnallocated(0, data.AsSpan(5900, 100)));
        Assert.Equal(200, r.CommitUnallocated(200));
        var all = new byte[3100];
        Assert.Equal(3100, r.Dequeue(all));
        Assert.Equal(data.AsSpan(3000, 3000).ToArray(), all[..3000]);
        Assert.Equal(data.AsSpan(0, 100).ToArray(), all[3000..]);
    }
}
