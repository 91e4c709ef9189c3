using System.Globalization;
using NetStack.Interop.Tests.Support;
using NetStack.Link;
using NetStack.Samples.Traceroute;
using NetStack.Tap;

namespace NetStack.Interop.Tests.Traceroute;

/// <summary>
/// A dual-stack path of kernel routers for comparing our traceroute with Linux traceroute 2.1, every node a namespace
/// this lab made, documentation addresses only:
/// <code>
///  [our stack]-TAP--+                                    +--R3 ---------+
///                   br0 R1 --- R2 ---(equal cost)-------+               +--- T (203.0.113.10, .20 / 2001:db8:99::10, ::20)
///  C (Linux)-veth---+                                    +--R3b --------+     (.20 / ::20 reached over both R3 and R3b)
/// </code>
/// C and our TAP sit on one bridge in R1 (198.51.100.0/24, 2001:db8:1::/64), so both see the same hop addresses.
/// R2 holds the special routes: unreachable, prohibit, blackhole for .101/.102/.103 (::101...), and no route at all
/// for .200 (::200). ICMP rate limits of the routers are off (per namespace), so every probe gets its answer.
/// </summary>
internal sealed class TracerouteLab : IDisposable
{
    public const string TargetV4 = "203.0.113.10";
    public const string TargetV6 = "2001:db8:99::10";
    public const string MultipathV4 = "203.0.113.20";
    public const string MultipathV6 = "2001:db8:99::20";

    private static readonly TimeSpan TraceTimeout = TimeSpan.FromSeconds(60);
    private readonly NetnsLab _lab = new();
    private readonly TapDevice _tap;
    private DateTime _lastTrace = DateTime.MinValue;
    private string? _persistentTap;

    public string C { get; }
    public string R1 { get; }
    public string R2 { get; }
    public string R3 { get; }
    public string R3b { get; }
    public string T { get; }

    /// <summary>R2's end of the R2-R3 link (the one whose MTU the MTU cases lower) and R3's end.</summary>
    public (string R2Side, string R3Side) R2R3 { get; }

