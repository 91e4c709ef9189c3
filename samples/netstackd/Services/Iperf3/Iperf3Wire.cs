using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NetStack.Samples.Netstackd.Services.Iperf3;

/// <summary>
/// iperf3's control protocol as the stock iperf3 3.x speaks it (esnet/iperf src/iperf_api.h, iperf_api.c): a 37-byte
/// cookie opens the control connection and every TCP stream, the server drives the test with one signed state byte at a
/// time, and parameters and results travel as JSON behind a 4-byte big-endian length.
/// </summary>
public static class Iperf3Wire
{
    /// <summary>The default port (iperf3 -p).</summary>
    public const int DefaultPort = 5201;

    /// <summary>The cookie: 36 characters and a NUL (iperf.h COOKIE_SIZE, "the size of an ascii uuid").</summary>
    public const int CookieSize = 37;

    /// <summary>The parameter JSON is at most 8 KiB (iperf.h MAX_PARAMS_JSON_STRING); anything longer is refused.</summary>
    public const int MaxParametersJson = 8 * 1024;

    /// <summary>Our cap on a results JSON (iperf3 itself reads results of any length): 128 streams need about 30 KB.</summary>
    public const int MaxResultsJson = 256 * 1024;

    /// <summary>iperf.h MAX_STREAMS.</summary>
    public const int MaxStreams = 128;

    /// <summary>iperf.h MAX_TIME (seconds).</summary>
    public const int MaxTime = 86400;

    /// <summary>iperf.h MAX_BLOCKSIZE (TCP block) and MAX_UDP_BLOCKSIZE (65535 - 8 - 20).</summary>
    public const int MaxTcpBlock = 1 << 20, MaxUdpBlock = 65535 - 8 - 20;

    /// <summary>iperf.h MAX_TCP_BUFFER (-w).</summary>
    public const int MaxWindow = 512 << 20;

    /// <summary>iperf_api.h DEFAULT_TCP_BLKSIZE.</summary>
    public const int DefaultTcpBlock = 128 * 1024;

    /// <summary>
    /// The UDP "connect" datagram and its answer as bytes on the wire (iperf.h UDP_CONNECT_MSG 0x36373839 and
    /// UDP_CONNECT_REPLY 0x39383736 written in host order by a little-endian host; big-endian builds swap the constants so
    /// that the bytes stay these), and the legacy numeric values (123456789 / 987654321, little-endian) older peers use.
    /// </summary>
    public static ReadOnlySpan<byte> UdpConnectMessage => [0x39, 0x38, 0x37, 0x36];
    public static ReadOnlySpan<byte> UdpConnectReply => [0x36, 0x37, 0x38, 0x39];
    public static ReadOnlySpan<byte> LegacyUdpConnectMessage => [0x15, 0xCD, 0x5B, 0x07];
    public static ReadOnlySpan<byte> LegacyUdpConnectReply => [0xB1, 0x68, 0xDE, 0x3A];

