using System.Globalization;
using System.Net;
using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Samples.Tlstunnel;

/// <summary>tlstunnel's command line (see <see cref="Usage"/>), in netstackd's style. Parsing never throws: a bad option is a one-line reason.</summary>
public sealed class TunnelOptions
{
    public const string Usage =
        "usage: tlstunnel --tap NAME --address 198.51.100.3/24 [--address 2001:db8:1::3/64]... [--gateway ADDR]... [--mac MAC] [--mtu N]\n" +
        "                 --config FILE [--control-port N --secret-file FILE]\n" +
        "                 [--https-port N (443)] [--http-port N (80; 0: none)] [--max-connections N (1024)] [--backlog N (1024)]\n" +
        "                 [--syn-queue N (half-open connections before SYN cookies, 256)]\n" +
        "                 [--handshake-timeout SECONDS (10)] [--idle-timeout SECONDS (300)] [--drain SECONDS (10)]\n" +
        "       tlstunnel --kernel [--address ADDR]... --config FILE ...   (the same service on the host kernel's sockets)\n" +
        "       tlstunnel ctl --server HOST:PORT --secret-file FILE (list | stats | add NAME BACKEND [via=kernel] [alpn=P] | remove NAME [alpn=P])\n" +
        "       tlstunnel --help | --version\n" +
        "Port 80 answers 308 to https; port 443 terminates TLS 1.2/1.3 and forwards to the backend routed by the server name.\n" +
        "The config file (JSON) is reloaded when it changes (or on SIGHUP); SIGINT/SIGTERM stop accepting and drain.";

    public string? Tap { get; private set; }
    public bool Kernel { get; private set; }
    public MacAddress? Mac { get; private set; }
    public int? Mtu { get; private set; }
    public List<Ipv4Cidr> Ipv4Addresses { get; } = [];
    public List<Ipv6Cidr> Ipv6Addresses { get; } = [];
    public Ipv4Address? Ipv4Gateway { get; private set; }
    public Ipv6Address? Ipv6Gateway { get; private set; }
    public string? Config { get; private set; }
    public int? ControlPort { get; private set; }
    public string? SecretFile { get; private set; }
    public int HttpsPort { get; private set; } = 443;
    public int HttpPort { get; private set; } = 80;
    public int MaxConnections { get; private set; } = 1024;
    public int Backlog { get; private set; } = 1024;
    /// <summary>Half-open connections per listener before SYN cookies (RFC 4987 §3.6); each holds the stack's TCP buffers.</summary>
    public int SynQueue { get; private set; } = 256;
    public TimeSpan HandshakeTimeout { get; private set; } = TimeSpan.FromSeconds(10);
    public TimeSpan IdleTimeout { get; private set; } = TimeSpan.FromSeconds(300);
    public TimeSpan Drain { get; private set; } = TimeSpan.FromSeconds(10);
    public bool Help { get; private set; }
    public bool Version { get; private set; }

    /// <summary>The addresses to bind in --kernel mode (none: every address).</summary>
    public IReadOnlyList<IPAddress> BindAddresses =>
        [.. Ipv4Addresses.Select(a => a.Address.ToIPAddress()), .. Ipv6Addresses.Select(a => a.Address.ToIPAddress())];

