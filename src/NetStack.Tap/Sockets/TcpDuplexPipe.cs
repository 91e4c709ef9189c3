using System.IO.Pipelines;

namespace NetStack.Sockets;

/// <summary>
/// The <see cref="IDuplexPipe"/> face of a <see cref="TcpConnectionStream"/>, shaped like Kestrel's socket transport:
/// a receive pump reads the stream into <see cref="Input"/>'s pipe (so a slow reader applies back-pressure through the
/// pipe's pause threshold and then the TCP window), a send pump writes <see cref="Output"/>'s pipe to the stream and
/// shuts down the send side when the application completes it.
/// </summary>
internal sealed class TcpDuplexPipe : IDuplexPipe
{
    private readonly TcpConnectionStream _stream;
    private readonly Pipe _receive;
    private readonly Pipe _send;
    private readonly Task _receiving;
    private readonly Task _sending;
    private readonly CancellationTokenSource _stop = new();

    public TcpDuplexPipe(TcpConnectionStream stream)
    {
        _stream = stream;
        int window = Math.Max(stream.ReceiveBufferSize, 16 * 1024);
        _receive = new Pipe(new PipeOptions(pauseWriterThreshold: 2L * window, resumeWriterThreshold: window,
            minimumSegmentSize: 16 * 1024, useSynchronizationContext: false));
        _send = new Pipe(new PipeOptions(pauseWriterThreshold: 2L * Math.Max(stream.SendBufferSize, 16 * 1024),
            resumeWriterThreshold: Math.Max(stream.SendBufferSize, 16 * 1024), minimumSegmentSize: 16 * 1024, useSynchronizationContext: false));
        _receiving = Task.Run(ReceiveLoopAsync);
        _sending = Task.Run(SendLoopAsync);
    }

    public PipeReader Input => _receive.Reader;
    public PipeWriter Output => _send.Writer;

    private async Task ReceiveLoopAsync()
    {
        Exception? error = null;
        var writer = _receive.Writer;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(16 * 1024);
                int n = await _stream.ReadAsync(memory, _stop.Token).ConfigureAwait(false);
                if (n == 0) break;
                writer.Advance(n);
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled) break;
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            error = e;
        }
        await writer.CompleteAsync(error).ConfigureAwait(false);
    }

    private async Task SendLoopAsync()
    {
        Exception? error = null;
        var reader = _send.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                // Whatever was written before a stop is still sent.
                foreach (var segment in result.Buffer) await _stream.WriteAsync(segment).ConfigureAwait(false);
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCanceled) break;
                if (result.IsCompleted)
                {
                    _stream.ShutdownSend();
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            error = e;
        }
        await reader.CompleteAsync(error).ConfigureAwait(false);
    }

    /// <summary>Stops the pumps (the send pump first sends what was already written); the stream is about to close.</summary>
    public async Task StopAsync()
    {
        _send.Reader.CancelPendingRead();
        try
        {
            await _sending.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        Stop();
    }

    /// <summary>Stops the pumps without waiting.</summary>
    public void Stop()
    {
        _send.Reader.CancelPendingRead();
        _stop.Cancel();
    }
}