    public TracerouteLab()
    {
        try
        {
            C = _lab.CreateNamespace();
            R1 = _lab.CreateNamespace();
            R2 = _lab.CreateNamespace();
            R3 = _lab.CreateNamespace();
            R3b = _lab.CreateNamespace();
            T = _lab.CreateNamespace();
            foreach (var ns in new[] { C, R1, R2, R3, R3b, T })
            {
                // Before any link arrives, so that new interfaces inherit "default": no DAD delay, no router advertisements.
                NetnsLab.RunIn(ns, "sysctl", "-qw",
                    "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                    "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                    "net.ipv6.conf.all.accept_ra=0", "net.ipv6.conf.default.accept_ra=0",
                    // Every probe must be answered: the per-destination ICMP token buckets would otherwise drop most
                    // answers to 16 probes in flight (the IPv4 route-error bucket is global; see RouteErrorQuietPeriod).
                    "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0",
                    // The host-wide ICMP budget (icmp_msgs_per_sec 1000, burst 50, with a random share taken off the
                    // burst since Linux 6.12) is consumed by every namespace: Linux's and our traces run at once, so a
                    // router's time-exceeded for Linux's probe was sometimes refused. These routers may always answer.
                    "net.ipv4.icmp_msgs_per_sec=1000000", "net.ipv4.icmp_msgs_burst=1000000",
                    // Equal-cost paths hashed on the flow without its source address (policy 3, custom fields: destination
                    // address 0x02, protocol 0x04, source port 0x10, destination port 0x20), with a fixed seed: Linux's
                    // probe and ours sent with the same ports take the same path, every run (see EcmpParityTests).
                    "net.ipv4.fib_multipath_hash_policy=3", "net.ipv6.fib_multipath_hash_policy=3",
                    "net.ipv4.fib_multipath_hash_fields=0x36", "net.ipv6.fib_multipath_hash_fields=0x36",
                    "net.ipv4.fib_multipath_hash_seed=1508");
            }

            var (c0, r1c) = _lab.CreateVethPair(C, R1);
            var (r12, r21) = _lab.CreateVethPair(R1, R2);
            var (r23, r32) = _lab.CreateVethPair(R2, R3);
            var (r34, t43) = _lab.CreateVethPair(R3, T);
            var (r25, r52) = _lab.CreateVethPair(R2, R3b);
            var (r54, t45) = _lab.CreateVethPair(R3b, T);
            R2R3 = (r23, r32);
            _tap = _lab.CreateTap(R1);

            Batch(C,
                $"addr add 198.51.100.3/24 dev {c0}", $"addr add 2001:db8:1::3/64 dev {c0} nodad",
                "route add default via 198.51.100.1", "route add default via 2001:db8:1::1");
            // br0's address is set, not inherited: a bridge whose address was not set takes the lowest address of its
            // ports, so the persistent TAP added later (RunCommandLine) would change it whenever its random address sorts
            // lower, and C would keep sending to the old one (every Linux probe lost; CI saw it).
            Batch(R1,
                "link add br0 address 02:4e:53:00:01:01 type bridge", $"link set {r1c} master br0", $"link set {_tap.Name} master br0", "link set br0 up",
                "addr add 198.51.100.1/24 dev br0", "addr add 2001:db8:1::1/64 dev br0 nodad",
                $"addr add 192.0.2.1/30 dev {r12}", $"addr add 2001:db8:12::1/64 dev {r12} nodad",
                "route add default via 192.0.2.2", "route add default via 2001:db8:12::2");
            Batch(R2,
                $"addr add 192.0.2.2/30 dev {r21}", $"addr add 2001:db8:12::2/64 dev {r21} nodad",
                $"addr add 192.0.2.5/30 dev {r23}", $"addr add 2001:db8:23::5/64 dev {r23} nodad",
                $"addr add 192.0.2.13/30 dev {r25}", $"addr add 2001:db8:25::13/64 dev {r25} nodad",
                "route add 198.51.100.0/24 via 192.0.2.1", "route add 2001:db8:1::/64 via 2001:db8:12::1",
                $"route add {TargetV4}/32 via 192.0.2.6", $"route add {TargetV6}/128 via 2001:db8:23::6",
                $"route add {MultipathV4}/32 nexthop via 192.0.2.6 nexthop via 192.0.2.14",
                $"route add {MultipathV6}/128 nexthop via 2001:db8:23::6 nexthop via 2001:db8:25::14",
                "route add unreachable 203.0.113.101/32", "route add unreachable 2001:db8:99::101/128",
                "route add prohibit 203.0.113.102/32", "route add prohibit 2001:db8:99::102/128",
                "route add blackhole 203.0.113.103/32", "route add blackhole 2001:db8:99::103/128");
            Batch(R3,
                $"addr add 192.0.2.6/30 dev {r32}", $"addr add 2001:db8:23::6/64 dev {r32} nodad",
                $"addr add 192.0.2.9/30 dev {r34}", $"addr add 2001:db8:34::9/64 dev {r34} nodad",
                "route add default via 192.0.2.5", "route add default via 2001:db8:23::5",
                "route add 203.0.113.0/24 via 192.0.2.10", "route add 2001:db8:99::/64 via 2001:db8:34::10");
            Batch(R3b,
                $"addr add 192.0.2.14/30 dev {r52}", $"addr add 2001:db8:25::14/64 dev {r52} nodad",
                $"addr add 192.0.2.17/30 dev {r54}", $"addr add 2001:db8:54::17/64 dev {r54} nodad",
                "route add default via 192.0.2.13", "route add default via 2001:db8:25::13",
                "route add 203.0.113.0/24 via 192.0.2.18", "route add 2001:db8:99::/64 via 2001:db8:54::18");
            Batch(T,
                $"addr add 192.0.2.10/30 dev {t43}", $"addr add 2001:db8:34::10/64 dev {t43} nodad",
                $"addr add 192.0.2.18/30 dev {t45}", $"addr add 2001:db8:54::18/64 dev {t45} nodad",
                $"addr add {TargetV4}/32 dev lo", $"addr add {MultipathV4}/32 dev lo",
                $"addr add {TargetV6}/128 dev lo", $"addr add {MultipathV6}/128 dev lo",
                "route add default via 192.0.2.9", "route add default via 2001:db8:34::9");

            // For diagnosis: TRACELAB_CAPTURE=DIR records every frame of R1 and R2 (tcpdump -i any) into DIR.
            if (Environment.GetEnvironmentVariable("TRACELAB_CAPTURE") is { Length: > 0 } dir)
            {
                foreach (var (name, ns) in new[] { ("r1", R1), ("r2", R2) })
                    _lab.StartIn(ns, "tcpdump", "-U", "-n", "-i", "any", "-w", Path.Combine(dir, $"tracelab-{name}.pcap"));
            }

            // An open TCP port 80 on the target (both families); port 81 stays closed.
            _lab.StartIn(T, "socat", "TCP6-LISTEN:80,ipv6only=0,reuseaddr,fork", "EXEC:/bin/true");
            WaitFor(() => NetnsLab.RunIn(T, "ss", "-Hltn", "sport = :80").StandardOutput.Contains(":80", StringComparison.Ordinal),
                "socat listening on port 80 in T");
            // The Linux client reaches the target in both families before any comparison starts.
            foreach (var target in new[] { TargetV4, TargetV6, MultipathV4, MultipathV6 })
                WaitFor(() => NetnsLab.TryRun("ip", "netns", "exec", C, "ping", "-c", "1", "-W", "1", target).Succeeded, $"ping {target} from C");
        }
        catch
        {
            _lab.Dispose();
            throw;
        }
    }

