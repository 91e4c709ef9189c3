using System.Diagnostics;
using System.Globalization;
using NetStack.Interop.Tests.Support;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.Traceroute;

/// <summary>
/// Issue 15's cases on the kernel-router lab, ours beside Linux traceroute 2.1: TCP probes and the packet length, -F
/// against a learned path MTU and beyond the interface MTU, -O info, --back, refused inputs (messages and exit codes),
/// and the wall time of the sequential modes.
/// </summary>
[Collection(TracerouteLabCollection.Name)]
public sealed class LinuxParityTests(TracerouteLabFixture fixture, ITestOutputHelper log)
{
    private static string Path(string target, int q, int size, string h1, string h2, string h3) =>
        $"traceroute to {target} ({target}), 30 hops max, {size} byte packets\n" +
        $" 1  {h1}{Answers(q)}\n 2  {h2}{Answers(q)}\n 3  {h3}{Answers(q)}\n 4  {target}{Answers(q)}\n";

    private static string Path4(int q, int size = 60) => Path(TracerouteLab.TargetV4, q, size, "198.51.100.1", "192.0.2.2", "192.0.2.6");
    private static string Path6(int q, int size = 80) => Path(TracerouteLab.TargetV6, q, size, "2001:db8:1::1", "2001:db8:12::2", "2001:db8:23::6");
    private static string Answers(int q) => string.Concat(Enumerable.Repeat("  N ms", q));

    [SkippableTheory]
    [InlineData("-T -n -w 5 -q 1", "1000")]  // the packet length is ignored: bare SYNs
    [InlineData("-T --mtu -n -w 2 -q 1", "")] // under --mtu too, and no F=
    public async Task Tcp_probes_ignore_the_packet_length_as_linux_does(string args, string length)
    {
        Root.Require();
        var lab = fixture.Lab;
        string[] extra = length.Length > 0 ? [length] : [];
        var (linux4, ours4) = await lab.RunBothAsync([.. args.Split(' '), TracerouteLab.TargetV4, .. extra]);
        TraceText.AssertBothPrint(log, Path4(1), linux4, ours4);
        var (linux6, ours6) = await lab.RunBothAsync([.. args.Split(' '), TracerouteLab.TargetV6, .. extra]);
        TraceText.AssertBothPrint(log, Path6(1), linux6, ours6);
    }

    [SkippableFact]
    public async Task Dont_fragment_ignores_the_learned_path_mtu_every_probe_is_answered_by_the_router()
    {
        Root.Require();
        var lab = fixture.Lab;
        lab.SetR2R3Mtu(1400);
        try
        {
            // One probe at a time: the later probes of hop 3 leave after the first "!F-1400" taught the path MTU, and
            // (IP_PMTUDISC_PROBE) still leave at 1500 bytes; R2 answers each.
            lab.FlushClientRouteCache();
            var (linux4, ours4) = await lab.RunBothAsync("-n", "-w", "2", "-q", "3", "-N", "1", "-F", TracerouteLab.TargetV4, "1500");
            TraceText.AssertBothPrint(log,
                "traceroute to 203.0.113.10 (203.0.113.10), 30 hops max, 1500 byte packets\n" +
                " 1  198.51.100.1  N ms  N ms  N ms\n 2  192.0.2.2  N ms  N ms  N ms\n 3  192.0.2.2  N ms !F-1400  N ms !F-1400  N ms !F-1400\n",
                linux4, ours4);
            lab.FlushClientRouteCache();
            var (linux6, ours6) = await lab.RunBothAsync("-n", "-w", "2", "-q", "3", "-N", "1", "-F", TracerouteLab.TargetV6, "1500");
            TraceText.AssertBothPrint(log,
                "traceroute to 2001:db8:99::10 (2001:db8:99::10), 30 hops max, 1500 byte packets\n" +
                " 1  2001:db8:1::1  N ms  N ms  N ms\n 2  2001:db8:12::2  N ms  N ms  N ms\n 3  2001:db8:12::2  N ms !F-1400  N ms !F-1400  N ms !F-1400\n",
                linux6, ours6);
        }
        finally
        {
            lab.SetR2R3Mtu(1500);
            lab.FlushClientRouteCache();
        }
    }