    /// <summary>A fresh cookie as iperf3's make_cookie builds it: 36 characters of [a-z2-7] and a NUL.</summary>
    public static byte[] MakeCookie()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        var cookie = new byte[CookieSize];
        for (int i = 0; i < CookieSize - 1; i++) cookie[i] = (byte)alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        return cookie;
    }

    /// <summary>A cookie we accept: 36 printable ASCII characters and a NUL (what every iperf3 sends).</summary>
    public static bool IsValidCookie(ReadOnlySpan<byte> cookie)
    {
        if (cookie.Length != CookieSize || cookie[^1] != 0) return false;
        foreach (byte b in cookie[..^1])
            if (b is < 0x21 or > 0x7E) return false;
        return true;
    }

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes within <paramref name="timeout"/>.</summary>
    /// <exception cref="Iperf3ProtocolException">The peer closed first, or the time ran out.</exception>
    public static async Task ReadExactAsync(Stream stream, Memory<byte> buffer, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await stream.ReadExactlyAsync(buffer, cts.Token).ConfigureAwait(false);
        }
        catch (EndOfStreamException)
        {
            throw new Iperf3ProtocolException($"peer closed while we waited for {what}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new Iperf3ProtocolException($"no {what} within {timeout.TotalSeconds:F0} s");
        }
    }

    /// <summary>Reads one state byte.</summary>
    public static async Task<Iperf3State> ReadStateAsync(Stream stream, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var b = new byte[1];
        await ReadExactAsync(stream, b, timeout, "a state byte", cancellationToken).ConfigureAwait(false);
        return (Iperf3State)(sbyte)b[0];
    }

    /// <summary>Writes one state byte.</summary>
    public static ValueTask WriteStateAsync(Stream stream, Iperf3State state, CancellationToken cancellationToken) =>
        stream.WriteAsync(new[] { (byte)(sbyte)state }, cancellationToken);

    /// <summary>SERVER_ERROR followed by iperf3's error number and an errno, both 32-bit big-endian (iperf_server_api.c cleanup_server).</summary>
    public static ValueTask WriteServerErrorAsync(Stream stream, Iperf3Error error, CancellationToken cancellationToken)
    {
        var b = new byte[9];
        b[0] = unchecked((byte)(sbyte)Iperf3State.ServerError);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(1), (int)error);
        return stream.WriteAsync(b, cancellationToken);
    }

    /// <summary>Writes <paramref name="json"/> (unindented UTF-8) behind its 4-byte big-endian length (iperf_api.c JSON_write).</summary>
    public static ValueTask WriteJsonAsync(Stream stream, JsonNode json, CancellationToken cancellationToken)
    {
        var text = Encoding.UTF8.GetBytes(json.ToJsonString());
        var frame = new byte[4 + text.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)text.Length);
        text.CopyTo(frame, 4);
        return stream.WriteAsync(frame, cancellationToken);
    }

    /// <summary>
    /// Reads a length-prefixed JSON object (iperf_api.c JSON_read). A length of 0 or above <paramref name="maxLength"/> is
    /// refused before anything is allocated, and so is text that is not a JSON object.
    /// </summary>
    /// <exception cref="Iperf3ProtocolException">Closed, timed out, too long, or not a JSON object.</exception>
    public static async Task<JsonObject> ReadJsonAsync(Stream stream, int maxLength, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        var prefix = new byte[4];
        await ReadExactAsync(stream, prefix, timeout, what + " length", cancellationToken).ConfigureAwait(false);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(prefix);
        if (length == 0 || length > (uint)maxLength) throw new Iperf3ProtocolException($"{what}: JSON length {length} outside 1..{maxLength}");
        var text = new byte[length];
        await ReadExactAsync(stream, text, timeout, what, cancellationToken).ConfigureAwait(false);
        return ParseObject(text, what);
    }

    /// <summary>A JSON number as a double (whether parsed from text or built in memory from an integer).</summary>
    public static bool TryGetNumber(JsonNode? node, out double value)
    {
        value = 0;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return false;
        if (v.TryGetValue(out value)) return true;
        if (v.TryGetValue(out long l)) { value = l; return true; }
        if (v.TryGetValue(out int i)) { value = i; return true; }
        return false;
    }

    /// <summary>Parses a JSON object (at most 16 levels deep), or throws <see cref="Iperf3ProtocolException"/>.</summary>
    public static JsonObject ParseObject(ReadOnlySpan<byte> utf8, string what)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 16 });
            return JsonNode.Parse(ref reader) as JsonObject ?? throw new Iperf3ProtocolException($"{what}: not a JSON object");
        }
        catch (JsonException e)
        {
            throw new Iperf3ProtocolException($"{what}: bad JSON ({e.Message.Split('\n')[0]})");
        }
    }
}

/// <summary>The control connection's state bytes (iperf_api.h).</summary>
public enum Iperf3State : sbyte
{
    TestStart = 1,
    TestRunning = 2,
    TestEnd = 4,
    ParamExchange = 9,
    CreateStreams = 10,
    ServerTerminate = 11,
    ClientTerminate = 12,
    ExchangeResults = 13,
    DisplayResults = 14,
    IperfStart = 15,
    IperfDone = 16,
    AccessDenied = -1,
    ServerError = -2,
}

/// <summary>The iperf3 error numbers we send (iperf_api.h; the client prints iperf_strerror of them).</summary>
public enum Iperf3Error
{
    Duration = 5,
    NumStreams = 6,
    BlockSize = 7,
    BufSize = 8,
    Unimplemented = 13,
    UdpBlockSize = 20,
    InitTest = 101,
    Message = 110,
    ReceiveParameters = 114,
    ReceiveResults = 117,
    Protocol = 131,
    StreamListen = 202,
    StreamAccept = 204,
}

/// <summary>The peer broke iperf3's control protocol (or went silent): the connection is closed and the reason logged.</summary>
public sealed class Iperf3ProtocolException(string message) : Exception(message);