    /// <summary>Runs Linux <c>traceroute</c> in the client namespace C and returns what it printed.</summary>
    public string RunLinux(params string[] args)
    {
        var r = NetnsLab.TryRun("ip", ["netns", "exec", C, "traceroute", .. args]);
        _lastTrace = DateTime.UtcNow;
        if (!r.Succeeded) throw new InvalidOperationException($"'{r.Command}' failed ({r.ExitCode}): {r.StandardError}{r.StandardOutput}");
        return r.StandardOutput;
    }

    /// <summary>
    /// Runs our traceroute (the sample's device mode, in this process) on the TAP whose kernel end is on R1's bridge,
    /// addressed 198.51.100.2/24 and 2001:db8:1::2/64 with R1 as gateway, and returns what it printed.
    /// </summary>
    public async Task<string> RunOursAsync(params string[] args)
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        await RunOursAsync(output, d => d, args).ConfigureAwait(false);
        return output.ToString();
    }

    /// <summary>As <see cref="RunOursAsync(string[])"/>, writing to <paramref name="output"/>, on the lab's TAP as <paramref name="wrap"/> wraps it.</summary>
    public async Task RunOursAsync(TextWriter output, Func<INetDevice, INetDevice> wrap, params string[] args)
    {
        string[] all =
        [
            "--tap", _tap.Name, "--address", "198.51.100.2/24", "--address", "2001:db8:1::2/64",
            "--gateway", "198.51.100.1", "--gateway", "2001:db8:1::1", .. args,
        ];
        var options = TracerouteOptions.Parse(all, out var error) ?? throw new InvalidOperationException(error);
        using var cts = new CancellationTokenSource(TraceTimeout);
        try
        {
            int rc = await DeviceRun.RunAsync(options, wrap(_tap), output, cts.Token).ConfigureAwait(false);
            Assert.Equal(0, rc);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"our traceroute {string.Join(' ', args)} did not finish in {TraceTimeout.TotalSeconds} s; it printed:\n{output}");
        }
        finally
        {
            _lastTrace = DateTime.UtcNow;
        }
    }

    /// <summary>
    /// Runs the sample's executable as a child process inside R1 on a persistent TAP (made there on first use and put on
    /// R1's bridge), addressed 198.51.100.4/24 and 2001:db8:1::4/64: the command line a user types, opening the TAP by name.
    /// </summary>
    public string RunCommandLine(params string[] args)
    {
        EnsurePersistentTap();
        string exe = Path.Combine(AppContext.BaseDirectory, "traceroute");
        var r = NetnsLab.TryRun("ip",
        [
            "netns", "exec", R1, exe, "--tap", _persistentTap!, "--address", "198.51.100.4/24", "--address", "2001:db8:1::4/64",
            "--gateway", "198.51.100.1", "--gateway", "2001:db8:1::1", .. args,
        ]);
        _lastTrace = DateTime.UtcNow;
        if (!r.Succeeded) throw new InvalidOperationException($"'{r.Command}' failed ({r.ExitCode}): {r.StandardError}{r.StandardOutput}");
        return r.StandardOutput;
    }

    /// <summary>Runs Linux <c>traceroute</c> in C and returns its exit code, standard output and standard error.</summary>
    public (int ExitCode, string Out, string Err) RunLinuxRaw(params string[] args)
    {
        var r = NetnsLab.TryRun("ip", ["netns", "exec", C, "traceroute", .. args]);
        _lastTrace = DateTime.UtcNow;
        return (r.ExitCode, r.StandardOutput, r.StandardError);
    }

    /// <summary>Runs our executable as <see cref="RunCommandLine"/> does and returns its exit code, standard output and standard error.</summary>
    public (int ExitCode, string Out, string Err) RunCommandLineRaw(params string[] args)
    {
        EnsurePersistentTap();
        string exe = Path.Combine(AppContext.BaseDirectory, "traceroute");
        var r = NetnsLab.TryRun("ip",
        [
            "netns", "exec", R1, exe, "--tap", _persistentTap!, "--address", "198.51.100.4/24", "--address", "2001:db8:1::4/64",
            "--gateway", "198.51.100.1", "--gateway", "2001:db8:1::1", .. args,
        ]);
        _lastTrace = DateTime.UtcNow;
        return (r.ExitCode, r.StandardOutput, r.StandardError);
    }

    private void EnsurePersistentTap()
    {
        if (_persistentTap is not null) return;
        string name = NetnsLab.NewLinkName('p');
        // The lowest unicast address a port can have, so the test always covers a port that sorts below the bridge.
        Batch(R1, $"tuntap add dev {name} mode tap", $"link set {name} address 02:00:00:00:00:01", $"link set {name} master br0", $"link set {name} up");
        _persistentTap = name;
    }

    public const string TargetName = "target.lab.example";
    /// <summary>R2's name in <see cref="StartDns"/>'s server (its reverse records too).</summary>
    public const string R2Name = "r2.lab.example";
    /// <summary>A target behind <see cref="StartDelayedHop"/>'s relay: 20 ms more round trip than R2.</summary>
    public const string DelayedTarget = "203.0.113.30";
    private DelayRelay? _relay;

    /// <summary>
    /// A third hop S (<see cref="DelayedTarget"/>) behind R2 over a user-space relay that holds every frame 10 ms in each
    /// direction (no netem on this machine): two TAPs, one in R2 and one in S, bridged by two threads of this process.
    /// Both traceroutes see the same 20 ms.
    /// </summary>
    public void StartDelayedHop()
    {
        if (_relay is not null) return;
        string s = _lab.CreateNamespace();
        NetnsLab.RunIn(s, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0");
        // The relay copies frames as they are: without offloads, so no frame leaves with a checksum the kernel left
        // partial (a virtio-net header the other TAP would not get).
        var plain = new TunTapOptions { Offloads = TunOffloads.None };
        var inR2 = _lab.CreateTap(R2, plain);
        var inS = _lab.CreateTap(s, plain);
        Batch(R2, $"link set {inR2.Name} up", $"addr add 192.0.2.21/30 dev {inR2.Name}", $"route add {DelayedTarget}/32 via 192.0.2.22");
        Batch(s, "link set lo up", $"link set {inS.Name} up", $"addr add 192.0.2.22/30 dev {inS.Name}", $"addr add {DelayedTarget}/32 dev lo",
            "route add default via 192.0.2.21");
        _relay = new DelayRelay(inR2, inS, TimeSpan.FromMilliseconds(10));
        WaitFor(() => NetnsLab.TryRun("ip", "netns", "exec", C, "ping", "-c", "1", "-W", "1", DelayedTarget).Succeeded, $"ping {DelayedTarget} from C");
    }
    private string? _responderDir;

    /// <summary>
    /// Starts <see cref="CraftingResponder"/>: a namespace X on a link from R2 (192.0.2.25/30 and 2001:db8:26::25/64 on
    /// R2, .26 and ::26 on X), R2 routing 203.0.113.40/30 and 2001:db8:99::40/126 to X, X's kernel dropping those probes (nftables, before routing) and the responder
    /// answering them. Hop 3 of a trace to one of those targets is X, hop 4 and later its target.
    /// </summary>
    public void StartCraftingResponder()
    {
        if (_responderDir is not null) return;
        string x = _lab.CreateNamespace();
        NetnsLab.RunIn(x, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
            "net.ipv6.conf.all.accept_ra=0", "net.ipv6.conf.default.accept_ra=0");
        var (r2x, x2r) = _lab.CreateVethPair(R2, x);
        Batch(R2, $"addr add 192.0.2.25/30 dev {r2x}", $"addr add 2001:db8:26::25/64 dev {r2x} nodad",
            "route add 203.0.113.40/30 via 192.0.2.26", "route add 2001:db8:99::40/126 via 2001:db8:26::26");
        Batch(x, "link set lo up", $"addr add 192.0.2.26/30 dev {x2r}", $"addr add {CraftingResponder.HopAddressV6}/64 dev {x2r} nodad",
            "route add default via 192.0.2.25", "route add default via 2001:db8:26::25");
        Nft(x, "table inet tracelab_responder {\n chain pre {\n  type filter hook prerouting priority raw; policy accept;\n" +
            "  ip daddr 203.0.113.40/30 drop\n  ip6 daddr 2001:db8:99::40/126 drop\n }\n}\n");
        _responderDir = Directory.CreateTempSubdirectory("tracelab-responder-").FullName;
        string script = Path.Combine(_responderDir, "responder.py"), ready = Path.Combine(_responderDir, "ready");
        File.WriteAllText(script, CraftingResponder.Script);
        var process = _lab.StartIn(x, "python3", "-u", script, x2r, ready);
        WaitFor(() => File.Exists(ready) || process.HasExited, "the crafting responder's socket in X");
        if (process.HasExited) throw new InvalidOperationException($"the crafting responder exited ({process.ExitCode})");
        foreach (var target in new[] { CraftingResponder.ExtensionTarget, CraftingResponder.Code16Target, CraftingResponder.FragNeededTarget })
            WaitFor(() => NetnsLab.TryRun("ip", "netns", "exec", C, "ping", "-c", "1", "-W", "1", "-t", "3", target).StandardOutput.Contains(
                $"From {CraftingResponder.HopAddress}", StringComparison.Ordinal), $"the responder's time-exceeded for {target} from C");
        WaitFor(() => NetnsLab.TryRun("ip", "netns", "exec", C, "ping", "-6", "-c", "1", "-W", "1", "-t", "3", CraftingResponder.ExtensionTargetV6).StandardOutput.Contains(
            $"From {CraftingResponder.HopAddressV6}", StringComparison.Ordinal), $"the responder's time-exceeded for {CraftingResponder.ExtensionTargetV6} from C");
    }

    private string? _netnsEtc;

    /// <summary>
    /// A DNS server for <see cref="TargetName"/> (A: <see cref="TargetV4"/>, AAAA: <see cref="TargetV6"/>): dnsmasq on the
    /// target's addresses in T, and C's resolv.conf pointing at it (<c>ip netns exec</c> bind-mounts /etc/netns/C/resolv.conf).
    /// </summary>
    public void StartDns()
    {
        if (_netnsEtc is not null) return;
        _lab.StartIn(T, "dnsmasq", "--keep-in-foreground", "--no-hosts", "--no-resolv", "--conf-file=/dev/null", "--pid-file=",
            "--user=root", "--bind-interfaces", $"--listen-address={TargetV4}", $"--listen-address={TargetV6}",
            $"--address=/{TargetName}/{TargetV4}", $"--address=/{TargetName}/{TargetV6}",
            // R2's name, forward and reverse (PTR for both of its addresses toward us), for the tests that print names.
            $"--host-record={R2Name},192.0.2.2,2001:db8:12::2");
        WaitFor(() => NetnsLab.RunIn(T, "ss", "-Hlun", "sport = :53").StandardOutput.Contains(":53", StringComparison.Ordinal), "dnsmasq listening in T");
        _netnsEtc = Path.Combine("/etc/netns", C);
        Directory.CreateDirectory(_netnsEtc);
        File.WriteAllText(Path.Combine(_netnsEtc, "resolv.conf"), $"nameserver {TargetV4}\n");
    }

    /// <summary>Runs both traceroutes at once with the same arguments (their sources differ, so they do not disturb each other).</summary>
    public async Task<(string Linux, string Ours)> RunBothAsync(params string[] args)
    {
        var linux = Task.Run(() => RunLinux(args));
        var ours = await RunOursAsync(args).ConfigureAwait(false);
        return (await linux.ConfigureAwait(false), ours);
    }

    /// <summary>
    /// Linux rate-limits the ICMP errors of its route lookups (ip_error: unreachable, prohibit, no route) per source with
    /// a token bucket of one per second that is global, not per namespace (net.ipv4.route.error_cost); with
    /// icmp_ratelimit=0 every other ICMP error from that router to the same source empties it. Waiting 1.2 s after the
    /// last trace gives each IPv4 trace the one token that its first probe past R1 needs.
    /// </summary>
    public void RouteErrorQuietPeriod()
    {
        var wait = _lastTrace + TimeSpan.FromMilliseconds(1200) - DateTime.UtcNow;
        if (wait > TimeSpan.Zero) Thread.Sleep(wait);
    }

    /// <summary>Loads an nftables ruleset (from <c>nft -f -</c> syntax) into <paramref name="ns"/>; its table is removed by <see cref="RemoveNftTable"/>.</summary>
    public static void Nft(string ns, string ruleset)
    {
        string file = Path.Combine(Path.GetTempPath(), $"tracelab-{Environment.ProcessId}-{Guid.NewGuid():N}.nft");
        File.WriteAllText(file, ruleset);
        try { NetnsLab.RunIn(ns, "nft", "-f", file); }
        finally { File.Delete(file); }
    }

    public static void RemoveNftTable(string ns, string family, string table) => NetnsLab.RunIn(ns, "nft", "delete", "table", family, table);

    /// <summary>Sets the MTU of both ends of the R2-R3 link.</summary>
    public void SetR2R3Mtu(int mtu)
    {
        NetnsLab.Run("ip", "-n", R2, "link", "set", "dev", R2R3.R2Side, "mtu", mtu.ToString(CultureInfo.InvariantCulture));
        NetnsLab.Run("ip", "-n", R3, "link", "set", "dev", R2R3.R3Side, "mtu", mtu.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Forgets the path MTUs the Linux client learned (so each -F / --mtu run starts as ours does, from nothing).</summary>
    public void FlushClientRouteCache()
    {
        NetnsLab.Run("ip", "-n", C, "route", "flush", "cache");
        NetnsLab.Run("ip", "-n", C, "-6", "route", "flush", "cache");
    }

    private static void Batch(string ns, params string[] commands)
    {
        string file = Path.Combine(Path.GetTempPath(), $"tracelab-{Environment.ProcessId}-{Guid.NewGuid():N}.ip");
        File.WriteAllLines(file, commands);
        try { NetnsLab.Run("ip", "-n", ns, "-batch", file); }
        finally { File.Delete(file); }
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new InvalidOperationException($"lab not ready: {what}");
            Thread.Sleep(100);
        }
    }

    public void Dispose()
    {
        try
        {
            if (_netnsEtc is not null && Directory.Exists(_netnsEtc)) Directory.Delete(_netnsEtc, recursive: true);
            _relay?.Dispose();
            if (_responderDir is not null && Directory.Exists(_responderDir)) Directory.Delete(_responderDir, recursive: true);
            if (_persistentTap is not null) NetnsLab.TryRun("ip", "-n", R1, "tuntap", "del", "dev", _persistentTap, "mode", "tap");
        }
        finally
        {
            _lab.Dispose();
        }
    }

    /// <summary>Disposes the lab and asserts that none of its namespaces, links or TAPs remain.</summary>
    public void DisposeAndAssertClean()
    {
        Dispose();
        Assert.Empty(_lab.FindLeftovers());
        if (_persistentTap is not null) Assert.False(Directory.Exists($"/sys/class/net/{_persistentTap}"), $"{_persistentTap} left behind");
    }
}

/// <summary>Copies frames between two TAPs in both directions, each frame held <c>delay</c> (a user-space "netem delay").</summary>
internal sealed class DelayRelay : IDisposable
{
    private readonly TapDevice _a, _b;
    private readonly TimeSpan _delay;
    private readonly Thread[] _threads;
    private volatile bool _stop;

    public DelayRelay(TapDevice a, TapDevice b, TimeSpan delay)
    {
        _a = a;
        _b = b;
        _delay = delay;
        _threads = [new Thread(() => Pump(_a, _b)) { IsBackground = true, Name = "relay a>b" }, new Thread(() => Pump(_b, _a)) { IsBackground = true, Name = "relay b>a" }];
        foreach (var t in _threads) t.Start();
    }

    private void Pump(TapDevice from, TapDevice to)
    {
        var held = new Queue<(byte[] Frame, long Due)>();
        var buffer = new byte[from.MaxFrameSize];
        long delayTicks = (long)(_delay.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        try
        {
            while (!_stop)
            {
                long now = System.Diagnostics.Stopwatch.GetTimestamp();
                if (held.Count == 0) from.WaitForFrames(TimeSpan.FromMilliseconds(50));
                else
                {
                    var wait = System.Diagnostics.Stopwatch.GetElapsedTime(now, held.Peek().Due);
                    // poll() sleeps in whole milliseconds: sleep through most of the wait, then spin to the due time.
                    if (wait > TimeSpan.FromMilliseconds(1)) from.WaitForFrames(wait - TimeSpan.FromMilliseconds(1));
                }
                while (from.TryReceive(buffer, default, out int n))
                    held.Enqueue((buffer.AsSpan(0, n).ToArray(), System.Diagnostics.Stopwatch.GetTimestamp() + delayTicks));
                while (held.Count > 0 && System.Diagnostics.Stopwatch.GetTimestamp() >= held.Peek().Due) to.Transmit(held.Dequeue().Frame, default);
                if (held.Count > 0 && System.Diagnostics.Stopwatch.GetElapsedTime(System.Diagnostics.Stopwatch.GetTimestamp(), held.Peek().Due) <= TimeSpan.FromMilliseconds(1))
                    Thread.SpinWait(50);
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _stop = true;
        foreach (var t in _threads) t.Join(TimeSpan.FromSeconds(2));
    }
}