    [SkippableTheory]
    [InlineData("", TracerouteLab.TargetV4, " 1  *  N ms !F-1500 *  N ms !F-1500")]  // UDP: each probe's socket gets its local error
    [InlineData("", TracerouteLab.TargetV6, " 1  *  N ms !F-1500 *  N ms !F-1500")]
    [InlineData("-I", TracerouteLab.TargetV4, " 1  *  N ms !F-1500 *")]             // ICMP: one socket, the first probe gets it
    public async Task A_dont_fragment_probe_larger_than_the_interface_prints_the_local_error_with_a_time(string method, string target, string line)
    {
        Root.Require();
        string[] m = method.Length > 0 ? [method] : [];
        var (linux, ours) = await fixture.Lab.RunBothAsync([.. m, "-n", "-w", "1", "-q", "2", "-F", target, "1600"]);
        TraceText.AssertBothPrint(log, $"traceroute to {target} ({target}), 30 hops max, 1600 byte packets\n{line}\n", linux, ours);
    }

    [SkippableTheory]
    [InlineData("80", "<syn,ack>")]
    [InlineData("81", "<rst,ack>")]
    public async Task Tcp_info_prints_the_flags_of_the_targets_answer(string port, string flags)
    {
        Root.Require();
        var (linux, ours) = await fixture.Lab.RunBothAsync("-T", "-O", "info", "-p", port, "-n", "-w", "5", "-q", "1", TracerouteLab.TargetV4);
        TraceText.AssertBothPrint(log, Path4(1).Replace(" 4  203.0.113.10", $" 4  203.0.113.10 {flags}", StringComparison.Ordinal), linux, ours);
    }

    [SkippableTheory]
    [InlineData(TracerouteLab.TargetV4)]
    [InlineData(TracerouteLab.TargetV6)]
    public async Task Back_and_sport_print_what_linux_prints(string target)
    {
        Root.Require();
        var lab = fixture.Lab;
        var (linux, ours) = await lab.RunBothAsync("--back", "-n", "-w", "5", "-q", "2", target);
        log.WriteLine($"--back Linux:\n{linux}\nours:\n{ours}");
        Assert.Equal(TraceText.Mask(linux, "Linux"), TraceText.Mask(ours, "ours"));
        (linux, ours) = await lab.RunBothAsync("--sport=40001", "-n", "-w", "5", "-q", "1", target);
        log.WriteLine($"--sport Linux:\n{linux}\nours:\n{ours}");
        Assert.Equal(TraceText.Mask(linux, "Linux"), TraceText.Mask(ours, "ours"));
    }

    [SkippableTheory]
    [InlineData("-s 192.0.2.77 -n 203.0.113.10")]    // not our address: bind() fails after the header (UDP)
    [InlineData("-I -s 192.0.2.77 -n 203.0.113.10")] // ... before it (ICMP)
    [InlineData("-4 -n 2001:db8:99::10")]            // a literal of the other family
    [InlineData("-6 -n 203.0.113.10")]
    [InlineData("-T -O foo -n 203.0.113.10")]        // an option the module does not know
    [InlineData("-O help")]
    public void Refused_inputs_get_the_same_message_and_exit_code_as_linux(string args)
    {
        Root.Require();
        var lab = fixture.Lab;
        var linux = lab.RunLinuxRaw(args.Split(' '));
        var ours = lab.RunCommandLineRaw(args.Split(' '));
        log.WriteLine($"Linux ({linux.ExitCode}): [{linux.Out}] [{linux.Err}]\nours ({ours.ExitCode}): [{ours.Out}] [{ours.Err}]");
        Assert.Equal(linux.ExitCode, ours.ExitCode);
        Assert.Equal(linux.Out, ours.Out);
        // The argv position in "Cannot handle ... (argc N)" counts our device options too; the rest is the same.
        static string Norm(string e) => System.Text.RegularExpressions.Regex.Replace(e, @"\(argc \d+\)", "(argc N)");
        Assert.Equal(Norm(linux.Err), Norm(ours.Err));
    }

