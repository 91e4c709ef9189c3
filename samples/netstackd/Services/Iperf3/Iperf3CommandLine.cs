using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net;

namespace NetStack.Samples.Netstackd.Services.Iperf3;

/// <summary>
/// netstackd's iperf3 options: <c>--iperf3 PORT</c> (the server) and <c>--iperf3-client HOST[:PORT]</c> with iperf3's own
/// test options (-u, -R, --bidir, -P, -t, -n, -l, -w, -b; each also as --iperf3-NAME). Sizes take iperf3's suffixes:
/// K/M/G are powers of 1024 for bytes (-n, -l, -w) and of 1000 for the bit rate (-b), as in iperf3's units.c.
/// </summary>
public sealed class Iperf3CommandLine
{
    public int? ServerPort { get; private set; }
    public string? ClientTarget { get; private set; }
    public bool Udp { get; private set; }
    public bool Reverse { get; private set; }
    public bool Bidirectional { get; private set; }
    public int Parallel { get; private set; } = 1;
    public int? Time { get; private set; }
    public long? Bytes { get; private set; }
    public int? Length { get; private set; }
    public int? Window { get; private set; }
    public long? Bitrate { get; private set; }

    private bool _clientOption;

    /// <summary>
    /// The options on netstackd's command line (System.CommandLine): each value is checked as it is parsed (the error
    /// names the option), <see cref="Bind"/> copies a parse without errors, <see cref="Validate"/> checks the combination.
    /// </summary>
    internal sealed class Options
    {
        private readonly Option<string?> _server = Value("--iperf3", "Serve iperf3 (the stock iperf3 -c is the client) on PORT, TCP and UDP", "PORT");
        private readonly Option<string?> _client = Value("--iperf3-client", "Run one iperf3 test against HOST (an iperf3 -s), print its summary and exit", "HOST[:PORT]");
        private readonly Option<bool> _udp = new("--iperf3-udp", "-u") { Description = "iperf3 client: UDP (default TCP)" };
        private readonly Option<bool> _reverse = new("--iperf3-reverse", "-R") { Description = "iperf3 client: the server sends" };
        private readonly Option<bool> _bidir = new("--iperf3-bidir", "--bidir") { Description = "iperf3 client: both send" };
        private readonly Option<string?> _parallel = Value("--iperf3-parallel", "iperf3 client: parallel streams (1 to 128)", "N", "-P");
        private readonly Option<string?> _time = Value("--iperf3-time", "iperf3 client: seconds to run (default 10)", "SECONDS", "-t");
        private readonly Option<string?> _bytes = Value("--iperf3-bytes", "iperf3 client: bytes to move instead (K/M/G: 1024s)", "BYTES", "-n");
        private readonly Option<string?> _length = Value("--iperf3-length", "iperf3 client: bytes per write or datagram", "BYTES", "-l");
        private readonly Option<string?> _window = Value("--iperf3-window", "iperf3 client: socket buffer sizes of the streams (both ends)", "BYTES", "-w");
        private readonly Option<string?> _bitrate = Value("--iperf3-bitrate", "iperf3 client: bits per second per stream (K/M/G: 1000s; UDP default 1M)", "BITS", "-b");

        public IEnumerable<Option> All => [_server, _client, _udp, _reverse, _bidir, _parallel, _time, _bytes, _length, _window, _bitrate];

        private static Option<string?> Value(string name, string description, string helpName, params string[] aliases)
        {
            var option = new Option<string?>(name, aliases) { Description = description, HelpName = helpName, Arity = ArgumentArity.ExactlyOne };
            option.Validators.Add(r =>
            {
                if (r.Tokens.Count > 0 && !new Iperf3CommandLine().TryApply(name, r.Tokens[0].Value, out string error)) r.AddError(error);
            });
            return option;
        }

        /// <summary>Copies a parse without errors into <paramref name="target"/>.</summary>
        public void Bind(ParseResult r, Iperf3CommandLine target)
        {
            foreach (var option in new[] { _server, _client, _parallel, _time, _bytes, _length, _window, _bitrate })
                if (r.GetValue(option) is { } value) target.TryApply(option.Name, value, out _);
            if (r.GetValue(_udp)) target.TryApply(_udp.Name, "", out _);
            if (r.GetValue(_reverse)) target.TryApply(_reverse.Name, "", out _);
            if (r.GetValue(_bidir)) target.TryApply(_bidir.Name, "", out _);
        }
    }

