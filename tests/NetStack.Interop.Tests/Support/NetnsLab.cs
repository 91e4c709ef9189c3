using System.Diagnostics;
using NetStack.Tap;

namespace NetStack.Interop.Tests.Support;

/// <summary>
/// A throw-away network lab for one test: uniquely named network namespaces ("nst-PID-N"), veth pairs
/// and TAP/TUN devices moved into those namespaces, commands and long-running processes run inside them.
/// <see cref="Dispose"/> removes exactly what this lab made (kills only the processes it started, closes
/// its devices, deletes its links and namespaces), also when the test failed; <see cref="FindLeftovers"/>
/// then proves nothing is left.
/// <para>
/// Network safety: everything lives in namespaces and devices made here; nothing touches eth0 or the
/// host's routes. Tests use documentation addresses only (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32).
/// </para>
/// </summary>
internal sealed class NetnsLab : IDisposable
{
    private static int s_counter;
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);

    private readonly List<string> _namespaces = [];
    private readonly List<string> _rootLinks = [];
    private readonly List<string> _allLinks = [];
    private readonly List<Process> _processes = [];
    private readonly List<IDisposable> _devices = [];
    private bool _disposed;

    public IReadOnlyList<string> Namespaces => _namespaces;

    /// <summary>Every interface name this lab created (wherever it lives now).</summary>
    public IReadOnlyList<string> Links => _allLinks;

    /// <summary>Creates a namespace with loopback up and returns its name.</summary>
    public string CreateNamespace()
    {
        string name = $"nst-{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}";
        _namespaces.Add(name); // recorded first: a half-made namespace is still deleted
        Run("ip", "netns", "add", name);
        Run("ip", "-n", name, "link", "set", "lo", "up");
        return name;
    }

    /// <summary>A unique interface name (at most 15 characters) ending in <paramref name="role"/>.</summary>
    public static string NewLinkName(char role) =>
        $"nt{Environment.ProcessId % 1_000_000}{role}{Interlocked.Increment(ref s_counter)}";

    /// <summary>
    /// Creates a veth pair; each end goes into the given namespace, or stays in ours when null (then it
    /// is brought up without IPv6 address generation, so the host gains no address or route).
    /// </summary>
    public (string A, string B) CreateVethPair(string? namespaceA, string? namespaceB)
    {
        string a = NewLinkName('a'), b = NewLinkName('b');
        _allLinks.Add(a);
        _allLinks.Add(b);
        _rootLinks.Add(a); // until moved, both ends live here; deleting one end deletes the pair
        Run("ip", "link", "add", a, "type", "veth", "peer", "name", b);
        PlaceLink(a, namespaceA);
        PlaceLink(b, namespaceB);
        if (namespaceA is not null && namespaceB is not null) _rootLinks.Remove(a);
        else if (namespaceA is not null) { _rootLinks.Remove(a); _rootLinks.Add(b); }
        return (a, b);
    }

    /// <summary>
    /// Opens a new TAP in this process, then moves its interface into <paramref name="ns"/> and brings it up
    /// there (the descriptor stays valid across the move). The lab closes the device on Dispose.
    /// </summary>
    public TapDevice CreateTap(string ns, TunTapOptions? options = null)
    {
        var tap = new TapDevice((options ?? new TunTapOptions()) with { Name = NewLinkName('t'), OpenMode = TunTapOpenMode.CreateOnly, BringUp = false });
        Adopt(tap, ns);
        return tap;
    }

    /// <summary>As <see cref="CreateTap"/>, for a TUN.</summary>
    public TunDevice CreateTun(string ns, TunTapOptions? options = null)
    {
        var tun = new TunDevice((options ?? new TunTapOptions()) with { Name = NewLinkName('u'), OpenMode = TunTapOpenMode.CreateOnly, BringUp = false });
        Adopt(tun, ns);
        return tun;
    }

    /// <summary>
    /// Makes a persistent, down TAP in our namespace (as <c>ip tuntap add</c> does) for attach tests; it carries
    /// no address and no traffic, and the lab deletes it on Dispose. <paramref name="mode"/> is "tap" or "tun".
    /// </summary>
    public string CreatePersistentTunTap(string mode = "tap")
    {
        string name = NewLinkName('p');
        _allLinks.Add(name);
        _rootLinks.Add(name);
        Run("ip", "tuntap", "add", "dev", name, "mode", mode);
        return name;
    }

    private void Adopt(TunTapDevice device, string ns)
    {
        _devices.Add(device);
        _allLinks.Add(device.Name);
        Run("ip", "link", "set", "dev", device.Name, "netns", ns);
        Run("ip", "-n", ns, "link", "set", "dev", device.Name, "up");
    }

    private void PlaceLink(string link, string? ns)
    {
        if (ns is not null)
        {
            Run("ip", "link", "set", "dev", link, "netns", ns);
            Run("ip", "-n", ns, "link", "set", "dev", link, "up");
        }
        else
        {
            Run("ip", "link", "set", "dev", link, "addrgenmode", "none");
            Run("ip", "link", "set", "dev", link, "up");
        }
    }

    /// <summary>Runs a command in our namespace; throws with its stderr when it fails.</summary>
    public static CommandResult Run(string file, params string[] args)
    {
        var r = TryRun(file, args);
        if (!r.Succeeded) throw new InvalidOperationException($"'{r.Command}' failed ({r.ExitCode}): {r.StandardError.Trim()}");
        return r;
    }

    /// <summary>Runs a command inside <paramref name="ns"/> (<c>ip netns exec</c>); throws with its stderr when it fails.</summary>
    public static CommandResult RunIn(string ns, string file, params string[] args) => Run("ip", ["netns", "exec", ns, file, .. args]);

    /// <summary>Runs a command and returns its result whatever the exit code.</summary>
    public static CommandResult TryRun(string file, params string[] args)
    {
        using var p = new Process { StartInfo = NewStartInfo(file, args) };
        p.Start();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(CommandTimeout))
        {
            p.Kill();
            p.WaitForExit();
        }
        p.WaitForExit();
        return new CommandResult(Describe(file, args), p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// Starts a long-running command inside <paramref name="ns"/> (<c>ip netns exec</c> execs into it, so the PID
    /// is the command's). The lab kills exactly this PID on Dispose if it is still running.
    /// </summary>
    public Process StartIn(string ns, string file, params string[] args)
    {
        var p = new Process { StartInfo = NewStartInfo("ip", ["netns", "exec", ns, file, .. args]) };
        p.Start();
        _processes.Add(p);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>
    /// Waits (15 s at most) until the kernel in <paramref name="ns"/> has joined the solicited-node multicast group of
    /// <paramref name="address"/> on <paramref name="link"/> (RFC 4861 §7.2.1): Linux joins it from its address work
    /// queue after <c>ip addr add</c> returns, and drops a neighbor solicitation sent to the group before then.
    /// </summary>
    public static void WaitForSolicitedNodeGroup(string ns, string link, Wire.Ipv6Address address)
    {
        Span<byte> a = stackalloc byte[16];
        address.Write(a);
        var group = new byte[16];
        group[0] = 0xff; group[1] = 0x02; group[11] = 0x01; group[12] = 0xff;
        a[13..].CopyTo(group.AsSpan(13));
        string text = new System.Net.IPAddress(group).ToString();
        var clock = Stopwatch.StartNew();
        while (!Run("ip", "-n", ns, "-6", "maddr", "show", "dev", link).StandardOutput.Contains($"inet6 {text}\n", StringComparison.Ordinal))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(15)) throw new TimeoutException($"{link} in {ns} never joined {text}");
            Thread.Sleep(20);
        }
    }

    /// <summary>The MAC address of <paramref name="link"/> inside <paramref name="ns"/>.</summary>
    public static Wire.MacAddress MacOf(string ns, string link)
    {
        var text = Run("ip", "-n", ns, "-o", "link", "show", "dev", link).StandardOutput;
        int i = text.IndexOf("link/ether ", StringComparison.Ordinal);
        if (i < 0) throw new InvalidOperationException($"no MAC in: {text}");
        return Wire.MacAddress.Parse(text.Substring(i + 11, 17));
    }

    /// <summary>Names this lab made that still exist: namespaces in <c>ip netns list</c>, links in our namespace.</summary>
    public IReadOnlyList<string> FindLeftovers()
    {
        var namespaces = TryRun("ip", "netns", "list").StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).ToHashSet();
        var left = _namespaces.Where(namespaces.Contains).ToList();
        // Links in a deleted namespace are destroyed by the kernel asynchronously; give it a moment.
        var deadline = Stopwatch.StartNew();
        List<string> links;
        do
        {
            var here = TryRun("ip", "-o", "link", "show").StandardOutput
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(':', 3)[1].Trim().Split('@')[0]).ToHashSet();
            links = _allLinks.Where(here.Contains).ToList();
            if (links.Count == 0) break;
            Thread.Sleep(20);
        }
        while (deadline.Elapsed < TimeSpan.FromSeconds(3));
        left.AddRange(links);
        return left;
    }

    /// <summary>Disposes the lab and asserts that none of its namespaces or links remain.</summary>
    public void DisposeAndAssertClean()
    {
        Dispose();
        Assert.Empty(FindLeftovers());
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        var errors = new List<string>();
        foreach (var p in _processes)
        {
            try
            {
                if (!p.HasExited) { p.Kill(entireProcessTree: false); p.WaitForExit(5000); }
            }
            catch (InvalidOperationException) { } // already gone
            finally { p.Dispose(); }
        }
        foreach (var d in _devices) d.Dispose();
        foreach (var link in _rootLinks)
        {
            var r = TryRun("ip", "link", "del", "dev", link);
            if (!r.Succeeded && !r.StandardError.Contains("Cannot find device", StringComparison.Ordinal)) errors.Add(r.StandardError.Trim());
        }
        foreach (var ns in _namespaces)
        {
            var r = TryRun("ip", "netns", "del", ns);
            if (!r.Succeeded && !r.StandardError.Contains("No such file", StringComparison.Ordinal)) errors.Add(r.StandardError.Trim());
        }
        if (errors.Count > 0) throw new InvalidOperationException("lab cleanup: " + string.Join("; ", errors));
    }

    private static ProcessStartInfo NewStartInfo(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    private static string Describe(string file, IEnumerable<string> args) => file + " " + string.Join(' ', args);
}
