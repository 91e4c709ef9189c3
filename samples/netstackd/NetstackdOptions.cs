using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net;
using System.Reflection;
using Microsoft.Extensions.Logging;
using NetStack.Network;
using NetStack.Samples.Netstackd.Services.Iperf3;
using NetStack.Wire;

namespace NetStack.Samples.Netstackd;

/// <summary>
/// netstackd's command line, parsed by System.CommandLine (<c>--help</c> and <c>--version</c> come with it). Parsing
/// never throws: a bad command line is one message naming the option, and exit code 2.
/// </summary>
public sealed class NetstackdOptions
{
    public string? Tap { get; private set; }
    public string? Pcap { get; private set; }
    public MacAddress? Mac { get; private set; }
    public int? Mtu { get; private set; }
    public List<Ipv4Cidr> Ipv4Addresses { get; } = [];
    public List<Ipv6Cidr> Ipv6Addresses { get; } = [];
    public Ipv4Address? Ipv4Gateway { get; private set; }
    public Ipv6Address? Ipv6Gateway { get; private set; }
    public bool Dhcp { get; private set; }
    /// <summary>--slaac: SLAAC may be the only address source (no --address is then needed).</summary>
    public bool Slaac { get; private set; }
    /// <summary>--no-slaac: form no address from router advertisements (SLAAC is on by default, RFC 4862).</summary>
    public bool NoSlaac { get; private set; }
    public int? TcpEcho { get; private set; }
    public int? UdpEcho { get; private set; }
    public int? Discard { get; private set; }
    public int? Chargen { get; private set; }
    public int? Http { get; private set; }
    public string? HttpRoot { get; private set; }
    public string? Record { get; private set; }
    public double FaultDrop { get; private set; }
    public double FaultReorder { get; private set; }
    public double FaultDuplicate { get; private set; }
    public ulong? Seed { get; private set; }
    /// <summary>The TCP listeners' backlog (accept queue).</summary>
    public int Backlog { get; private set; } = 1024;
    /// <summary>The TAP's kernel-side queue (frames waiting for us to read); bursts beyond it are dropped by the kernel.</summary>
    public int QueueLength { get; private set; } = 4096;
    /// <summary>The loop thread's nice value (null: inherited; see StackHostOptions.LoopThreadNice).</summary>
    public int? LoopNice { get; private set; }
    /// <summary>How the TAP is read (see NetstackdStackOptions.Receive); <c>--no-rx-thread</c> is <c>--rx loop</c>.</summary>
    public NetstackdReceive Receive { get; private set; } = NetstackdReceive.Filter;
    /// <summary>Half-open connections per listener before SYN cookies (null: the backlog).</summary>
    public int? SynQueue { get; private set; }

    /// <summary>The lowest level the stack's logger (and netstackd's) writes to standard error; <see cref="LogLevel.None"/> silences it.</summary>
    public LogLevel LogLevel { get; private set; } = LogLevel.Information;

    /// <summary>--help was given (<see cref="TryParse"/> then fills nothing else).</summary>
    public bool Help { get; private set; }

    /// <summary>--version was given.</summary>
    public bool Version { get; private set; }

    /// <summary>Open the TAP without IFF_VNET_HDR offloads (plain frames, one per system call).</summary>
    public bool NoOffloads { get; private set; }
    /// <summary>The TCP congestion control algorithm given with --cc cubic|newreno|bbr; null without it: then netstackd
    /// runs the host's (<see cref="HostCongestionControl"/>).</summary>
    public NetStack.Transport.Tcp.CongestionAlgorithm? Congestion { get; private set; }

    /// <summary>The iperf3 server port and client test (Services/Iperf3).</summary>
    public Iperf3CommandLine Iperf3 { get; } = new();

    public bool HasFaults => FaultDrop > 0 || FaultReorder > 0 || FaultDuplicate > 0;

