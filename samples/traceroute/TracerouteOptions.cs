using System.Globalization;
using System.Reflection;

namespace NetStack.Samples.Traceroute;

/// <summary>The probe method, as Linux traceroute 2.1 names its modules.</summary>
public enum ProbeMethod
{
    /// <summary>UDP to port 33434 and up, one port per probe (the default).</summary>
    Udp,
    /// <summary>ICMP echo (-I).</summary>
    Icmp,
    /// <summary>TCP SYN to a fixed port, 80 by default (-T).</summary>
    Tcp,
    /// <summary>UDP to a fixed port, 53 by default (-U).</summary>
    UdpFixed,
}

/// <summary>
/// Command-line options, spelled as Linux traceroute 2.1 spells them (short options may be joined with their
/// argument, "-q1" or "-q 1"; long options take "--name=value" or "--name value"), plus NetStack's own.
/// </summary>
public sealed class TracerouteOptions
{
    public const int DefaultUdpPort = 33434;
    public const int DefaultTcpPort = 80;
    public const int DefaultFixedUdpPort = 53;

    public string? Host { get; set; }
    /// <summary>Where the host was on the command line (argv index), for traceroute 2.1's messages.</summary>
    public int HostArgc { get; set; } = 1;
    public int? PacketLength { get; set; }
    public int? Family { get; set; }
    public ProbeMethod Method { get; set; } = ProbeMethod.Udp;
    public int FirstTtl { get; set; } = 1;
    public int MaxTtl { get; set; } = 30;
    public int Queries { get; set; } = 3;
    public int SimultaneousProbes { get; set; } = 16;
    public double WaitMax { get; set; } = 5.0;
    public double WaitHere { get; set; } = 3.0;
    public double WaitNear { get; set; } = 10.0;
    public double SendWait { get; set; }
    public int? Port { get; set; }
    public bool NoResolve { get; set; }
    public bool Extensions { get; set; }
    public bool MtuDiscovery { get; set; }
    public bool DontFragment { get; set; }
    public int Tos { get; set; }
    public int FlowLabel { get; set; }
    public string? Source { get; set; }
    public bool Paris { get; set; }
    public bool Mda { get; set; }
    public bool Json { get; set; }
    /// <summary>--sport: the source port of every probe (implies -N 1 and turns wait adaptation off, as Linux does).</summary>
    public int? SourcePort { get; set; }
    /// <summary>--back: print the guessed length of the way back (" '-N'") when it differs from the hop number.</summary>
    public bool Backward { get; set; }
    /// <summary>-O info (TCP): print the flags of the target's answer (" &lt;syn,ack&gt;").</summary>
    public bool TcpInfo { get; set; }
    /// <summary>-O help: print the method's options and exit.</summary>
    public bool ModuleHelp { get; set; }
    /// <summary>-V / --version.</summary>
    public bool Version { get; set; }
    private readonly List<(string Option, int Argc)> _moduleOptions = [];

    // Where it runs.
    public string? Tap { get; set; }
    public string? Pcap { get; set; }
    public string? Mac { get; set; }
    public List<string> Addresses { get; } = [];
    public List<string> Gateways { get; } = [];
    public List<string> DnsServers { get; } = [];
    public bool Dhcp { get; set; }
    public string? Record { get; set; }
    public bool Help { get; set; }

