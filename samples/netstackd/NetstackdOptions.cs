using System.Globalization;
using System.Net;
using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Samples.Netstackd;

/// <summary>netstackd's command line (see <see cref="Usage"/>). Parsing never throws: a bad option is a one-line reason.</summary>
public sealed class NetstackdOptions
{
    public const string Usage =
        "usage: netstackd (--tap NAME | --pcap IFACE) [--mac 02:xx:xx:xx:xx:xx] [--mtu N]\n" +
        "                 [--address 198.51.100.3/24]... [--address 2001:db8:1::3/64]... [--gateway 198.51.100.1] [--gateway 2001:db8:1::1]\n" +
        "                 [--dhcp] [--slaac] [--tcp-echo PORT] [--udp-echo PORT] [--discard PORT] [--chargen PORT]\n" +
        "                 [--http PORT --http-root DIR] [--record FILE.pcap]\n" +
        "                 [--fault-drop P] [--fault-reorder P] [--fault-duplicate P] [--seed N]\n" +
        "                 [--backlog N (TCP listen backlog, default 1024)] [--syn-queue N (half-open before SYN cookies, default: the backlog)]\n" +
        "                 [--queue-len N (frames the kernel holds for us on the TAP, default 4096)] [--no-offloads]\n" +
        "The TAP is attached if it exists and created otherwise. SIGINT/SIGTERM stop it and print its counters.";

    public string? Tap { get; private set; }
    public string? Pcap { get; private set; }
    public MacAddress? Mac { get; private set; }
    public int? Mtu { get; private set; }
    public List<Ipv4Cidr> Ipv4Addresses { get; } = [];
    public List<Ipv6Cidr> Ipv6Addresses { get; } = [];
    public Ipv4Address? Ipv4Gateway { get; private set; }
    public Ipv6Address? Ipv6Gateway { get; private set; }
    public bool Dhcp { get; private set; }
    public bool Slaac { get; private set; }
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
    /// <summary>Half-open connections per listener before SYN cookies (null: the backlog).</summary>
    public int? SynQueue { get; private set; }
    public bool Help { get; private set; }

    /// <summary>Open the TAP without IFF_VNET_HDR offloads (plain frames, one per system call).</summary>
    public bool NoOffloads { get; private set; }

    public bool HasFaults => FaultDrop > 0 || FaultReorder > 0 || FaultDuplicate > 0;

