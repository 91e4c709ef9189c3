using System.Globalization;
using System.Net;

namespace NetStack.Samples.Tlstunnel.Config;

/// <summary>Where a route's plaintext goes: host (address literal or name) and port, over the stack or the kernel.</summary>
public sealed record Backend(string Host, int Port, bool Kernel)
{
    /// <summary>Parses <c>host:port</c>, <c>[v6]:port</c> or <c>v4:port</c>; null with a reason when malformed.</summary>
    public static Backend? Parse(string? text, bool kernel, out string error)
    {
        error = "";
        if (string.IsNullOrWhiteSpace(text)) { error = "backend is empty"; return null; }
        string host;
        string port;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':') { error = $"backend '{text}' is not [ADDRESS]:PORT"; return null; }
            host = text[1..close];
            port = text[(close + 2)..];
            if (!IPAddress.TryParse(host, out var a) || a.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6) { error = $"backend '{text}': '{host}' is not an IPv6 address"; return null; }
        }
        else
        {
            int colon = text.LastIndexOf(':');
            if (colon <= 0 || text.IndexOf(':', StringComparison.Ordinal) != colon) { error = $"backend '{text}' is not HOST:PORT"; return null; }
            host = text[..colon];
            port = text[(colon + 1)..];
            if (!IPAddress.TryParse(host, out _) && ServerNames.Normalize(host) is null) { error = $"backend '{text}': '{host}' is not an address or host name"; return null; }
        }
        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 1 or > 65535) { error = $"backend '{text}': '{port}' is not a port"; return null; }
        return new Backend(host, p, kernel);
    }

    public override string ToString() =>
        (Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}") + (Kernel ? " via kernel" : "");
}

/// <summary>Where the routes came from: the configuration file, or the control protocol.</summary>
public enum RouteOrigin
{
    File,
    Control,
}

/// <summary>One name (exact or <c>*.</c> wildcard) and, optionally, one ALPN protocol, mapped to a backend.</summary>
public sealed record Route(string Name, string? Alpn, Backend Backend, RouteOrigin Origin = RouteOrigin.File)
{
    public override string ToString() => $"{Name}{(Alpn is null ? "" : " alpn=" + Alpn)} -> {Backend}{(Origin == RouteOrigin.Control ? " (control)" : "")}";
}
