using System.Globalization;
using System.Net;
using System.Text;
using NetStack.Samples.Tlstunnel.Config;

namespace NetStack.Samples.Tlstunnel.Tunnel;

/// <summary>What one HTTP/1.x request head asks of the redirect service.</summary>
public sealed record RedirectRequest(string Method, string Location, bool KeepAlive, long BodyLength);

/// <summary>
/// The HTTP/1.x request parsing of the port-80 redirect, pure: a request head (up to the empty line) becomes the
/// <c>Location</c> of a 308 (RFC 9110 §15.4.9) or null, meaning 400 and close. RFC 9112 rules applied: request line
/// <c>method SP request-target SP HTTP-version</c> (§3), no white space between a field name and its colon (§5.1), exactly
/// one Host in HTTP/1.1 (§3.2, RFC 9110 §7.2), Transfer-Encoding and Content-Length not together (§6.3), keep-alive by
/// default in 1.1 and on request in 1.0 (§9.3).
/// </summary>
public static class HttpRedirect
{
    public const int MaxHead = 8192;

    public static RedirectRequest? Parse(ReadOnlySpan<byte> head, out string reason)
    {
        reason = "";
        if (head.IndexOfAnyExceptInRange((byte)0x01, (byte)0x7e) is int bad && bad >= 0 && head[bad] != (byte)'\t') return Fail("a byte outside ASCII", out reason);
        var text = Encoding.ASCII.GetString(head);
        var lines = text.Split('\n').Select(l => l.EndsWith('\r') ? l[..^1] : l).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        if (lines.Count == 0) return Fail("empty request", out reason);
        var parts = lines[0].Split(' ');
        if (parts.Length != 3 || parts[0].Length == 0 || !parts[0].All(IsTokenChar)) return Fail("bad request line", out reason);
        string method = parts[0], target = parts[1], version = parts[2];
        if (version is not ("HTTP/1.1" or "HTTP/1.0")) return Fail("bad version", out reason);
        string? host = null;
        int hosts = 0;
        string connection = "";
        long contentLength = 0;
        bool hasLength = false, chunked = false;
        foreach (var line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0) return Fail("bad header line", out reason);
            var fieldName = line[..colon];
            if (!fieldName.All(IsTokenChar)) return Fail("bad field name", out reason);
            var value = line[(colon + 1)..].Trim(' ', '\t');
            switch (fieldName.ToLowerInvariant())
            {
                case "host": host = value; hosts++; break;
                case "connection": connection += "," + value.ToLowerInvariant(); break;
                case "content-length":
                    if (hasLength || !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out contentLength)) return Fail("bad Content-Length", out reason);
                    hasLength = true;
                    break;
                case "transfer-encoding": chunked = true; break;
            }
        }
        if (hosts > 1 || (version == "HTTP/1.1" && hosts == 0)) return Fail("Host missing or repeated", out reason);
        if (chunked && hasLength) return Fail("Transfer-Encoding with Content-Length", out reason);
        // The request target (RFC 9112 §3.2): origin-form, absolute-form (its authority wins over Host), asterisk-form.
        string path;
        if (target.StartsWith('/')) path = target;
        else if (target == "*" && method == "OPTIONS") path = "/";
        else if (target.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && Uri.TryCreate(target, UriKind.Absolute, out var uri))
        {
            host = uri.Authority;
            path = uri.PathAndQuery;
        }
        else return Fail("bad request target", out reason);
        if (path.Any(c => c <= ' ' || c == 0x7f)) return Fail("bad request target", out reason);
        var authority = host is null ? null : HostOnly(host);
        if (authority is null) return Fail("bad Host", out reason);
        var tokens = connection.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        bool keepAlive = version == "HTTP/1.1" ? !tokens.Contains("close") : tokens.Contains("keep-alive");
        // A chunked body is not read: answer and close.
        if (chunked) keepAlive = false;
        return new RedirectRequest(method, "https://" + authority + path, keepAlive, contentLength);
    }

    /// <summary>The host of a Host value without its port (the https port is the default one): a name, an IPv4 or a [IPv6] literal.</summary>
    public static string? HostOnly(string host)
    {
        if (host.StartsWith('['))
        {
            int close = host.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || !IPAddress.TryParse(host.AsSpan(1, close - 1), out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6) return null;
            var rest = host[(close + 1)..];
            if (rest.Length > 0 && !IsPort(rest)) return null;
            return host[..(close + 1)];
        }
        int colon = host.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? host : host[..colon];
        if (colon >= 0 && !IsPort(host[colon..])) return null;
        if (IPAddress.TryParse(name, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) return name;
        return ServerNames.Normalize(name);
    }

    private static bool IsPort(string colonPort) =>
        colonPort.Length >= 2 && colonPort[0] == ':' && colonPort.Length <= 6 && colonPort.Skip(1).All(char.IsAsciiDigit);

    /// <summary>RFC 9110 §5.6.2 tchar.</summary>
    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);

    private static RedirectRequest? Fail(string why, out string reason)
    {
        reason = why;
        return null;
    }

    public static byte[] Response308(string location, bool keepAlive) => Encoding.ASCII.GetBytes(
        $"HTTP/1.1 308 Permanent Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n{(keepAlive ? "" : "Connection: close\r\n")}\r\n");

    public static readonly byte[] Response400 = Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}
