using NetStack.Network;
using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>Link conditions of one simulated path (both directions).</summary>
internal sealed record PathConditions(
    TimeSpan Rtt,
    double Loss = 0,
    double Reorder = 0,
    double Duplicate = 0,
    int Mtu = 1500,
    /// <summary>Bottleneck rate in bytes per second (0 = infinite).</summary>
    long RateBytesPerSecond = 0);

/// <summary>
/// A tiny deterministic network for two <see cref="TcpLayer"/>s: fake IP layers that put each datagram
/// on a virtual wire with the path's one-way delay, seeded loss, reordering (extra delay) and duplication,
/// and an event loop on a virtual clock.
/// </summary>
internal sealed class TcpSimulation
{
    public static readonly IpAddress V4A = Ipv4Address.Parse("192.0.2.1");
    public static readonly IpAddress V4B = Ipv4Address.Parse("192.0.2.2");
    public static readonly IpAddress V6A = Ipv6Address.Parse("2001:db8::1");
    public static readonly IpAddress V6B = Ipv6Address.Parse("2001:db8::2");

    private readonly PriorityQueue<(TcpLayer Target, IpAddress Src, IpAddress Dst, byte[] Bytes), (long, long)> _wire = new();
    private readonly IRandomSource _net;
    private readonly PathConditions _path;
    private long _order;
    private readonly long[] _linkFree = new long[2];

    public TcpSimulation(ulong seed, PathConditions path, TcpSettings? settingsA = null, TcpSettings? settingsB = null, bool ipv6 = false)
    {
        AddressA = ipv6 ? V6A : V4A;
        AddressB = ipv6 ? V6B : V4B;
        Seed = seed;
        _path = path;
        _net = new SeededRandom(seed ^ 0x5EED);
        A = new TcpLayer(new SimIp(this, 0, AddressA), new SeededRandom(seed * 3 + 1), settingsA);
        B = new TcpLayer(new SimIp(this, 1, AddressB), new SeededRandom(seed * 7 + 2), settingsB);
    }

    public ulong Seed { get; }
    public IpAddress AddressA { get; }
    public IpAddress AddressB { get; }
    public TcpLayer A { get; }
    public TcpLayer B { get; }
    public Instant Now { get; private set; }
    public long Delivered { get; private set; }
    public long Dropped { get; private set; }

    private sealed class SimIp(TcpSimulation sim, int side, IpAddress local) : IIpLayer
    {
        public bool TrySelectSource(IpAddress destination, out IpAddress source) { source = local; return true; }
        public bool IsLocalAddress(IpAddress address) => address == local;
        public int MaxTransportPayload(IpAddress destination) => sim._path.Mtu - (destination.IsV4 ? 20 : 40);
        public IpSendResult Send(IpAddress source, IpAddress destination, IpProtocol protocol, ReadOnlySpan<byte> transportPayload, in IpSendOptions options, Instant now)
        {
            sim.Transmit(side, source, destination, transportPayload, now);
            return IpSendResult.Sent;
        }

        public void ReachabilityAdvice(IpAddress destination, bool forwardProgress, Instant now) { } // no neighbours here
    }

    /// <summary>
    /// How late a timer wakes the stacks (µs): a deadline in the future is served this long after it, as a real loop's
    /// poll() with the kernel's timer slack (50 µs for a normal thread) and its scheduling delay. 0: exactly on time.
    /// </summary>
    public long TimerSlackMicros { get; set; }

    /// <summary>Observes each datagram put on the wire: side (0 = A sends), time, bytes, the bottleneck queue's delay ahead of it (µs).</summary>
    public Action<int, Instant, int, long>? OnTransmit { get; set; }

    /// <summary>
    /// How long B's pure ACKs wait for a newer one to replace them (µs; 0: none wait): a receiver that acknowledges a
    /// burst once, as a busy Linux receiver behind GRO does (<c>StretchAckDevice</c> at the frame level). The held ACK
    /// leaves at its deadline, or at once ahead of any other segment of B's.
    /// </summary>
    public long AckHoldMicros { get; set; }

    private (IpAddress Src, IpAddress Dst, byte[] Bytes, long Due)? _heldAck;

    private static bool IsPureAck(ReadOnlySpan<byte> tcp) =>
        tcp.Length >= 20 && (tcp[12] >> 4) * 4 == tcp.Length && tcp[13] == 0x10;

    private void Transmit(int side, IpAddress src, IpAddress dst, ReadOnlySpan<byte> bytes, Instant now)
    {
        if (side == 1 && AckHoldMicros > 0)
        {
            if (IsPureAck(bytes))
            {
                long due = _heldAck is { } h ? h.Due : now.Microseconds + AckHoldMicros;
                _heldAck = (src, dst, bytes.ToArray(), due);
                return;
            }
            ReleaseHeldAck(now);
        }
        Put(side, src, dst, bytes, now);
    }

    private void ReleaseHeldAck(Instant now)
    {
        if (_heldAck is not { } h) return;
        _heldAck = null;
        Put(1, h.Src, h.Dst, h.Bytes, now);
    }