    /// <summary>What <c>--version</c> prints: netstackd's informational version (Directory.Build.props, plus the commit when built from a clone).</summary>
    public static string VersionText =>
        typeof(NetstackdOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(NetstackdOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Parses <paramref name="args"/>; on failure <paramref name="error"/> is the one-line reason, naming the option.</summary>
    public static bool TryParse(string[] args, out NetstackdOptions options, out string error)
    {
        var cli = new Cli();
        var result = cli.Root.Parse(args);
        options = new NetstackdOptions();
        error = "";
        if (result.GetResult(cli.Help) is not null) { options.Help = true; return true; }
        if (FirstError(result) is { } e) { error = e; return false; }
        if (result.GetResult(cli.Version) is { Implicit: false }) { options.Version = true; return true; }
        cli.Bind(result, options);
        return options.Validate(out error);
    }

    /// <summary>
    /// The whole command line: <c>--help</c> and <c>--version</c> print to <paramref name="output"/> and return 0; a bad
    /// command line prints "netstackd: reason" to <paramref name="error"/> and returns 2; otherwise <paramref name="run"/> runs.
    /// </summary>
    public static async Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error, Func<NetstackdOptions, Task<int>> run)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(run);
        var cli = new Cli();
        var result = cli.Root.Parse(args);
        var invocation = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        // --help wins over every error (as in every System.CommandLine tool); --version only alone.
        if (result.GetResult(cli.Help) is not null) return await result.InvokeAsync(invocation).ConfigureAwait(false);
        if (FirstError(result) is { } reason)
        {
            await error.WriteLineAsync($"netstackd: {reason}").ConfigureAwait(false);
            return 2;
        }
        if (result.GetResult(cli.Version) is { Implicit: false }) return await result.InvokeAsync(invocation).ConfigureAwait(false);
        var options = new NetstackdOptions();
        cli.Bind(result, options);
        if (!options.Validate(out var invalid))
        {
            await error.WriteLineAsync($"netstackd: {invalid}").ConfigureAwait(false);
            return 2;
        }
        return await run(options).ConfigureAwait(false);
    }

    /// <summary>How the options combine (each one parsed without error).</summary>
    private bool Validate(out string error)
    {
        error = "";
        if (Tap is null == (Pcap is null)) { error = "exactly one of --tap NAME or --pcap IFACE is needed"; return false; }
        if (Http is not null && HttpRoot is null) { error = "--http needs --http-root DIR"; return false; }
        if (HttpRoot is not null && Http is null) { error = "--http-root needs --http PORT"; return false; }
        if (HttpRoot is not null && !Directory.Exists(HttpRoot)) { error = $"--http-root: '{HttpRoot}' is not a directory"; return false; }
        if (!Iperf3.Validate(out error)) return false;
        var tcpPorts = new[] { TcpEcho, Discard, Chargen, Http, Iperf3.ServerPort }.Where(p => p is not null).ToList();
        if (tcpPorts.Count != tcpPorts.Distinct().Count()) { error = "two TCP services on one port"; return false; }
        if (Slaac && NoSlaac) { error = "--slaac and --no-slaac contradict each other"; return false; }
        if (Ipv4Addresses.Count == 0 && Ipv6Addresses.Count == 0 && !Dhcp && !Slaac) { error = "no address: give --address, --dhcp or --slaac"; return false; }
        if (Ipv4Gateway is { } g4 && Ipv4Addresses.Count > 0 && !Ipv4Addresses.Any(a => a.Contains(g4))) { error = $"--gateway {g4} is not on any IPv4 subnet given"; return false; }
        return true;
    }

    /// <summary>
    /// The error to report: a repeated option first, then netstackd's own (each begins with the option's name, e.g. "--tap is given more than once")
    /// before System.CommandLine's generic ones for the same mistake ("Option '--tap' expects a single argument...").
    /// </summary>
    private static string? FirstError(ParseResult result)
    {
        // Only --address and --gateway add up; any other option given twice is a mistake, never "the last wins".
        var repeated = result.Tokens.Where(t => t.Type == TokenType.Option).GroupBy(t => t.Value, StringComparer.Ordinal)
            .FirstOrDefault(g => g.Count() > 1 && g.Key is not ("--address" or "--gateway"));
        if (repeated is not null) return $"{repeated.Key} is given more than once";
        if (result.Errors.Count == 0) return null;
        foreach (var e in result.Errors)
        {
            var option = e.SymbolResult as OptionResult ?? e.SymbolResult?.Parent as OptionResult;
            if (option is { Tokens.Count: 0, Implicit: false } && option.Option.Arity.MinimumNumberOfValues > 0) return $"{option.Option.Name} needs a value";
        }
        var own = result.Errors.FirstOrDefault(e => e.Message.StartsWith("--", StringComparison.Ordinal));
        return (own ?? result.Errors[0]).Message;
    }

