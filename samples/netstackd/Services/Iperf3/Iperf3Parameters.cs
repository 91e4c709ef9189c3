using System.Text.Json;
using System.Text.Json.Nodes;

namespace NetStack.Samples.Netstackd.Services.Iperf3;

/// <summary>
/// One test's parameters as the client sends them in PARAM_EXCHANGE (iperf_api.c send_parameters / get_parameters),
/// with iperf3's own limits. Counts are totals over all streams (-n, -k); the bit rate (-b) is per stream.
/// </summary>
public sealed record Iperf3Parameters
{
    public bool Udp { get; init; }
    /// <summary>-t seconds (0 with -n or -k: the test ends on bytes or blocks).</summary>
    public int Time { get; init; } = 10;
    /// <summary>-n: bytes to move, over all streams (0: by time).</summary>
    public long Bytes { get; init; }
    /// <summary>-k: blocks to move, over all streams (0: by time or bytes).</summary>
    public long Blocks { get; init; }
    /// <summary>-P.</summary>
    public int Parallel { get; init; } = 1;
    /// <summary>-R: the server sends.</summary>
    public bool Reverse { get; init; }
    /// <summary>--bidir: both send, on separate streams.</summary>
    public bool Bidirectional { get; init; }
    /// <summary>-w: socket buffer sizes in bytes (0: defaults).</summary>
    public int Window { get; init; }
    /// <summary>-l: bytes per write / per datagram (0: the default, 128 KiB for TCP, the path's MSS for UDP).</summary>
    public int Length { get; init; }
    /// <summary>-b: bits per second per stream (0: unlimited).</summary>
    public long Bandwidth { get; init; }
    /// <summary>-O seconds.</summary>
    public int Omit { get; init; }
    /// <summary>-N.</summary>
    public bool NoDelay { get; init; }
    /// <summary>--udp-counters-64bit: 64-bit sequence numbers in the UDP header.</summary>
    public bool UdpCounters64 { get; init; }

    /// <summary>The client's version string, if it sent one.</summary>
    public string? ClientVersion { get; init; }

    /// <summary>Write / datagram size in effect.</summary>
    public int BlockSize(int udpDefault) => Length > 0 ? Length : Udp ? udpDefault : Iperf3Wire.DefaultTcpBlock;

    /// <summary>Streams the server accepts: -P, twice with --bidir.</summary>
    public int StreamCount => Parallel * (Bidirectional ? 2 : 1);

    /// <summary>The JSON a client sends (the members iperf3 3.x sends for these options).</summary>
    public JsonObject ToJson()
    {
        var j = new JsonObject();
        j[Udp ? "udp" : "tcp"] = true;
        j["omit"] = Omit;
        j["time"] = Time;
        j["num"] = Bytes;
        j["blockcount"] = Blocks;
        if (NoDelay) j["nodelay"] = true;
        j["parallel"] = Parallel;
        if (Reverse) j["reverse"] = true;
        if (Bidirectional) j["bidirectional"] = true;
        if (Window > 0) j["window"] = Window;
        if (Length > 0) j["len"] = Length;
        if (Bandwidth > 0) j["bandwidth"] = Bandwidth;
        j["pacing_timer"] = 1000;
        if (UdpCounters64) j["udp_counters_64bit"] = 1;
        j["client_version"] = "3.12";
        return j;
    }

    /// <summary>
    /// Reads a client's parameters, checking each member's type and range as iperf3's get_parameters does; unknown
    /// members are ignored. On failure <paramref name="error"/> is the iperf3 error to send back and <paramref name="reason"/> the log text.
    /// </summary>
    public static bool TryParse(JsonObject json, out Iperf3Parameters parameters, out Iperf3Error error, out string reason)
    {
        parameters = new Iperf3Parameters();
        error = Iperf3Error.ReceiveParameters;
        reason = "";
        bool tcp = IsTrue(json, "tcp"), udp = IsTrue(json, "udp");
        if (IsTrue(json, "sctp") || (!tcp && !udp)) { error = Iperf3Error.Protocol; reason = "neither tcp nor udp"; return false; }
        if (IsTrue(json, "mptcp")) { error = Iperf3Error.Unimplemented; reason = "mptcp"; return false; }
        if (!Number(json, "time", 0, Iperf3Wire.MaxTime, 10, out long time)) { error = Iperf3Error.Duration; reason = "time"; return false; }
        if (!Number(json, "num", 0, long.MaxValue, 0, out long bytes)) { reason = "num"; return false; }
        if (!Number(json, "blockcount", 0, long.MaxValue, 0, out long blocks)) { reason = "blockcount"; return false; }
        if (!Number(json, "parallel", 1, Iperf3Wire.MaxStreams, 1, out long parallel)) { error = Iperf3Error.NumStreams; reason = "parallel"; return false; }
        if (!Number(json, "window", 0, Iperf3Wire.MaxWindow, 0, out long window)) { error = Iperf3Error.BufSize; reason = "window"; return false; }
        long maxBlock = udp ? Iperf3Wire.MaxUdpBlock : Iperf3Wire.MaxTcpBlock;
        if (!Number(json, "len", 0, maxBlock, 0, out long len)) { error = udp ? Iperf3Error.UdpBlockSize : Iperf3Error.BlockSize; reason = "len"; return false; }
        // A UDP datagram carries at least the 12-byte header (16 with 64-bit counters).
        bool counters64 = Number(json, "udp_counters_64bit", 0, 1, 0, out long c64) && c64 == 1;
        if (udp && len is > 0 and < 16 && (counters64 || len < 12)) { error = Iperf3Error.UdpBlockSize; reason = "len below the UDP header"; return false; }
        if (!Number(json, "bandwidth", 0, long.MaxValue, 0, out long bandwidth)) { reason = "bandwidth"; return false; }
        if (!Number(json, "omit", 0, 600, 0, out long omit)) { reason = "omit"; return false; }
        parameters = new Iperf3Parameters
        {
            Udp = udp,
            Time = (int)time,
            Bytes = bytes,
            Blocks = blocks,
            Parallel = (int)parallel,
            Reverse = IsTrue(json, "reverse"),
            Bidirectional = IsTrue(json, "bidirectional"),
            Window = (int)window,
            Length = (int)len,
            Bandwidth = bandwidth,
            Omit = (int)omit,
            NoDelay = IsTrue(json, "nodelay"),
            UdpCounters64 = counters64,
            ClientVersion = json["client_version"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? Truncate(v.GetValue<string>()) : null,
        };
        return true;
    }

    private static string Truncate(string s) => s.Length <= 32 ? s : s[..32];

    private static bool IsTrue(JsonObject json, string name) => json[name] is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    /// <summary>An integer member within [min, max]; absent gives <paramref name="absent"/>; another type or a fraction fails.</summary>
    private static bool Number(JsonObject json, string name, long min, long max, long absent, out long value)
    {
        value = absent;
        if (!json.TryGetPropertyValue(name, out var node) || node is null) return true;
        // cJSON numbers are doubles; iperf3 reads them with valueint (or valuedouble for big counts).
        if (!Iperf3Wire.TryGetNumber(node, out double d) || double.IsNaN(d) || d < min || d > max || d != Math.Floor(d)) return false;
        value = d >= long.MaxValue ? long.MaxValue : (long)d;
        return true;
    }
}
