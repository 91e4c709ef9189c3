using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Security.Cryptography;

namespace NetStack.Tests.TcpApi;

/// <summary>The <see cref="IDuplexPipe"/> face of a TCP connection (as Kestrel's transports expose one).</summary>
public sealed class TcpPipeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_echo_server_written_against_IDuplexPipe_echoes_and_completing_Output_sends_FIN()
    {
        await using var pair = new TcpLoopPair();
        await using var listener = await pair.B.ListenAsync(new IPEndPoint(IPAddress.Any, 7));
        var serving = Task.Run(async () =>
        {
            await using var s = await listener.AcceptAsync();
            IDuplexPipe pipe = s;
            while (true)
            {
                var r = await pipe.Input.ReadAsync();
                foreach (var seg in r.Buffer) await pipe.Output.WriteAsync(seg);
                pipe.Input.AdvanceTo(r.Buffer.End);
                if (r.IsCompleted) break;
            }
            await pipe.Input.CompleteAsync();
            await pipe.Output.CompleteAsync(); // -> FIN
        });
        await using var client = await pair.A.ConnectAsync(new IPEndPoint(TcpLoopPair.V4B, 7));
        var data = RandomNumberGenerator.GetBytes(300_000);
        var reading = Task.Run(async () =>
        {
            var ms = new MemoryStream();
            await client.Input.AsStream().CopyToAsync(ms);
            return ms.ToArray();
        });
        await client.Output.WriteAsync(data);
        await client.Output.CompleteAsync();
        var got = await reading.WaitAsync(Limit);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(got));
        await serving.WaitAsync(Limit);
    }

    [Fact]
    public async Task The_pipe_reports_end_of_stream_when_the_peer_shuts_down_its_send_side()
    {
        await using var pair = new TcpLoopPair();
        await using var listener = await pair.B.ListenAsync(new IPEndPoint(IPAddress.Any, 7));
        var accept = listener.AcceptAsync().AsTask();
        await using var client = await pair.A.ConnectAsync(new IPEndPoint(TcpLoopPair.V4B, 7));
        await using var server = await accept.WaitAsync(Limit);
        await client.WriteAsync("abc"u8.ToArray());
        client.ShutdownSend();
        ReadResult r;
        do
        {
            r = await server.Input.ReadAsync().AsTask().WaitAsync(Limit);
            if (!r.IsCompleted) server.Input.AdvanceTo(r.Buffer.Start, r.Buffer.End);
        }
        while (!r.IsCompleted);
        Assert.Equal("abc"u8.ToArray(), r.Buffer.ToArray());
        server.Input.AdvanceTo(r.Buffer.End);
    }
}