    private void Put(int side, IpAddress src, IpAddress dst, ReadOnlySpan<byte> bytes, Instant now)
    {
        var target = side == 0 ? B : A;
        long t = now.Microseconds;
        OnTransmit?.Invoke(side, now, bytes.Length, _path.RateBytesPerSecond > 0 ? Math.Max(0, _linkFree[side] - t) : 0);
        if (_path.RateBytesPerSecond > 0)
        {
            long start = Math.Max(t, _linkFree[side]);
            _linkFree[side] = start + (bytes.Length + 40) * 1_000_000L / _path.RateBytesPerSecond;
            t = _linkFree[side];
        }
        if (_net.NextDouble() < _path.Loss) { Dropped++; return; }
        long oneWay = _path.Rtt.Ticks / 20;
        int copies = _net.NextDouble() < _path.Duplicate ? 2 : 1;
        for (int i = 0; i < copies; i++)
        {
            long delay = oneWay;
            if (_net.NextDouble() < _path.Reorder) delay += (long)(_net.NextDouble() * Math.Max(oneWay, 2000));
            _wire.Enqueue((target, src, dst, bytes.ToArray()), (t + delay, _order++));
        }
    }

    /// <summary>Runs until <paramref name="done"/> or the virtual time limit; <paramref name="step"/> runs the applications.</summary>
    public bool Run(Func<bool> done, Action step, TimeSpan limit)
    {
        var end = Now + limit;
        int sameTime = 0;
        while (true)
        {
            while (_wire.TryPeek(out var p, out var when) && when.Item1 <= Now.Microseconds)
            {
                _wire.Dequeue();
                var info = new IpPacketInfo(p.Src, p.Dst, IpProtocol.Tcp, 64, 0, 0, 0, false);
                p.Target.Receive(info, p.Bytes, Now);
                Delivered++;
            }
            step();
            A.Poll(Now);
            B.Poll(Now);
            step();
            if (_heldAck is { } held && held.Due <= Now.Microseconds) ReleaseHeldAck(Now);
            if (done()) return true;
            long next = Math.Min(A.NextDeadline.Microseconds, B.NextDeadline.Microseconds);
            if (_heldAck is { } h) next = Math.Min(next, h.Due);
            if (TimerSlackMicros > 0 && next > Now.Microseconds && next != long.MaxValue) next += TimerSlackMicros;
            if (_wire.TryPeek(out _, out var w)) next = Math.Min(next, w.Item1);
            if (next <= Now.Microseconds)
            {
                if (++sameTime > 10_000) throw new InvalidOperationException($"livelock at {Now} (seed {Seed})");
                continue;
            }
            sameTime = 0;
            if (next == long.MaxValue || next > end.Microseconds) return done();
            Now = new Instant(next);
        }
    }
}

/// <summary>A bulk transfer from A to B over a <see cref="TcpSimulation"/>, verifying every byte.</summary>
internal sealed class BulkTransfer
{
    private readonly byte[] _data;
    private readonly byte[] _readBuffer = new byte[64 * 1024];
    private int _sent, _received;
    private bool _mismatch;
    private TcpConnection? _server;

    public BulkTransfer(TcpSimulation sim, int size, TcpSettings? settings = null, ushort port = 80)
    {
        Sim = sim;
        _data = new byte[size];
        new Random((int)(sim.Seed % int.MaxValue)).NextBytes(_data);
        Listener = sim.B.Listen(new IpEndpoint(sim.AddressB, port), 8);
        Client = sim.A.Connect(new IpEndpoint(sim.AddressB, port), sim.Now);
        _ = settings;
    }

    public TcpSimulation Sim { get; }
    public TcpListenSocket Listener { get; }
    public TcpConnection Client { get; }
    public TcpConnection? Server => _server;
    public Instant? CompletedAt { get; private set; }
    public int Received => _received;

    public bool Complete => CompletedAt.HasValue;
    public bool Intact => !_mismatch && _received == _data.Length;

    /// <summary>Runs after each application step (observers: samples of the connections' state).</summary>
    public Action? Observe { get; set; }

    /// <summary>One application step (send, accept, receive and verify); <see cref="Run"/> calls it.</summary>
    public void Step()
    {
        Observe?.Invoke();
        if (_sent < _data.Length)
        {
            _sent += Client.Send(_data.AsSpan(_sent));
            if (_sent == _data.Length) Client.Close();
        }
        if (_server is null && Listener.TryAccept(out var s)) _server = s;
        if (_server is null) return;
        int n;
        while ((n = _server.Receive(_readBuffer)) > 0)
        {
            if (_received + n > _data.Length || !_readBuffer.AsSpan(0, n).SequenceEqual(_data.AsSpan(_received, n))) _mismatch = true;
            _received += n;
        }
        if (_server.ReceiveFinished && CompletedAt is null)
        {
            CompletedAt = Sim.Now;
            _server.Close();
        }
    }

    /// <summary>Runs to completion of data and close; false when the time limit was hit.</summary>
    public bool Run(TimeSpan limit) => Sim.Run(
        () => Complete && (_server!.State == TcpState.Closed) && Client.State is TcpState.TimeWait or TcpState.Closed,
        Step, limit);

    public string Describe() =>
        $"seed {Sim.Seed}: received {_received}/{_data.Length}, mismatch {_mismatch}, client {Client.State} err {Client.Error} " +
        $"server {_server?.State} err {_server?.Error}, now {Sim.Now}, delivered {Sim.Delivered}, dropped {Sim.Dropped}, " +
        $"rtx A {Sim.A.Stats.Retransmissions} timeouts A {Sim.A.Stats.Timeouts}";
}