    /// <summary>Applies one option by its long name; false with a one-line reason.</summary>
    internal bool TryApply(string name, string value, out string error)
    {
        error = "";
        if (name is not ("--iperf3" or "--iperf3-client")) _clientOption = true;
        switch (name)
        {
            case "--iperf3":
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
                    return Fail(out error, $"--iperf3: '{value}' is not a port (1 to 65535)");
                ServerPort = port;
                return true;
            case "--iperf3-client":
                if (!TryParseTarget(value, out _, out _)) return Fail(out error, $"--iperf3-client: '{value}' is not HOST, HOST:PORT or [IPv6]:PORT");
                ClientTarget = value;
                return true;
            case "--iperf3-udp": Udp = true; return true;
            case "--iperf3-reverse": Reverse = true; return true;
            case "--iperf3-bidir": Bidirectional = true; return true;
            case "--iperf3-parallel":
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int parallel) || parallel is < 1 or > Iperf3Wire.MaxStreams)
                    return Fail(out error, $"{name}: '{value}' is not between 1 and {Iperf3Wire.MaxStreams}");
                Parallel = parallel;
                return true;
            case "--iperf3-time":
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int time) || time is < 1 or > Iperf3Wire.MaxTime)
                    return Fail(out error, $"{name}: '{value}' is not between 1 and {Iperf3Wire.MaxTime} seconds");
                Time = time;
                return true;
            case "--iperf3-bytes":
                if (!TryParseSize(value, 1024, out long bytes) || bytes < 1) return Fail(out error, $"{name}: '{value}' is not a byte count (e.g. 100M)");
                Bytes = bytes;
                return true;
            case "--iperf3-length":
                if (!TryParseSize(value, 1024, out long length) || length is < 16 or > Iperf3Wire.MaxTcpBlock)
                    return Fail(out error, $"{name}: '{value}' is not between 16 and 1M bytes");
                Length = (int)length;
                return true;
            case "--iperf3-window":
                if (!TryParseSize(value, 1024, out long window) || window is < 1 or > Iperf3Wire.MaxWindow)
                    return Fail(out error, $"{name}: '{value}' is not between 1 and 512M bytes");
                Window = (int)window;
                return true;
            case "--iperf3-bitrate":
                if (!TryParseSize(value, 1000, out long rate)) return Fail(out error, $"{name}: '{value}' is not a bit rate (e.g. 100M)");
                Bitrate = rate;
                return true;
            default:
                return Fail(out error, $"unknown option '{name}'");
        }
    }

    /// <summary>Checks the combination (client options need --iperf3-client; UDP datagrams fit 65507 bytes).</summary>
    internal bool Validate(out string error)
    {
        error = "";
        if (_clientOption && ClientTarget is null) return Fail(out error, "--iperf3-client is needed by -u, -R, --bidir, -P, -t, -n, -l, -w and -b");
        if (Udp && Length > Iperf3Wire.MaxUdpBlock) return Fail(out error, $"--iperf3-length: a UDP datagram holds at most {Iperf3Wire.MaxUdpBlock} bytes");
        if (Reverse && Bidirectional) return Fail(out error, "--iperf3-reverse (-R) and --iperf3-bidir exclude each other");
        return true;
    }

    /// <summary>The test the client asks for; as iperf3, -n makes the duration 0 and UDP without -b runs at 1 Mbit/s.</summary>
    public Iperf3Parameters ClientParameters() => new()
    {
        Udp = Udp,
        Time = Bytes is not null ? 0 : Time ?? 10,
        Bytes = Bytes ?? 0,
        Parallel = Parallel,
        Reverse = Reverse,
        Bidirectional = Bidirectional,
        Window = Window ?? 0,
        Length = Length ?? 0,
        Bandwidth = Bitrate ?? (Udp ? 1 << 20 : 0),
    };

    /// <summary>HOST, HOST:PORT, an IPv6 address, or [IPv6]:PORT (port 5201 when none).</summary>
    public static bool TryParseTarget(string value, out string host, out int port)
    {
        host = value;
        port = Iperf3Wire.DefaultPort;
        string portText = "";
        if (value.StartsWith('['))
        {
            int close = value.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) return false;
            host = value[1..close];
            string rest = value[(close + 1)..];
            if (rest.Length > 0) { if (rest[0] != ':') return false; portText = rest[1..]; }
        }
        else if (value.Count(c => c == ':') == 1)
        {
            int colon = value.IndexOf(':', StringComparison.Ordinal);
            host = value[..colon];
            portText = value[(colon + 1)..];
        }
        if (portText.Length > 0 && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)) return false;
        if (host.Contains(':', StringComparison.Ordinal)) return IPAddress.TryParse(host, out _);
        return host.Length is > 0 and < 254 && host.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-');
    }

    /// <summary>A number with an optional K, M, G or T suffix (powers of <paramref name="unit"/>), fractions allowed ("1.5M").</summary>
    public static bool TryParseSize(string value, int unit, out long result)
    {
        result = 0;
        if (value.Length == 0) return false;
        double scale = char.ToUpperInvariant(value[^1]) switch { 'K' => unit, 'M' => (double)unit * unit, 'G' => Math.Pow(unit, 3), 'T' => Math.Pow(unit, 4), _ => 1 };
        string digits = scale == 1 ? value : value[..^1];
        if (!double.TryParse(digits, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double d)) return false;
        double v = d * scale;
        if (double.IsNaN(v) || v < 0 || v > long.MaxValue / 2) return false;
        result = (long)v;
        return true;
    }

    private static bool Fail(out string error, string text)
    {
        error = text;
        return false;
    }
}