    public static bool TryParse(string[] args, out TunnelOptions options, out string error)
    {
        options = new TunnelOptions();
        error = "";
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (name is "-h" or "--help") { options.Help = true; return true; }
            if (name is "--version") { options.Version = true; return true; }
            if (name is "--kernel") { options.Kernel = true; continue; }
            if (i + 1 >= args.Length)
            {
                error = Known(name) ? $"{name} needs a value" : $"unknown option '{name}'";
                return false;
            }
            if (!options.Apply(name, args[++i], out error)) return false;
        }
        return options.Validate(out error);
    }

    private static bool Known(string name) => name is "--tap" or "--mac" or "--mtu" or "--address" or "--gateway" or "--config"
        or "--control-port" or "--secret-file" or "--https-port" or "--http-port" or "--max-connections" or "--backlog"
        or "--handshake-timeout" or "--idle-timeout" or "--drain" or "--syn-queue";

    private bool Apply(string name, string value, out string error)
    {
        error = "";
        switch (name)
        {
            case "--tap":
                Tap = value;
                if (value.Length is >= 1 and <= 15 && !value.Contains('/', StringComparison.Ordinal) && !value.Any(char.IsWhiteSpace)) return true;
                error = $"--tap: '{value}' is not an interface name (1 to 15 characters)";
                return false;
            case "--mac":
                if (!MacAddress.TryParse(value, out var mac)) { error = $"--mac: '{value}' is not a MAC address"; return false; }
                Mac = mac;
                return true;
            case "--mtu": return Int(name, value, 1280, 65535, v => Mtu = v, out error);
            case "--address": return AddAddress(value, out error);
            case "--gateway": return AddGateway(value, out error);
            case "--config": Config = value; return true;
            case "--secret-file": SecretFile = value; return true;
            case "--control-port": return Int(name, value, 1, 65535, v => ControlPort = v, out error);
            case "--https-port": return Int(name, value, 1, 65535, v => HttpsPort = v, out error);
            case "--http-port": return Int(name, value, 0, 65535, v => HttpPort = v, out error);
            case "--max-connections": return Int(name, value, 1, 1_000_000, v => MaxConnections = v, out error);
            case "--backlog": return Int(name, value, 1, 65535, v => Backlog = v, out error);
            case "--syn-queue": return Int(name, value, 0, 65535, v => SynQueue = v, out error);
            case "--handshake-timeout": return Seconds(name, value, v => HandshakeTimeout = v, out error);
            case "--idle-timeout": return Seconds(name, value, v => IdleTimeout = v, out error);
            case "--drain": return Seconds(name, value, v => Drain = v, out error, allowZero: true);
            default:
                error = $"unknown option '{name}'";
                return false;
        }
    }

    private static bool Int(string name, string value, int min, int max, Action<int> set, out string error)
    {
        error = "";
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
        {
            error = $"{name}: '{value}' is not between {min} and {max}";
            return false;
        }
        set(v);
        return true;
    }

    private static bool Seconds(string name, string value, Action<TimeSpan> set, out string error, bool allowZero = false)
    {
        error = "";
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double s) || double.IsNaN(s) || s < 0 || (s == 0 && !allowZero) || s > 86_400)
        {
            error = $"{name}: '{value}' is not a number of seconds{(allowZero ? "" : " above 0")} up to 86400";
            return false;
        }
        set(TimeSpan.FromSeconds(s));
        return true;
    }

    private bool AddAddress(string value, out string error)
    {
        error = "";
        int slash = value.IndexOf('/', StringComparison.Ordinal);
        string addressText = slash < 0 ? value : value[..slash];
        int prefix = -1;
        if (!IPAddress.TryParse(addressText, out var ip)
            || (slash >= 0 && !int.TryParse(value.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix)))
        {
            error = $"--address: '{value}' is not ADDRESS/PREFIX";
            return false;
        }
        if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            if (prefix < 0) prefix = 32;
            if (prefix > 32) { error = $"--address: prefix /{prefix} is longer than 32"; return false; }
            Ipv4Addresses.Add(new Ipv4Cidr(Ipv4Address.FromIPAddress(ip), prefix));
        }
        else
        {
            if (prefix < 0) prefix = 128;
            if (prefix > 128) { error = $"--address: prefix /{prefix} is longer than 128"; return false; }
            Ipv6Addresses.Add(new Ipv6Cidr(Ipv6Address.FromIPAddress(ip), prefix));
        }
        return true;
    }

    private bool AddGateway(string value, out string error)
    {
        error = "";
        if (!IPAddress.TryParse(value, out var ip)) { error = $"--gateway: '{value}' is not an address"; return false; }
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

    private bool Validate(out string error)
    {
        error = "";
        if (Kernel == (Tap is not null)) { error = "exactly one of --tap NAME or --kernel is needed"; return false; }
        if (!Kernel && Ipv4Addresses.Count == 0 && Ipv6Addresses.Count == 0) { error = "no address: give --address"; return false; }
        if (Config is null) { error = "--config FILE is needed"; return false; }
        if (ControlPort is not null != (SecretFile is not null)) { error = "--control-port and --secret-file go together"; return false; }
        var ports = new[] { HttpsPort, HttpPort, ControlPort ?? 0 }.Where(p => p != 0).ToList();
        if (ports.Count != ports.Distinct().Count()) { error = "two services on one port"; return false; }
        if (Ipv4Gateway is { } g4 && Ipv4Addresses.Count > 0 && !Ipv4Addresses.Any(a => a.Contains(g4))) { error = $"--gateway {g4} is not on any IPv4 subnet given"; return false; }
        return true;
    }
}
