using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using NetStack.Sockets;

namespace NetStack.Samples.Netstackd.Services.Iperf3;

/// <summary>One stream's counters, as iperf3's send_results reports them (iperf_api.c).</summary>
public sealed class Iperf3StreamStats(int id, bool sender)
{
    private long _bytes;

    /// <summary>iperf3's stream id: 1, 3, 4, 5... (iperf_add_stream skips 2, and every version keeps that).</summary>
    public int Id { get; } = id;
    public bool Sender { get; } = sender;
    public long Bytes => Interlocked.Read(ref _bytes);
    public long Blocks;
    /// <summary>UDP: datagrams sent (sender) or the highest sequence number seen (receiver).</summary>
    public long Packets;
    /// <summary>UDP receiver: datagrams lost (sequence gaps, less late arrivals).</summary>
    public long Errors;
    public long OutOfOrder;
    /// <summary>UDP receiver: RFC 1889 §A.8 interarrival jitter in seconds.</summary>
    public double Jitter;
    /// <summary>TCP sender: retransmitted segments (-1: not known).</summary>
    public long Retransmits = -1;
    /// <summary>Seconds from the test's start to this stream's last byte.</summary>
    public double EndTime;

    internal double PreviousTransit;

    public void Add(long bytes) => Interlocked.Add(ref _bytes, bytes);

    /// <summary>The per-stream result object of send_results.</summary>
    public JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["bytes"] = Bytes,
        ["retransmits"] = Sender ? Retransmits : -1,
        ["jitter"] = Jitter,
        ["errors"] = Errors,
        ["omitted_errors"] = 0,
        ["packets"] = Packets,
        ["omitted_packets"] = 0,
        ["start_time"] = 0.0,
        ["end_time"] = EndTime,
    };

    /// <summary>iperf3's ids in creation order: the first stream is 1, then 3, 4, 5...</summary>
    public static int IdOf(int index) => index == 0 ? 1 : index + 2;
}

/// <summary>
/// A budget shared by the streams of one test (-n bytes or -k blocks, counted over all streams as iperf3 does); a
/// sender stops once it is spent. Unlimited when both are 0.
/// </summary>
public sealed class Iperf3Budget(long bytes, long blocks)
{
    private long _bytes = bytes > 0 ? bytes : long.MaxValue;
    private long _blocks = blocks > 0 ? blocks : long.MaxValue;

    /// <summary>Takes one block of <paramref name="size"/> bytes; false once the budget is spent.</summary>
    public bool TryTake(int size)
    {
        if (Interlocked.Read(ref _bytes) <= 0 || Interlocked.Read(ref _blocks) <= 0) return false;
        Interlocked.Add(ref _bytes, -size);
        Interlocked.Decrement(ref _blocks);
        return true;
    }

    public bool Spent => Interlocked.Read(ref _bytes) <= 0 || Interlocked.Read(ref _blocks) <= 0;
}