    /// <summary>The options and their checks; one instance per parse.</summary>
    private sealed class Cli
    {
        public readonly RootCommand Root = new(
            "netstackd: a NetStack host on a TAP (or a pcap device) serving echo, discard, chargen and HTTP to real clients.\n" +
            "The TAP is attached if it exists and created otherwise. SIGINT/SIGTERM stop it and print its counters.");
        public readonly Option Help;
        public readonly Option Version;

        private readonly Option<string?> _tap = new("--tap") { Description = "The TAP device to attach to (created if it does not exist)", HelpName = "NAME" };
        private readonly Option<string?> _pcap = new("--pcap") { Description = "The network interface to open through libpcap instead of a TAP", HelpName = "IFACE" };
        private readonly Option<MacAddress?> _mac = new("--mac") { Description = "The interface's MAC address (default: the TAP's)", HelpName = "02:xx:xx:xx:xx:xx" };
        private readonly Option<int?> _mtu = new("--mtu") { Description = "The link MTU (1280 to 65535)", HelpName = "N" };
        private readonly Option<List<object>> _address = new("--address")
        {
            Description = "A static address with its prefix, IPv4 or IPv6 (repeatable)", HelpName = "ADDRESS/PREFIX", Arity = ArgumentArity.OneOrMore,
        };
        private readonly Option<List<object>> _gateway = new("--gateway")
        {
            Description = "The default router, at most one per family (repeatable)", HelpName = "ADDRESS", Arity = ArgumentArity.OneOrMore,
        };
        private readonly Option<bool> _dhcp = new("--dhcp") { Description = "Acquire an IPv4 address by DHCPv4" };
        private readonly Option<bool> _slaac = new("--slaac") { Description = "SLAAC as the only address source (no --address needed); SLAAC is on by default" };
        private readonly Option<bool> _noSlaac = new("--no-slaac")
        {
            Description = "Form no IPv6 address from router advertisements (by default SLAAC runs beside static addresses, as Linux with accept_ra=1, autoconf=1)",
        };
        private readonly Option<int?> _tcpEcho = Port("--tcp-echo", "Serve TCP echo (RFC 862) on PORT");
        private readonly Option<int?> _udpEcho = Port("--udp-echo", "Serve UDP echo (RFC 862) on PORT, IPv4 and IPv6");
        private readonly Option<int?> _discard = Port("--discard", "Serve TCP discard (RFC 863) on PORT");
        private readonly Option<int?> _chargen = Port("--chargen", "Serve TCP chargen (RFC 864) on PORT");
        private readonly Option<int?> _http = Port("--http", "Serve the files under --http-root over HTTP/1.1 on PORT");
        private readonly Option<string?> _httpRoot = new("--http-root") { Description = "The directory --http serves", HelpName = "DIR" };
        private readonly Option<string?> _record = new("--record") { Description = "Record every frame in and out to a pcap file", HelpName = "FILE.pcap" };
        private readonly Option<double> _faultDrop = Probability("--fault-drop", "Drop each frame (both directions) with probability P");
        private readonly Option<double> _faultReorder = Probability("--fault-reorder", "Delay each frame behind the next with probability P");
        private readonly Option<double> _faultDuplicate = Probability("--fault-duplicate", "Duplicate each frame with probability P");
        private readonly Option<ulong?> _seed = new("--seed") { Description = "Seed of the fault injector and of the stack's randomness", HelpName = "N" };
        private readonly Option<int> _backlog = new("--backlog") { Description = "TCP listen backlog (1 to 65535)", HelpName = "N", DefaultValueFactory = _ => 1024 };
        private readonly Option<int?> _synQueue = new("--syn-queue") { Description = "Half-open connections before SYN cookies (0 to 65535; default: the backlog)", HelpName = "N" };
        private readonly Option<int> _queueLength = new("--queue-len") { Description = "Frames the kernel holds for us on the TAP (1 to 1000000)", HelpName = "N", DefaultValueFactory = _ => 4096 };
        private readonly Option<int?> _loopNice = new("--loop-nice") { Description = "Nice value of the stack's loop thread (-20 to 19; below 0 needs root): ahead of other tasks, it drains the TAP before the kernel drops", HelpName = "N" };
        private readonly Iperf3CommandLine.Options _iperf3 = new();
        private readonly Option<bool> _noReceiveThread = new("--no-rx-thread") { Description = "The same as --rx loop" };
        private readonly Option<NetstackdReceive?> _receive = new("--rx")
        {
            Description = "How the TAP is read: thread (a receive thread drains it into a ring, shedding unproven SYNs first and raising a kernel SYN filter under overload), filter (the loop reads it and raises the kernel SYN filter while it cannot keep up) or loop (the loop reads it, nothing else); default filter",
            HelpName = "MODE",
        };
        private readonly Option<bool> _noOffloads = new("--no-offloads") { Description = "Open the TAP without virtio-net offloads (one plain frame per system call)" };
        private readonly Option<NetStack.Transport.Tcp.CongestionAlgorithm?> _cc = new("--cc")
        {
            Description = "TCP congestion control: cubic, newreno or bbr (BBR v1, paced); default: the host kernel's (net.ipv4.tcp_congestion_control in this network namespace) when it is one of those, else cubic",
            HelpName = "ALGORITHM",
        };
        private readonly Option<LogLevel> _logLevel = new("--log-level")
        {
            Description = "The stack's log events at or above LEVEL go to standard error: Trace, Debug, Information, Warning, Error, Critical or None",
            HelpName = "LEVEL", DefaultValueFactory = _ => LogLevel.Information,
        };

