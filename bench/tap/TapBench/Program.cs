// The C# side of bench/tap/run.sh: the same measurements as tap_bench.c, through NetStack.Tap.
//   TapBench tx      IFNAME SIZE SECONDS   TapDevice.Transmit in a tight loop
//   TapBench rx      IFNAME SECONDS        TapDevice.WaitForFrames + TryReceive until empty
//   TapBench rx-host IFNAME SECONDS        the same frames through StackHost and a node that drains the device
// Each prints "fps=<frames per wall-clock second> cpufps=<frames per CPU-second of the whole process>"
// over the measured window, after a 0.5 s warm-up (as the C program).
using System.Diagnostics;
using System.Globalization;
using NetStack;
using NetStack.Link;
using NetStack.Tap;

const double Warmup = 0.5;

if (args.Length < 3) return Usage();
var tap = new TapDevice(new TunTapOptions { Name = args[1], OpenMode = TunTapOpenMode.AttachOnly, BringUp = false });
try
{
    switch (args[0])
    {
        case "tx" when args.Length == 4:
            Tx(tap, int.Parse(args[2], CultureInfo.InvariantCulture), double.Parse(args[3], CultureInfo.InvariantCulture));
            return 0;
        case "rx" when args.Length == 3:
            Rx(tap, double.Parse(args[2], CultureInfo.InvariantCulture));
            return 0;
        case "rx-host" when args.Length == 3:
            await RxHost(tap, double.Parse(args[2], CultureInfo.InvariantCulture));
            return 0;
        default:
            return Usage();
    }
}
finally
{
    tap.Dispose();
}

static int Usage()
{
    Console.Error.WriteLine("usage: TapBench tx IFNAME SIZE SECONDS | rx IFNAME SECONDS | rx-host IFNAME SECONDS");
    return 2;
}

static void Tx(TapDevice tap, int size, double seconds)
{
    var frame = new byte[size];
    frame.AsSpan(0, 6).Fill(0xFF);
    byte[] src = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x43];
    src.CopyTo(frame, 6);
    frame[12] = 0x88; frame[13] = 0xB5;
    var now = Instant.Zero;
    double start = Seconds(), measureFrom = start + Warmup, end = measureFrom + seconds, t0 = 0, c0 = 0;
    bool measuring = false;
    long baseFrames = 0;
    while (true)
    {
        for (int i = 0; i < 64; i++) tap.Transmit(frame, now);
        double t = Seconds();
        if (!measuring && t >= measureFrom) { measuring = true; baseFrames = tap.Statistics.FramesTransmitted; t0 = t; c0 = Cpu(); }
        if (t >= end)
        {
            long n = tap.Statistics.FramesTransmitted - baseFrames;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fps={n / (t - t0):F0} cpufps={n / (Cpu() - c0):F0} drops={tap.Statistics.TransmitDrops}"));
            return;
        }
    }
}

static void Rx(TapDevice tap, double seconds)
{
    var buffer = new byte[65536];
    var timeout = TimeSpan.FromMilliseconds(100);
    long frames = 0;
    double measureFrom = 0, end = 0, t0 = 0, c0 = 0, t;
    int state = 0; // 0: waiting for the first frame, 1: warm-up, 2: measuring
    while (true)
    {
        tap.WaitForFrames(timeout);
        while (tap.TryReceive(buffer, default, out _)) frames++;
        t = Seconds();
        if (state == 0 && frames > 0) { state = 1; measureFrom = t + Warmup; }
        else if (state == 1 && t >= measureFrom) { state = 2; frames = 0; t0 = t; c0 = Cpu(); end = t + seconds; }
        else if (state == 2 && t >= end) break;
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fps={frames / (t - t0):F0} cpufps={frames / (Cpu() - c0):F0}"));
}

static async Task RxHost(TapDevice tap, double seconds)
{
    var node = new DrainingNode(tap);
    await using var host = new StackHost(node, [tap]);
    host.Start();
    while (Volatile.Read(ref node.Frames) == 0) await Task.Delay(1);
    await Task.Delay(TimeSpan.FromSeconds(Warmup));
    long f0 = Volatile.Read(ref node.Frames);
    double t0 = Seconds(), c0 = Cpu();
    await Task.Delay(TimeSpan.FromSeconds(seconds));
    long f1 = Volatile.Read(ref node.Frames);
    double t1 = Seconds(), c1 = Cpu();
    await host.StopAsync();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fps={(f1 - f0) / (t1 - t0):F0} cpufps={(f1 - f0) / (c1 - c0):F0}"));
}

static double Cpu() => Environment.CpuUsage.TotalTime.TotalSeconds;

static double Seconds() => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;

/// <summary>A node that only drains its device: the loop's own cost, without a protocol stack.</summary>
sealed class DrainingNode(INetDevice device) : IPollable
{
    private readonly byte[] _buffer = new byte[65536];
    public long Frames;

    public Instant Poll(Instant now)
    {
        long n = 0;
        while (device.TryReceive(_buffer, now, out _)) n++;
        Volatile.Write(ref Frames, Frames + n);
        return Instant.MaxValue;
    }
}
