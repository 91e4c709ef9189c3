// TCP throughput benchmarks of NetStack (see bench/tcp/README section in bench/README.md):
//   TcpThroughput sim [SEED=1] [BYTES=10485760] [SEEDS=5] [noprr|ssrb]  goodput table over the simulator (virtual time)
//   TcpThroughput sim-one SEED RTT_MS LOSS BUF_KB|default cubic|newreno|bbr [BYTES] [noprr|ssrb] [stretchack]
//   (stretchack: the receiver acknowledges like a busy Linux receiver, one ACK per burst: StretchAckDevice, 100 µs hold;
//    ptomin=MICROSECONDS: TcpSettings.TailLossProbeMinimum; tlps=N: TcpSettings.MaxTailLossProbes)
//   (noprr: TcpSettings.ProportionalRateReduction = false, the RFC 6675 recovery before PRR;
//    ssrb: TcpSettings.PrrBound = SlowStartOnEveryAck, RFC 6937's reduction bound)
//   TcpThroughput mem [SECONDS=3] [ROUNDS=1]             two stacks in memory, real clock, as fast as possible
//                                                         (a link of wire frames, then one with a veth's offloads)
//   TcpThroughput tap-sink|tap-source TAP ADDR/LEN PORT SECONDS [BUF_KB=1024]   one stack on a TAP, kernel peer (run.sh)
using System.Globalization;
using NetStack.Bench.Tcp;
using NetStack.Transport.Tcp;

var inv = CultureInfo.InvariantCulture;
bool prr = !args.Contains("noprr");
var bound = args.Contains("ssrb") ? PrrReductionBound.SlowStartOnEveryAck : PrrReductionBound.Rfc9937;
var stretchAck = args.Contains("stretchack") ? TimeSpan.FromMicroseconds(100) : TimeSpan.Zero;
// ptomin=MICROSECONDS: TcpSettings.TailLossProbeMinimum; tlps=N: TcpSettings.MaxTailLossProbes (sim-one)
var ptoMin = args.FirstOrDefault(a => a.StartsWith("ptomin=", StringComparison.Ordinal)) is { } pm ? TimeSpan.FromMicroseconds(double.Parse(pm[7..], inv)) : (TimeSpan?)null;
var tlps = args.FirstOrDefault(a => a.StartsWith("tlps=", StringComparison.Ordinal)) is { } tl ? int.Parse(tl[5..], inv) : (int?)null;
args = [.. args.Where(a => a is not "noprr" and not "ssrb" and not "stretchack" && !a.Contains('=', StringComparison.Ordinal))];
string mode = args.Length > 0 ? args[0] : "";
switch (mode)
{
    case "sim":
        return SimGoodput.RunTable(args.Length > 1 ? ulong.Parse(args[1], inv) : 1, args.Length > 2 ? long.Parse(args[2], inv) : 10L << 20,
            args.Length > 3 ? int.Parse(args[3], inv) : 5, Console.Out, prr, bound);
    case "sim-one" when args.Length >= 6:
    {
        var s = new TcpSettings { ProportionalRateReduction = prr, PrrBound = bound };
        if (args[4] != "default") s = s with { SendBufferSize = int.Parse(args[4], inv) * 1024, ReceiveBufferSize = int.Parse(args[4], inv) * 1024, ReceiveBufferMax = int.Parse(args[4], inv) * 1024 };
        s = s with { Congestion = args[5] switch { "newreno" => CongestionAlgorithm.NewReno, "bbr" => CongestionAlgorithm.Bbr, _ => CongestionAlgorithm.Cubic } };
        if (ptoMin is { } m) s = s with { TailLossProbeMinimum = m };
        if (tlps is { } t) s = s with { MaxTailLossProbes = t };
        var c = SimGoodput.Run(ulong.Parse(args[1], inv), double.Parse(args[2], inv), double.Parse(args[3], inv), s, args.Length > 6 ? long.Parse(args[6], inv) : 10L << 20, stretchAck);
        Console.WriteLine(string.Create(inv, $"goodput={c.BytesPerSecond:0} B/s complete={c.Complete} virtual={c.Elapsed.TotalSeconds:0.###}s rtx={c.Retransmissions} rto={c.Timeouts} tlp={c.Probes}"));
        if (args.Contains("gaps") || Environment.GetEnvironmentVariable("SIM_GAPS") is not null) Console.WriteLine(SimGoodput.Gaps);
        return c.Complete ? 0 : 1;
    }
    case "mem":
        return MemThroughput.Run(args.Length > 1 ? double.Parse(args[1], inv) : 3, Console.Out);
    case "tap-sink" or "tap-source" when args.Length is 5 or 6:
        return TapPeer.Run(mode == "tap-sink", args[1], args[2], ushort.Parse(args[3], inv), double.Parse(args[4], inv),
            args.Length == 6 ? int.Parse(args[5], inv) : 1024, Console.Out);
    default:
        Console.Error.WriteLine("usage: TcpThroughput sim [SEED] [BYTES] [SEEDS] [noprr|ssrb] | sim-one SEED RTT_MS LOSS BUF_KB|default cubic|newreno|bbr [BYTES] [noprr|ssrb] | mem [SECONDS] | tap-sink|tap-source TAP ADDR/LEN PORT SECONDS [BUF_KB]");
        return 2;
}