        public Cli()
        {
            Help = Root.Options.OfType<System.CommandLine.Help.HelpOption>().Single();
            Version = Root.Options.OfType<VersionOption>().Single();
            Version.Action = new PrintVersion();

            _tap.Validators.Add(r =>
            {
                string value = r.GetValueOrDefault<string?>() ?? "";
                if (value.Length is < 1 or > 15 || value.Contains('/') || value.Any(char.IsWhiteSpace))
                    r.AddError($"--tap: '{value}' is not an interface name (1 to 15 characters)");
            });
            _mac.CustomParser = r =>
            {
                string value = r.Tokens[0].Value;
                if (!MacAddress.TryParse(value, out var mac)) { r.AddError($"--mac: '{value}' is not a MAC address"); return null; }
                // IEEE 802: the I/G bit marks a group address, which no interface may take as its own; nor the zero address.
                if (mac.IsMulticast || mac == MacAddress.Zero) { r.AddError($"--mac: '{value}' is a group or zero address, not an interface address"); return null; }
                return mac;
            };
            _mtu.CustomParser = r => Int(r, 1280, 65535);
            _backlog.CustomParser = r => Int(r, 1, 65535) ?? 0;
            _queueLength.CustomParser = r => Int(r, 1, 1_000_000) ?? 0;
            _synQueue.CustomParser = r => Int(r, 0, 65535);
            _loopNice.CustomParser = r => Int(r, -20, 19);
            _seed.CustomParser = r =>
            {
                string value = r.Tokens[0].Value;
                if (ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seed)) return seed;
                r.AddError($"--seed: '{value}' is not a number");
                return null;
            };
            _address.CustomParser = ParseAddresses;
            _gateway.CustomParser = ParseGateways;
            _logLevel.CustomParser = r =>
            {
                string value = r.Tokens[0].Value;
                // Names only: Enum.TryParse would also take "7" or "-1".
                if (!value.Any(char.IsDigit) && Enum.TryParse<LogLevel>(value, ignoreCase: true, out var level) && Enum.IsDefined(level)) return level;
                r.AddError($"--log-level: '{value}' is not one of {string.Join(", ", Enum.GetNames<LogLevel>())}");
                return LogLevel.Information;
            };
            _logLevel.CompletionSources.Add(Enum.GetNames<LogLevel>());
            _cc.CustomParser = r =>
            {
                string value = r.Tokens[0].Value;
                switch (value.ToLowerInvariant())
                {
                    case "cubic": return NetStack.Transport.Tcp.CongestionAlgorithm.Cubic;
                    case "newreno": return NetStack.Transport.Tcp.CongestionAlgorithm.NewReno;
                    case "bbr": return NetStack.Transport.Tcp.CongestionAlgorithm.Bbr;
                    default:
                        r.AddError($"--cc: '{value}' is not one of cubic, newreno, bbr");
                        return null;
                }
            };
            _cc.CompletionSources.Add("cubic", "newreno", "bbr");