    /// <summary>Parses <paramref name="args"/>; on failure <paramref name="error"/> is the one-line reason.</summary>
    public static bool TryParse(string[] args, out NetstackdOptions options, out string error)
    {
        options = new NetstackdOptions();
        error = "";
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (name is "-h" or "--help") { options.Help = true; return true; }
            // Only --address and --gateway add up; any other option given twice is a mistake, never "the last wins".
            if (name is not ("--address" or "--gateway") && Known(name) && !seen.Add(name))
            {
                error = $"{name} is given more than once";
                return false;
            }
            bool isFlag = name is "--dhcp" or "--slaac" or "--no-offloads";
            if (!isFlag && i + 1 >= args.Length)
            {
                error = Known(name) ? $"{name} needs a value" : $"unknown option '{name}'";
                return false;
            }
            string value = isFlag ? "" : args[++i];
            if (!options.Apply(name, value, out error)) return false;
        }
        return options.Validate(out error);
    }

    private static bool Known(string name) => name is "--tap" or "--pcap" or "--mac" or "--mtu" or "--address" or "--gateway" or "--tcp-echo"
        or "--udp-echo" or "--discard" or "--chargen" or "--http" or "--http-root" or "--record" or "--fault-drop" or "--fault-reorder"
        or "--fault-duplicate" or "--seed" or "--backlog" or "--syn-queue" or "--queue-len";

    private static bool Unknown(string name, out string error)
    {
        error = $"unknown option '{name}'";
        return false;
    }

    private bool Apply(string name, string value, out string error)
    {
        error = "";
        switch (name)
        {
            case "--tap": Tap = value; return CheckName(value, out error);
            case "--pcap": Pcap = value; return true;
            case "--mac":
                if (!MacAddress.TryParse(value, out var mac)) { error = $"--mac: '{value}' is not a MAC address"; return false; }
                // IEEE 802: the I/G bit marks a group address, which no interface may take as its own; nor the zero address.
                if (mac.IsMulticast || mac == MacAddress.Zero) { error = $"--mac: '{value}' is a group or zero address, not an interface address"; return false; }
                Mac = mac;
                return true;
            case "--mtu":
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int mtu) || mtu is < 1280 or > 65535) { error = $"--mtu: '{value}' is not between 1280 and 65535"; return false; }
                Mtu = mtu;
                return true;
            case "--address": return AddAddress(value, out error);
            case "--gateway": return AddGateway(value, out error);
            case "--dhcp": Dhcp = true; return true;
            case "--slaac": Slaac = true; return true;
            case "--no-offloads": NoOffloads = true; return true;
            case "--tcp-echo": return Port(name, value, v => TcpEcho = v, out error);
            case "--udp-echo": return Port(name, value, v => UdpEcho = v, out error);
            case "--discard": return Port(name, value, v => Discard = v, out error);
            case "--chargen": return Port(name, value, v => Chargen = v, out error);
            case "--http": return Port(name, value, v => Http = v, out error);
            case "--http-root": HttpRoot = value; return true;
            case "--record": Record = value; return true;
            case "--fault-drop": return Probability(name, value, v => FaultDrop = v, out error);
            case "--fault-reorder": return Probability(name, value, v => FaultReorder = v, out error);
            case "--fault-duplicate": return Probability(name, value, v => FaultDuplicate = v, out error);
            case "--seed":
                if (!ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seed)) { error = $"--seed: '{value}' is not a number"; return false; }
                Seed = seed;
                return true;
            case "--backlog":
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int backlog) || backlog is < 1 or > 65535) { error = $"--backlog: '{value}' is not between 1 and 65535"; return false; }
                Backlog = backlog;
                return true;
            case "--queue-len":
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int qlen) || qlen is < 1 or > 1_000_000) { error = $"--queue-len: '{value}' is not between 1 and 1000000"; return false; }
                QueueLength = qlen;
                return true;
            case "--syn-queue":
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int synQueue) || synQueue > 65535) { error = $"--syn-queue: '{value}' is not between 0 and 65535"; return false; }
                SynQueue = synQueue;
                return true;
            default:
                return Unknown(name, out error);
        }
    }

    private static bool CheckName(string value, out string error)
    {
        error = "";
        if (value.Length is >= 1 and <= 15 && !value.Contains('/') && !value.Any(char.IsWhiteSpace)) return true;
        error = $"--tap: '{value}' is not an interface name (1 to 15 characters)";
        return false;
    }

    private bool AddAddress(string value, out string error)
    {
        error = "";
        int slash = value.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !IPAddress.TryParse(value.AsSpan(0, slash), out var ip)
            || !int.TryParse(value.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int prefix))
        {
            error = $"--address: '{value}' is not ADDRESS/PREFIX";
            return false;
        }
        // RFC 4291 §2.5.5.2: an IPv4-mapped address stands for an IPv4 node; it is never an interface's IPv6 address.
        if (ip.IsIPv4MappedToIPv6) { error = $"--address: '{value}' is IPv4-mapped; give the IPv4 address itself"; return false; }
        if (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any) || IsMulticast(ip)) { error = $"--address: '{value}' is not a unicast address"; return false; }
        if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            if (prefix > 32) { error = $"--address: prefix /{prefix} is longer than 32"; return false; }
            Ipv4Addresses.Add(new Ipv4Cidr(Ipv4Address.FromIPAddress(ip), prefix));
        }
        else
        {
            if (prefix > 128) { error = $"--address: prefix /{prefix} is longer than 128"; return false; }
            Ipv6Addresses.Add(new Ipv6Cidr(Ipv6Address.FromIPAddress(ip), prefix));
        }
        return true;
    }

    private static bool IsMulticast(IPAddress ip) =>
        ip.IsIPv6Multicast || (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && (ip.GetAddressBytes()[0] & 0xF0) == 0xE0);

    private bool AddGateway(string value, out string error)
    {
        error = "";
        if (!IPAddress.TryParse(value, out var ip)) { error = $"--gateway: '{value}' is not an address"; return false; }
        // RFC 4291 §2.5.5.2: an IPv4-mapped address stands for an IPv4 node; it is never an interface's IPv6 address.
        if (ip.IsIPv4MappedToIPv6) { error = $"--address: '{value}' is IPv4-mapped; give the IPv4 address itself"; return false; }
        if (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any) || IsMulticast(ip)) { error = $"--address: '{value}' is not a unicast address"; return false; }
        if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            if (Ipv4Gateway is not null) { error = "--gateway: only one IPv4 gateway"; return false; }
            Ipv4Gateway = Ipv4Address.FromIPAddress(ip);
        }
        else
        {
            if (Ipv6Gateway is not null) { error = "--gateway: only one IPv6 gateway"; return false; }
            Ipv6Gateway = Ipv6Address.FromIPAddress(ip);
        }
        return true;
    }

    private static bool Port(string name, string value, Action<int> set, out string error)
    {
        error = "";
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            error = $"{name}: '{value}' is not a port (1 to 65535)";
            return false;
        }
        set(port);
        return true;
    }

    private static bool Probability(string name, string value, Action<double> set, out string error)
    {
        error = "";
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) || p is < 0 or > 1 || double.IsNaN(p))
        {
            error = $"{name}: '{value}' is not a probability between 0 and 1";
            return false;
        }
        set(p);
        return true;
    }

    private bool Validate(out string error)
    {
        error = "";
        if (Tap is null == (Pcap is null)) { error = "exactly one of --tap NAME or --pcap IFACE is needed"; return false; }
        if (Http is not null && HttpRoot is null) { error = "--http needs --http-root DIR"; return false; }
        if (HttpRoot is not null && Http is null) { error = "--http-root needs --http PORT"; return false; }
        if (HttpRoot is not null && !Directory.Exists(HttpRoot)) { error = $"--http-root: '{HttpRoot}' is not a directory"; return false; }
        var tcpPorts = new[] { TcpEcho, Discard, Chargen, Http }.Where(p => p is not null).ToList();
        if (tcpPorts.Count != tcpPorts.Distinct().Count()) { error = "two TCP services on one port"; return false; }
        if (Ipv4Addresses.Count == 0 && Ipv6Addresses.Count == 0 && !Dhcp && !Slaac) { error = "no address: give --address, --dhcp or --slaac"; return false; }
        if (Ipv4Gateway is { } g4 && Ipv4Addresses.Count > 0 && !Ipv4Addresses.Any(a => a.Contains(g4))) { error = $"--gateway {g4} is not on any IPv4 subnet given"; return false; }
        return true;
    }
}