    [SkippableTheory]
    [InlineData("--mtu -n -w 2 -q 1", TracerouteLab.TargetV4)]
    [InlineData("--mtu -n -w 2 -q 1", TracerouteLab.TargetV6)]
    [InlineData("-N 1 -n -w 5 -q 3", TracerouteLab.TargetV4)]
    [InlineData("-T -N 1 -n -w 5 -q 3", TracerouteLab.TargetV6)]
    [InlineData("-N 1 -z 0.05 -n -w 5 -q 3", TracerouteLab.TargetV4)]
    // Each method in each family, sequential.
    [InlineData("-N 1 -n -w 5 -q 3", TracerouteLab.TargetV6)]
    [InlineData("-I -N 1 -n -w 5 -q 3", TracerouteLab.TargetV4)]
    [InlineData("-I -N 1 -n -w 5 -q 3", TracerouteLab.TargetV6)]
    [InlineData("-T -N 1 -n -w 5 -q 3", TracerouteLab.TargetV4)]
    [InlineData("-U -p 33434 -N 1 -n -w 5 -q 3", TracerouteLab.TargetV4)]
    [InlineData("-U -p 33434 -N 1 -n -w 5 -q 3", TracerouteLab.TargetV6)]
    [InlineData("-I --mtu -n -w 2 -q 1", TracerouteLab.TargetV4)]
    [InlineData("-I --mtu -n -w 2 -q 1", TracerouteLab.TargetV6)]
    [InlineData("-U -p 33434 --mtu -n -w 2 -q 1", TracerouteLab.TargetV6)]
    public async Task Sequential_modes_finish_within_twice_linux_wall_time(string args, string target)
    {
        Root.Require();
        var lab = fixture.Lab;
        lab.SetR2R3Mtu(1400);
        try
        {
            lab.FlushClientRouteCache();
            var sw = Stopwatch.StartNew();
            string linux = lab.RunLinux([.. args.Split(' '), target]);
            var linuxTime = sw.Elapsed;
            sw.Restart();
            string ours = await lab.RunOursAsync([.. args.Split(' '), target]);
            var oursTime = sw.Elapsed;
            string report = string.Create(CultureInfo.InvariantCulture,
                $"traceroute {args} {target}: Linux {linuxTime.TotalSeconds:F3} s, ours {oursTime.TotalSeconds:F3} s\nLinux:\n{linux}\nours:\n{ours}");
            log.WriteLine(report);
            Assert.Equal(TraceText.Mask(linux, "Linux"), TraceText.Mask(ours, "ours"));
            // Twice Linux's time, plus 1 s for what only ours does in the run: a stack on a TAP made from nothing (the
            // lost wake-up cost seconds per probe: a whole -w wait).
            Assert.True(oursTime <= 2 * linuxTime + TimeSpan.FromSeconds(1), report);
        }
        finally
        {
            lab.SetR2R3Mtu(1500);
            lab.FlushClientRouteCache();
        }
    }

    [SkippableTheory]
    [InlineData("-4", TracerouteLab.TargetV4)]
    [InlineData("-6", TracerouteLab.TargetV6)]
    public async Task A_host_name_is_resolved_as_linux_resolves_it(string family, string address)
    {
        Root.Require();
        var lab = fixture.Lab;
        lab.StartDns();
        // Linux asks dnsmasq through C's resolv.conf; ours through its own stack, with --dns.
        var linux = Task.Run(() => lab.RunLinux(family, "-n", "-w", "5", "-q", "1", TracerouteLab.TargetName));
        var ours = await lab.RunOursAsync("--dns", TracerouteLab.TargetV4, family, "-n", "-w", "5", "-q", "1", TracerouteLab.TargetName);
        string expected = (family == "-4" ? Path4(1) : Path6(1))
            .Replace($"traceroute to {address} ({address})", $"traceroute to {TracerouteLab.TargetName} ({address})", StringComparison.Ordinal);
        TraceText.AssertBothPrint(log, expected, await linux, ours);
    }