            foreach (var option in new Option[] { _tap, _pcap, _mac, _mtu, _tcpEcho, _udpEcho, _discard, _chargen, _http, _httpRoot, _record,
                _faultDrop, _faultReorder, _faultDuplicate, _seed, _backlog, _synQueue, _queueLength, _loopNice, _logLevel })
                option.Arity = ArgumentArity.ExactlyOne;
            foreach (var option in new Option[]
            {
                _tap, _pcap, _mac, _mtu, _address, _gateway, _dhcp, _slaac, _noSlaac, _tcpEcho, _udpEcho, _discard, _chargen, _http, _httpRoot,
                _record, _faultDrop, _faultReorder, _faultDuplicate, _seed, _backlog, _synQueue, _queueLength, _loopNice, _receive, _noReceiveThread, _noOffloads, _cc, _logLevel,
            })
                Root.Options.Add(option);
            foreach (var option in _iperf3.All) Root.Options.Add(option);
        }

        /// <summary>Copies a parse without errors into <paramref name="o"/>.</summary>
        public void Bind(ParseResult r, NetstackdOptions o)
        {
            o.Tap = r.GetValue(_tap);
            o.Pcap = r.GetValue(_pcap);
            o.Mac = r.GetValue(_mac);
            o.Mtu = r.GetValue(_mtu);
            foreach (var a in r.GetValue(_address) ?? [])
            {
                if (a is Ipv4Cidr v4) o.Ipv4Addresses.Add(v4);
                else o.Ipv6Addresses.Add((Ipv6Cidr)a);
            }
            foreach (var g in r.GetValue(_gateway) ?? [])
            {
                if (g is Ipv4Address v4) o.Ipv4Gateway = v4;
                else o.Ipv6Gateway = (Ipv6Address)g;
            }
            o.Dhcp = r.GetValue(_dhcp);
            o.Slaac = r.GetValue(_slaac);
            o.NoSlaac = r.GetValue(_noSlaac);
            o.TcpEcho = r.GetValue(_tcpEcho);
            o.UdpEcho = r.GetValue(_udpEcho);
            o.Discard = r.GetValue(_discard);
            o.Chargen = r.GetValue(_chargen);
            o.Http = r.GetValue(_http);
            o.HttpRoot = r.GetValue(_httpRoot);
            o.Record = r.GetValue(_record);
            o.FaultDrop = r.GetValue(_faultDrop);
            o.FaultReorder = r.GetValue(_faultReorder);
            o.FaultDuplicate = r.GetValue(_faultDuplicate);
            o.Seed = r.GetValue(_seed);
            o.Backlog = r.GetValue(_backlog);
            o.SynQueue = r.GetValue(_synQueue);
            o.QueueLength = r.GetValue(_queueLength);
            o.LoopNice = r.GetValue(_loopNice);
            o.NoOffloads = r.GetValue(_noOffloads);
            o.Receive = r.GetValue(_receive) ?? (r.GetValue(_noReceiveThread) ? NetstackdReceive.Loop : NetstackdReceive.Filter);
            o.LogLevel = r.GetValue(_logLevel);
            o.Congestion = r.GetValue(_cc);
            _iperf3.Bind(r, o.Iperf3);
        }

