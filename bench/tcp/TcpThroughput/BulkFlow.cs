using NetStack.Transport.Tcp;

namespace NetStack.Bench.Tcp;

/// <summary>
/// One bulk transfer driven as an application would: the sender writes a repeating pattern as fast as the send buffer
/// takes it and closes after <see cref="Total"/> bytes; the receiver reads everything and checks the pattern when
/// <see cref="Verify"/> is set. <see cref="Step"/> is called around every poll of the stacks.
/// </summary>
internal sealed class BulkFlow
{
    private const int PatternPeriod = 251; // prime, so segment boundaries never line up with it
    private readonly byte[] _pattern;
    private readonly byte[] _readBuffer = new byte[64 * 1024];
    private TcpConnection? _server;

    public BulkFlow(TcpListenSocket listener, TcpConnection client, long total, bool verify)
    {
        Listener = listener;
        Client = client;
        Total = total;
        Verify = verify;
        _pattern = new byte[64 * 1024 + PatternPeriod];
        for (int i = 0; i < _pattern.Length; i++) _pattern[i] = (byte)(i % PatternPeriod);
    }

    public TcpListenSocket Listener { get; }
    public TcpConnection Client { get; }
    public TcpConnection? Server => _server;
    public long Total { get; }
    public bool Verify { get; }
    public long Sent { get; private set; }
    public long Received { get; private set; }
    public bool Corrupt { get; private set; }
    public bool Done => Received >= Total;

    /// <summary>Moves data in both applications; true when anything moved (the stacks then have output to flush).</summary>
    public bool Step()
    {
        bool progress = false;
        while (Sent < Total)
        {
            int offset = (int)(Sent % PatternPeriod);
            int want = (int)Math.Min(Total - Sent, 64 * 1024);
            int n = Client.Send(_pattern.AsSpan(offset, want));
            if (n == 0) break;
            Sent += n;
            progress = true;
            if (Sent == Total) Client.Close();
        }
        if (_server is null && !Listener.TryAccept(out _server)) return progress;
        int r;
        while ((r = _server!.Receive(_readBuffer)) > 0)
        {
            if (Verify) Check(_readBuffer.AsSpan(0, r));
            Received += r;
            progress = true;
        }
        return progress;
    }

    private void Check(ReadOnlySpan<byte> data)
    {
        int offset = (int)(Received % PatternPeriod);
        if (!data.SequenceEqual(_pattern.AsSpan(offset, data.Length))) Corrupt = true;
    }
}
