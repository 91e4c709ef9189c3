using System.Net;
using NetStack.Sockets;

namespace NetStack.Tests.TcpApi;

/// <summary>Urgent data through the Stream face (RFC 9293 §3.8.5): WriteUrgentAsync, the event, the remaining count.</summary>
public sealed class TcpUrgentStreamTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Urgent_data_is_announced_to_the_reader_who_reads_it_in_line_up_to_the_mark()
    {
        await using var pair = new TcpLoopPair();
        var listener = await pair.B.ListenAsync(new IPEndPoint(IPAddress.Any, 7));
        var accept = listener.AcceptAsync().AsTask();
        var client = await pair.A.ConnectAsync(new IPEndPoint(TcpLoopPair.V4B, 7)).WaitAsync(Limit);
        var server = await accept.WaitAsync(Limit);
        var announced = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.UrgentDataReceived += (_, e) => announced.TrySetResult(e.Remaining);

        await client.WriteAsync("normal "u8.ToArray());
        await client.WriteUrgentAsync("INTERRUPT"u8.ToArray());
        await client.WriteAsync(" after"u8.ToArray());

        // MUST-32: told asynchronously; MUST-33: the count runs to the end of the urgent bytes ("normal " + "INTERRUPT").
        Assert.Equal(16, await announced.Task.WaitAsync(Limit));
        var head = new byte[16];
        await server.ReadExactlyAsync(head).AsTask().WaitAsync(Limit);
        Assert.Equal("normal INTERRUPT"u8.ToArray(), head);
        Assert.Equal(0, server.UrgentBytesRemaining);
        var tail = new byte[6];
        await server.ReadExactlyAsync(tail).AsTask().WaitAsync(Limit);
        Assert.Equal(" after"u8.ToArray(), tail);
        Assert.Equal(1, server.UrgentSignals);

        await client.DisposeAsync();
        await server.DisposeAsync();
        await listener.DisposeAsync();
    }
}