    /// <summary>Parses <paramref name="args"/>; returns null and sets <paramref name="error"/> on a bad command line.</summary>
    public static TracerouteOptions? Parse(string[] args, out string? error)
    {
        var o = new TracerouteOptions();
        error = null;
        var positional = new List<string>();
        var positionalArgc = new List<int>();
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                string a = args[i];
                if (a == "--") { positional.AddRange(args[(i + 1)..]); break; }
                if (a.StartsWith("--", StringComparison.Ordinal))
                {
                    string name = a[2..];
                    string? value = null;
                    int eq = name.IndexOf('=', StringComparison.Ordinal);
                    if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
                    string Next() => value ?? (i + 1 < args.Length ? args[++i] : throw new FormatException($"option '--{name}' requires an argument"));
                    switch (name)
                    {
                        case "first": o.FirstTtl = Int(Next(), name); break;
                        case "max-hops": o.MaxTtl = Int(Next(), name); break;
                        case "queries": o.Queries = Int(Next(), name); break;
                        case "sim-queries": o.SimultaneousProbes = Int(Next(), name); break;
                        case "wait": o.SetWait(Next()); break;
                        case "sendwait": o.SendWait = Dbl(Next(), name); break;
                        case "port": o.Port = Int(Next(), name); break;
                        case "tos": o.Tos = Int(Next(), name); break;
                        case "flowlabel": o.FlowLabel = Int(Next(), name); break;
                        case "source": o.Source = Next(); break;
                        case "icmp": o.Method = ProbeMethod.Icmp; break;
                        case "tcp": o.Method = ProbeMethod.Tcp; break;
                        case "udp": o.Method = ProbeMethod.UdpFixed; break;
                        case "dont-fragment": o.DontFragment = true; break;
                        case "extensions": o.Extensions = true; break;
                        case "mtu": o.MtuDiscovery = true; break;
                        case "paris": o.Paris = true; break;
                        case "mda": o.Mda = true; break;
                        case "json": o.Json = true; break;
                        case "tap": o.Tap = Next(); break;
                        case "pcap": o.Pcap = Next(); break;
                        case "mac": o.Mac = Next(); break;
                        case "address": o.Addresses.Add(Next()); break;
                        case "gateway": o.Gateways.Add(Next()); break;
                        case "dns": o.DnsServers.Add(Next()); break;
                        case "dhcp": o.Dhcp = true; break;
                        case "record": o.Record = Next(); break;
                        case "help": o.Help = true; break;
                        case "sport": o.SourcePort = PortNumber(Next(), name); break;
                        case "back": o.Backward = true; break;
                        case "options": o.AddModuleOptions(Next(), i); break;
                        case "version": o.Version = true; break;
                        default: throw new FormatException($"Bad option `--{name}' (argc {i + 1})");
                    }
                    continue;
                }
                if (a.Length > 1 && a[0] == '-')
                {
                    // A cluster of flags ("-nI"), possibly ending in one that takes an argument ("-nq1", "-q 1").
                    for (int j = 1; j < a.Length; j++)
                    {
                        char c = a[j];
                        string Arg()
                        {
                            if (j + 1 < a.Length) { string v = a[(j + 1)..]; j = a.Length; return v; }
                            if (i + 1 < args.Length) { j = a.Length; return args[++i]; }
                            throw new FormatException($"Option `-{c}' (argc {i + 1}) requires an argument");
                        }
                        switch (c)
                        {
                            case '4': o.Family = 4; break;
                            case '6': o.Family = 6; break;
                            case 'I': o.Method = ProbeMethod.Icmp; break;
                            case 'T': o.Method = ProbeMethod.Tcp; break;
                            case 'U': o.Method = ProbeMethod.UdpFixed; break;
                            case 'n': o.NoResolve = true; break;
                            case 'e': o.Extensions = true; break;
                            case 'F': o.DontFragment = true; break;
                            case 'f': o.FirstTtl = Int(Arg(), "first"); break;
                            case 'm': o.MaxTtl = Int(Arg(), "max-hops"); break;
                            case 'q': o.Queries = Int(Arg(), "queries"); break;
                            case 'N': o.SimultaneousProbes = Int(Arg(), "sim-queries"); break;
                            case 'w': o.SetWait(Arg()); break;
                            case 'z': o.SendWait = Dbl(Arg(), "sendwait"); break;
                            case 'p': o.Port = Int(Arg(), "port"); break;
                            case 't': o.Tos = Int(Arg(), "tos"); break;
                            case 'l': o.FlowLabel = Int(Arg(), "flowlabel"); break;
                            case 's': o.Source = Arg(); break;
                            case 'h': o.Help = true; break;
                            case 'O': o.AddModuleOptions(Arg(), i); break;
                            case 'V': o.Version = true; break;
                            default: throw new FormatException($"Bad option `-{c}' (argc {i + 1})");
                        }
                    }
                    continue;
                }
                positional.Add(a);
                positionalArgc.Add(i + 1);
            }
            if (positional.Count > 2) throw new FormatException($"Extra arg `{positional[2]}' (position 3, argc {args.Length})");
            if (positional.Count >= 1)
            {
                o.Host = positional[0];
                o.HostArgc = positionalArgc.Count > 0 ? positionalArgc[0] : args.Length;
                // getaddrinfo() with the family of -4 / -6 refuses a literal of the other family (traceroute 2.1 exits 2).
                if (o.Family is { } f && System.Net.IPAddress.TryParse(o.Host, out var literal)
                    && (literal.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) != (f == 6))
                    throw new FormatException(o.HostError("Address family for hostname not supported"));
            }
            if (positional.Count == 2) o.PacketLength = Int(positional[1], "packetlen");
            o.Validate();
        }
        catch (FormatException e)
        {
            error = e.Message;
            return null;
        }
        return o;
    }

    private void SetWait(string spec)
    {
        // traceroute 2.1: "-w MAX,HERE,NEAR"; a plain number sets MAX and turns adaptation off.
        var parts = spec.Split(',', '/');
        WaitHere = 0;
        WaitNear = 0;
        WaitMax = Dbl(parts[0], "wait");
        if (parts.Length > 1) WaitHere = Dbl(parts[1], "wait");
        if (parts.Length > 2) WaitNear = Dbl(parts[2], "wait");
        if (parts.Length > 3) throw new FormatException($"bad wait specifications `{spec}' used");
    }

    private void AddModuleOptions(string spec, int argc)
    {
        foreach (var opt in spec.Split(',', StringSplitOptions.RemoveEmptyEntries)) _moduleOptions.Add((opt, argc));
    }

    private void Validate()
    {
        if (Help || Version) return;
        // The same limits and messages as traceroute 2.1.
        if (FirstTtl < 1 || FirstTtl > MaxTtl) throw new FormatException("first hop out of range");
        if (MaxTtl > 255) throw new FormatException("max hops cannot be more than 255");
        if (Queries < 1 || Queries > 10) throw new FormatException("no more than 10 probes per hop");
        if (WaitMax < 0 || WaitHere < 0 || WaitNear < 0)
            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"bad wait specifications `{WaitMax:g},{WaitHere:g},{WaitNear:g}' used"));
        if (PacketLength > 65000) throw new FormatException($"too big packetlen {PacketLength} specified");
        if (SendWait < 0) throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"bad sendtime `{SendWait:g}' specified"));
        if (SendWait >= 10) SendWait /= 1000; // a value of 10 or more is milliseconds
        if (SimultaneousProbes < 1) SimultaneousProbes = 1;
        if (SourcePort is not null)
        {
            // traceroute 2.1: "--sport=num ... Implies `-N 1'" (and no wait adaptation).
            SimultaneousProbes = 1;
            WaitHere = WaitNear = 0;
        }
        // -O: module options. Only the TCP method has any (traceroute 2.1 ignores -O for the others, except "help").
        foreach (var (opt, _) in _moduleOptions)
        {
            if (opt == "help") { ModuleHelp = true; continue; }
            if (Method != ProbeMethod.Tcp) continue;
            if (opt == "info") TcpInfo = true;
            else if (opt is "syn" or "ack" or "fin" or "rst" or "psh" or "urg" or "ece" or "cwr" or "ecn" or "sack" or "timestamps"
                     or "window_scaling" or "sysctl" or "reuse" || opt.StartsWith("flags=", StringComparison.Ordinal) || opt.StartsWith("mss=", StringComparison.Ordinal))
                throw new FormatException($"tcp option `{opt}' is not supported by this traceroute (only `info')");
            else throw new FormatException($"`{opt}' (argc 1): arguments are not allowed");
        }
        if (ModuleHelp) return;
        if (MtuDiscovery)
        {
            // --mtu implies -F -N 1 and probes start at the largest size.
            DontFragment = true;
            SimultaneousProbes = 1;
            PacketLength ??= 65000;
        }
        if (Paris && Mda) throw new FormatException("--paris and --mda do not go together (--mda already varies flows on purpose)");
        if (Host is null && (Tap is not null || Pcap is not null)) throw new FormatException("Specify \"host\" missing argument.");
        if (Tap is null && Pcap is null && (Addresses.Count > 0 || Gateways.Count > 0 || Dhcp || Mac is not null))
            throw new FormatException("--address, --gateway, --dhcp and --mac configure a device: give --tap NAME or --pcap IFACE too");
    }

    /// <summary>traceroute 2.1's two lines when the host cannot be used: getaddrinfo's reason, then the argument.</summary>
    public string HostError(string reason) =>
        $"{Host}: {reason}\nCannot handle \"host\" cmdline arg `{Host}' on position 1 (argc {HostArgc})";

    private static int PortNumber(string s, string name)
    {
        int v = Int(s, name);
        if (v is < 0 or > 65535) throw new FormatException($"Cannot handle `{name}' option with arg `{s}'");
        return v;
    }

    /// <summary>The method's module name as traceroute 2.1 calls it ("default", "icmp", "tcp", "udp").</summary>
    public string ModuleName => Method switch
    {
        ProbeMethod.Icmp => "icmp",
        ProbeMethod.Tcp => "tcp",
        ProbeMethod.UdpFixed => "udp",
        _ => "default",
    };

    /// <summary>The informational version (Directory.Build.props, plus the commit when built from a clone), as netstackd --version prints it.</summary>
    public static string AssemblyVersion =>
        typeof(TracerouteOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(TracerouteOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>What -V prints (on standard error, as traceroute 2.1 does).</summary>
    public static string VersionText =>
        $"NetStack traceroute {AssemblyVersion} " +
        "(the command line and output of Modern traceroute for Linux, version 2.1), on the NetStack user-space TCP/IP stack";

    /// <summary>What -O help prints for the method.</summary>
    public string ModuleHelpText => Method == ProbeMethod.Tcp
        ? "  info                        Print tcp flags of final tcp replies when target\n                              host is reached.\n"
        : $"No options for module `{ModuleName}'\n";

    private static int Int(string s, string name)
    {
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            && int.TryParse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int h)) return h;
        if (int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)) return v;
        throw new FormatException($"Cannot handle `{name}' option with arg `{s}'");
    }

    private static double Dbl(string s, string name)
    {
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)) return v;
        throw new FormatException($"Cannot handle `{name}' option with arg `{s}'");
    }

    public const string Usage = """
Usage:
  traceroute [ -46FITUnex ] [ -f first_ttl ] [ -m max_ttl ] [ -N squeries ] [ -p port ] [ -t tos ] [ -l flow_label ]
             [ -w MAX,HERE,NEAR ] [ -q nqueries ] [ -s src_addr ] [ -z sendwait ] [ -O OPTS ] [ --sport=num ] [ --mtu ] [ --back ]
             [ --paris | --mda ] [ --json ] [ -V ]
             [ --tap NAME | --pcap IFACE ] [ --mac MAC ] [ --address ADDR/LEN ]... [ --gateway ADDR ]... [ --dns ADDR ]... [ --dhcp ]
             [ host [ packetlen ] ]
With no host and no device, traces (IPv4, then IPv6) across NetStack's built-in simulated dual-stack network.
Options (as Linux traceroute 2.1):
  -4 -6                 Use IPv4 / IPv6 (default: from the target)
  -I  --icmp            Use ICMP ECHO for tracerouting
  -T  --tcp             Use TCP SYN for tracerouting (default port is 80)
  -U  --udp             Use UDP to a particular port (default port is 53)
  -F  --dont-fragment   Do not fragment packets
  -f first_ttl          Start from the first_ttl hop (instead from 1)
  -m max_ttl            Set the max number of hops (max TTL to be reached). Default is 30
  -N squeries           Set the number of probes to be tried simultaneously (default is 16)
  -n                    Do not resolve IP addresses to their domain names
  -p port               Destination port (UDP: initial port, incremented per probe, default 33434; ICMP: initial seq)
  -t tos                Set the TOS (IPv4) or traffic class (IPv6)
  -l flow_label         Use the specified flow label for IPv6 packets
  -w MAX,HERE,NEAR      Wait for a probe no more than HERE (default 3) times longer than a response from the same hop,
                        or no more than NEAR (default 10) times than some next hop, or MAX (default 5.0) seconds
  -q nqueries           Set the number of probes per each hop. Default is 3
  -s src_addr           Use source src_addr for outgoing packets
  -z sendwait           Minimal time interval between probes (>= 10: milliseconds)
  -e  --extensions      Show ICMP extensions (if present), including MPLS
  -O OPTS               Module-specific options, separated by commas; the TCP method (-T) knows "info" (print the flags
                        of the target's answer); "-O help" lists them
  --sport=num           Use source port num for outgoing packets. Implies -N 1
  --mtu                 Discover MTU along the path being traced. Implies -F -N 1
  --back                Guess the number of hops in the backward path and print if it differs
  -V  --version         Print version info and exit
Round-trip times run from the moment a probe's frame is handed to the device to the moment its answer's frame is read
off it. A probe whose frame waits for the first hop's link-layer address (ARP / NDP) starts its clock only when the
frame leaves, so resolution is never counted (the kernel under Linux traceroute usually has that neighbour already).
A TAP gives no kernel receive time: under the JIT (dotnet run), the answers of a run's first probes are read only once
the code that handles them is compiled and show some milliseconds more; the Native AOT executable has no JIT.
Beyond Linux traceroute:
  --paris               Keep the flow identifier constant across probes (Paris traceroute)
  --mda                 Enumerate load-balanced interfaces per hop (multipath detection algorithm, 95% confidence)
  --json                Write a machine-readable result instead of the text lines
  --tap NAME            Run over a Linux TAP interface (needs CAP_NET_ADMIN); --pcap IFACE over a libpcap device
  --address ADDR/LEN    Address of the device's interface (repeatable, IPv4 and IPv6). IPv6 addresses given here are
                        used at once, without duplicate address detection (as "ip addr add ... nodad")
  --gateway ADDR        Default router (repeatable, one per family); --dns ADDR: resolver for names (repeatable)
""";
}