/// <summary>Paces one stream at <c>-b</c> bits per second (iperf_check_throttle): a sender ahead of the rate waits.</summary>
public sealed class Iperf3Pacer(long bitsPerSecond)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public async ValueTask WaitAsync(long bytesSent, CancellationToken cancellationToken)
    {
        if (bitsPerSecond <= 0) return;
        double due = bytesSent * 8.0 / bitsPerSecond;
        double ahead = due - _clock.Elapsed.TotalSeconds;
        if (ahead > 0.001) await Task.Delay(TimeSpan.FromSeconds(ahead), cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>The data path of iperf3's streams: TCP reads and writes, UDP datagrams with their header and accounting.</summary>
public static class Iperf3Streams
{
    /// <summary>A monotonic clock in seconds (iperf3 stamps datagrams with CLOCK_MONOTONIC; only differences matter).</summary>
    public static double Now => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;

    /// <summary>A block of the given size filled with a repeating pattern (iperf3 fills random bytes; content is not checked).</summary>
    public static byte[] MakeBlock(int size)
    {
        var b = new byte[size];
        for (int i = 0; i < b.Length; i++) b[i] = (byte)('0' + i % 64);
        return b;
    }

    /// <summary>Reads until the peer closes or <paramref name="cancellationToken"/> fires; counts bytes and reads.</summary>
    public static async Task ReceiveTcpAsync(Stream stream, Iperf3StreamStats stats, int blockSize, double start, CancellationToken cancellationToken)
    {
        var buffer = new byte[Math.Clamp(blockSize, 16 * 1024, 1 << 20)];
        try
        {
            while (true)
            {
                int n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (n == 0) break;
                stats.Add(n);
                stats.Blocks++;
                stats.EndTime = Now - start;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Writes blocks until <paramref name="stop"/>, the budget is spent or the peer goes away. A write under way when
    /// <paramref name="stop"/> fires is finished (so the count is exact and a peer reading whole blocks gets its last one),
    /// unless <paramref name="abort"/> fires first.
    /// </summary>
    public static async Task SendTcpAsync(Stream stream, Iperf3StreamStats stats, int blockSize, Iperf3Budget budget, Iperf3Pacer pacer,
        double start, CancellationToken stop, CancellationToken abort)
    {
        var block = MakeBlock(blockSize);
        try
        {
            while (!stop.IsCancellationRequested && budget.TryTake(blockSize))
            {
                await pacer.WaitAsync(stats.Bytes, stop).ConfigureAwait(false);
                await stream.WriteAsync(block, abort).ConfigureAwait(false);
                stats.Add(blockSize);
                stats.Blocks++;
                stats.EndTime = Now - start;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Sends datagrams of <paramref name="blockSize"/> bytes, each with iperf3's header (iperf_udp.c iperf_udp_send):
    /// seconds and microseconds of the send time and the sequence number (from 1), big-endian, 32-bit or with
    /// <paramref name="counters64"/> a 64-bit sequence number. <paramref name="to"/> null: the socket is connected.
    /// </summary>
    public static async Task SendUdpAsync(AsyncUdpSocket socket, IPEndPoint? to, Iperf3StreamStats stats, int blockSize, bool counters64,
        Iperf3Budget budget, Iperf3Pacer pacer, double start, CancellationToken cancellationToken)
    {
        var datagram = MakeBlock(blockSize);
        try
        {
            while (!cancellationToken.IsCancellationRequested && budget.TryTake(blockSize))
            {
                await pacer.WaitAsync(stats.Bytes, cancellationToken).ConfigureAwait(false);
                WriteUdpHeader(datagram, stats.Packets + 1, counters64, Now);
                try
                {
                    if (to is null) await socket.SendAsync(datagram, cancellationToken).ConfigureAwait(false);
                    else await socket.SendToAsync(datagram, to, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (SocketException e) when (e.SocketErrorCode is not SocketError.OperationAborted)
                {
                    continue; // no buffer / unreachable: like iperf3's NET_SOFTERROR, the datagram is not counted and the number is reused
                }
                stats.Packets++;
                stats.Add(blockSize);
                stats.Blocks++;
                stats.EndTime = Now - start;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Writes the UDP header (see <see cref="SendUdpAsync"/>) at the start of <paramref name="datagram"/>.</summary>
    public static void WriteUdpHeader(Span<byte> datagram, long sequence, bool counters64, double now)
    {
        uint sec = (uint)Math.Floor(now);
        uint usec = (uint)((now - Math.Floor(now)) * 1e6);
        BinaryPrimitives.WriteUInt32BigEndian(datagram, sec);
        BinaryPrimitives.WriteUInt32BigEndian(datagram[4..], usec);
        if (counters64) BinaryPrimitives.WriteInt64BigEndian(datagram[8..], sequence);
        else BinaryPrimitives.WriteUInt32BigEndian(datagram[8..], (uint)sequence);
    }

    /// <summary>
    /// Accounts one received datagram as iperf_udp_recv does: bytes; a sequence number beyond the next counts the gap as
    /// lost, one at or below the highest seen is out of order and takes one loss back; RFC 1889 §A.8 jitter from the
    /// difference of transit times (the clocks need not agree). A datagram shorter than the header counts bytes only.
    /// </summary>
    public static void AccountUdp(Iperf3StreamStats stats, ReadOnlySpan<byte> datagram, bool counters64, double arrival)
    {
        bool first = stats.Bytes == 0;
        stats.Add(datagram.Length);
        stats.Blocks++;
        if (datagram.Length < (counters64 ? 16 : 12)) return;
        uint sec = BinaryPrimitives.ReadUInt32BigEndian(datagram);
        uint usec = BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]);
        long sequence = counters64 ? BinaryPrimitives.ReadInt64BigEndian(datagram[8..]) : BinaryPrimitives.ReadUInt32BigEndian(datagram[8..]);
        if (sequence >= stats.Packets + 1)
        {
            if (sequence > stats.Packets + 1) stats.Errors += sequence - 1 - stats.Packets;
            stats.Packets = sequence;
        }
        else
        {
            stats.OutOfOrder++;
            if (stats.Errors > 0) stats.Errors--;
        }
        double transit = arrival - (sec + usec / 1e6);
        if (first) stats.PreviousTransit = transit;
        double d = Math.Abs(transit - stats.PreviousTransit);
        stats.PreviousTransit = transit;
        stats.Jitter += (d - stats.Jitter) / 16.0;
    }
}