        private static Option<int?> Port(string name, string description) => new(name)
        {
            Description = description,
            HelpName = "PORT",
            CustomParser = r =>
            {
                string value = r.Tokens[0].Value;
                if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 1 and <= 65535) return port;
                r.AddError($"{name}: '{value}' is not a port (1 to 65535)");
                return null;
            },
        };

        private static Option<double> Probability(string name, string description) => new(name)
        {
            Description = description,
            HelpName = "P",
            CustomParser = r =>
            {
                string value = r.Tokens[0].Value;
                if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) && p is >= 0 and <= 1) return p;
                r.AddError($"{name}: '{value}' is not a probability between 0 and 1");
                return 0;
            },
        };

        private static int? Int(ArgumentResult r, int min, int max)
        {
            string value = r.Tokens[0].Value;
            // NumberStyles.Integer takes a sign, so that "-1" is out of range rather than "not a number".
            if (int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max) return n;
            r.AddError($"{((OptionResult)r.Parent!).Option.Name}: '{value}' is not between {min} and {max}");
            return null;
        }

        /// <summary>--address ADDRESS/PREFIX: <see cref="Ipv4Cidr"/> or <see cref="Ipv6Cidr"/> values, in order.</summary>
        private static List<object> ParseAddresses(ArgumentResult r)
        {
            var list = new List<object>();
            foreach (var token in r.Tokens)
            {
                string value = token.Value;
                int slash = value.IndexOf('/', StringComparison.Ordinal);
                if (slash < 0 || !IPAddress.TryParse(value.AsSpan(0, slash), out var ip)
                    || !int.TryParse(value.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int prefix))
                {
                    r.AddError($"--address: '{value}' is not ADDRESS/PREFIX");
                    return list;
                }
                if (UnicastError("--address", value, ip) is { } error) { r.AddError(error); return list; }
                if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                {
                    if (prefix > 32) { r.AddError($"--address: prefix /{prefix} is longer than 32"); return list; }
                    list.Add(new Ipv4Cidr(Ipv4Address.FromIPAddress(ip), prefix));
                }
                else
                {
                    if (prefix > 128) { r.AddError($"--address: prefix /{prefix} is longer than 128"); return list; }
                    list.Add(new Ipv6Cidr(Ipv6Address.FromIPAddress(ip), prefix));
                }
            }
            return list;
        }

        /// <summary>--gateway ADDRESS: at most one <see cref="Ipv4Address"/> and one <see cref="Ipv6Address"/>.</summary>
        private static List<object> ParseGateways(ArgumentResult r)
        {
            var list = new List<object>();
            foreach (var token in r.Tokens)
            {
                string value = token.Value;
                if (!IPAddress.TryParse(value, out var ip)) { r.AddError($"--gateway: '{value}' is not an address"); return list; }
                if (UnicastError("--gateway", value, ip) is { } error) { r.AddError(error); return list; }
                if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                {
                    if (list.OfType<Ipv4Address>().Any()) { r.AddError("--gateway: only one IPv4 gateway"); return list; }
                    list.Add(Ipv4Address.FromIPAddress(ip));
                }
                else
                {
                    if (list.OfType<Ipv6Address>().Any()) { r.AddError("--gateway: only one IPv6 gateway"); return list; }
                    list.Add(Ipv6Address.FromIPAddress(ip));
                }
            }
            return list;
        }

        private static string? UnicastError(string option, string value, IPAddress ip)
        {
            // RFC 4291 §2.5.5.2: an IPv4-mapped address stands for an IPv4 node; it is never an interface's IPv6 address.
            if (ip.IsIPv4MappedToIPv6) return $"{option}: '{value}' is IPv4-mapped; give the IPv4 address itself";
            bool multicast = ip.IsIPv6Multicast || (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && (ip.GetAddressBytes()[0] & 0xF0) == 0xE0);
            if (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any) || multicast) return $"{option}: '{value}' is not a unicast address";
            return null;
        }
    }

    /// <summary>--version: this assembly's version (System.CommandLine's own would print the entry assembly's, a test host's in tests).</summary>
    private sealed class PrintVersion : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(VersionText);
            return 0;
        }
    }
}
