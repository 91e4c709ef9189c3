using System.Diagnostics;
using System.Globalization;
using NetStack.Link;
using NetStack.Network;
using NetStack.Tap;
using NetStack.Transport.Tcp;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Bench.Tcp;

/// <summary>
/// One NetStack stack (Ethernet, IPv4, TCP) on a TAP, driven by <see cref="StackHost"/>, serving one TCP connection
/// from a kernel peer on the other side of the TAP: <c>sink</c> reads and discards until the peer's FIN (kernel ->
/// NetStack); <c>source</c> writes a pattern for SECONDS, then closes and waits until everything is acknowledged
/// (NetStack -> kernel). Prints the bytes moved, the wall time and the CPU time of the whole process over the
/// transfer (from the accept to the end), then exits.
/// </summary>
internal static class TapPeer
{
    public static int Run(bool sink, string tapName, string addressWithPrefix, ushort port, double seconds, int bufferKb, TextWriter output)
    {
        using var tap = new TapDevice(new TunTapOptions { Name = tapName, OpenMode = TunTapOpenMode.AttachOnly, BringUp = true });
        var stack = new NetworkStack(new StackOptions(), SystemRandomSource.Instance);
        var cidr = Ipv4Cidr.Parse(addressWithPrefix);
        stack.AddInterface(tap, new InterfaceConfig { Ipv4Addresses = [cidr], EnableIpv6 = false }, StackHost.Now);
        var settings = new TcpSettings { SendBufferSize = bufferKb * 1024, ReceiveBufferSize = bufferKb * 1024, ReceiveBufferMax = bufferKb * 1024 };
        var tcp = new TcpLayer(stack, SystemRandomSource.Instance, settings);
        stack.RegisterTransport(IpProtocol.Tcp, tcp);
        var listener = tcp.Listen(new IpEndpoint(cidr.Address, port), 4);

        var app = new App(listener, sink, seconds);
        using var host = new StackHost(new AppStep(stack, app.Step), [tap]);
        host.Start();
        bool finished = app.Finished.Wait(TimeSpan.FromSeconds(seconds + 60));
        host.StopAsync().GetAwaiter().GetResult();
        if (!finished) { Console.Error.WriteLine("tap peer: timed out"); return 1; }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"tap {(sink ? "sink" : "source")} buffers={bufferKb}KB bytes={app.Bytes} wall={app.Wall:0.###} cpu={app.Cpu:0.###} wallBps={app.Bytes / app.Wall:0} cpuBps={app.Bytes / app.Cpu:0} cpuSecPerGB={app.Cpu / (app.Bytes / 1e9):0.###} rtx={tcp.Stats.Retransmissions} framesIn={tap.Statistics.FramesReceived} framesOut={tap.Statistics.FramesTransmitted}"));
        return 0;
    }

    private sealed class AppStep(IPollable stack, Func<Instant, bool> step) : IPollable
    {
        public Instant Poll(Instant now)
        {
            step(now);
            var next = stack.Poll(now);
            if (step(now)) next = now;
            return next;
        }
    }

    private sealed class App(TcpListenSocket listener, bool sink, double seconds)
    {
        private readonly byte[] _buffer = CreatePattern();
        private TcpConnection? _c;
        private long _start;
        private double _cpu0;
        private bool _closing;

        public ManualResetEventSlim Finished { get; } = new();
        public long Bytes { get; private set; }
        public double Wall { get; private set; }
        public double Cpu { get; private set; }

        private static byte[] CreatePattern()
        {
            var b = new byte[64 * 1024];
            for (int i = 0; i < b.Length; i++) b[i] = (byte)('A' + i % 26);
            return b;
        }

        public bool Step(Instant now)
        {
            if (Finished.IsSet) return false;
            if (_c is null)
            {
                if (!listener.TryAccept(out _c)) return false;
                _start = Stopwatch.GetTimestamp();
                _cpu0 = Environment.CpuUsage.TotalTime.TotalSeconds;
            }
            bool progress = false;
            if (sink)
            {
                int n;
                while ((n = _c.Receive(_buffer)) > 0) { Bytes += n; progress = true; }
                if (_c.ReceiveFinished || _c.State == TcpState.Closed) { _c.Close(); End(); }
                return progress;
            }
            if (!_closing)
            {
                if (Stopwatch.GetElapsedTime(_start).TotalSeconds >= seconds) { _c.Close(); _closing = true; return true; }
                int n;
                while ((n = _c.Send(_buffer)) > 0) { Bytes += n; progress = true; }
                return progress;
            }
            // Done when our FIN, and so every byte before it, is acknowledged.
            if (_c.State is TcpState.Closed or TcpState.TimeWait or TcpState.FinWait2) End();
            return false;
        }

        private void End()
        {
            Wall = Stopwatch.GetElapsedTime(_start).TotalSeconds;
            Cpu = Environment.CpuUsage.TotalTime.TotalSeconds - _cpu0;
            Finished.Set();
        }
    }
}