    [SkippableFact]
    public async Task Round_trips_over_a_delayed_hop_match_linux()
    {
        // Hop 3 is 20 ms further than hop 2 (a user-space relay in the lab, 10 ms each way). Before the per-frame stamps,
        // ours showed 35 ms where Linux showed 21 (send times read before ARP and first-use JIT, answers stamped with the
        // time their poll turn began).
        Root.Require();
        var lab = fixture.Lab;
        lab.StartDelayedHop();
        // One probe at a time (-N 1): probes in flight together cross the relay together, and one hiccup of its thread
        // then delays all of them alike (whole runs were 3-4 ms off at load average 50-70); one after the other, each
        // probe meets the relay afresh and the minimum and the lower quartile see through the hiccups.
        string[] args = ["-n", "-N", "1", "-w", "5", "-q", "10", TracerouteLab.DelayedTarget];
        // A warm process is compared. The first trace of a JIT process compiles the whole reply path while the answers
        // of the first batch wait in the TAP's queue, and a TAP gives no kernel receive time (Linux reads SO_TIMESTAMP):
        // they are stamped when read, 7-37 ms late on every probe of the first batch when this test ran alone (it passed
        // only after other lab tests had warmed the JIT). That is the JIT's cost, not the per-frame stamps' (the Native
        // AOT binary has no JIT); README and --help say so.
        await lab.RunOursAsync("-n", "-w", "5", "-q", "1", TracerouteLab.DelayedTarget);
        static List<double> Hop3(string text)
        {
            var line = text.Split('\n').Single(l => l.StartsWith(" 3 ", StringComparison.Ordinal));
            return System.Text.RegularExpressions.Regex.Matches(line, @"(\d+\.\d{3}) ms").Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        }
        // Interleaved rounds (Linux, ours, Linux, ours, ...), their samples pooled: a CPU hog beside the test delays
        // some probes of either tool by whole scheduler slices, and more rounds give both the same chance of quiet
        // moments. A systematic offset (the defect was 14 ms on every probe) moves every sample and fails every round.
        var l = new List<double>();
        var o = new List<double>();
        var runs = new System.Text.StringBuilder();
        string report = "";
        bool close = false;
        for (int round = 1; round <= 3 && !close; round++)
        {
            string linux = lab.RunLinux(args);
            string ours = await lab.RunOursAsync(args);
            runs.Append(CultureInfo.InvariantCulture, $"round {round}\nLinux:\n{linux}\nours:\n{ours}\n");
            var lr = Hop3(linux);
            var ou = Hop3(ours);
            Assert.True(lr.Count == 10 && ou.Count == 10, runs.ToString());
            l.AddRange(lr);
            o.AddRange(ou);
            l.Sort();
            o.Sort();
            int q = l.Count / 4;
            report = string.Create(CultureInfo.InvariantCulture,
                $"hop 3 over {round} round(s), Linux / ours: minimum {l[0]:F3} / {o[0]:F3} ms, lower quartile {l[q]:F3} / {o[q]:F3} ms, median {l[l.Count / 2]:F3} / {o[o.Count / 2]:F3} ms\n{runs}");
            close = Math.Abs(o[0] - l[0]) <= 1.0 && Math.Abs(o[q] - l[q]) <= 3.0;
        }
        log.WriteLine(report);
        Assert.True(l[0] >= 19.5, report); // the relay does delay
        // A loaded machine only ever adds time (the relay is a thread of this process; both processes wait for a core),
        // and it adds unevenly to two runs made one after the other: at load average 45-70 on two cores the medians of
        // the two differed by 2-4 ms either way. The minima are what the stamps alone give: they must be within the
        // issue's 1 ms (the defect was 14 ms on every probe); the lower quartiles within 3 ms.
        int k = l.Count / 4;
        Assert.True(Math.Abs(o[0] - l[0]) <= 1.0, report);
        Assert.True(Math.Abs(o[k] - l[k]) <= 3.0, report);
    }
}
