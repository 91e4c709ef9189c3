using NetStack.Transport.Tcp;

namespace NetStack.Samples.Netstackd;

/// <summary>
/// netstackd's default TCP congestion control: the one the host kernel gives its own sockets in netstackd's network
/// namespace (<c>net.ipv4.tcp_congestion_control</c>, per namespace since Linux 4.15), when NetStack implements it, so
/// that netstackd in place of the kernel sends as the kernel would; CUBIC (RFC 9438, the library's default) otherwise.
/// <c>--cc</c> overrides it. The core stays deterministic: only this sample reads the host.
/// </summary>
public static class HostCongestionControl
{
    /// <summary>Where Linux exposes the namespace's default congestion control.</summary>
    public const string SysctlPath = "/proc/sys/net/ipv4/tcp_congestion_control";

    /// <summary>NetStack's algorithm for a Linux congestion control name, or null when NetStack has none of that name.</summary>
    /// <remarks>Linux's <c>reno</c> recovers as NewReno (RFC 6582) when SACK is off, and NetStack's NewReno is that.</remarks>
    public static CongestionAlgorithm? FromKernelName(string? name) => name?.Trim() switch
    {
        "cubic" => CongestionAlgorithm.Cubic,
        "reno" => CongestionAlgorithm.NewReno,
        "bbr" => CongestionAlgorithm.Bbr,
        _ => null,
    };

    /// <summary>The algorithm netstackd runs without <c>--cc</c>, and a few words saying where it came from.</summary>
    public static (CongestionAlgorithm Algorithm, string Source) Resolve(string? kernelName) =>
        FromKernelName(kernelName) is { } algorithm
            ? (algorithm, $"the host's net.ipv4.tcp_congestion_control = {kernelName!.Trim()}")
            : (CongestionAlgorithm.Cubic, kernelName is null
                ? "default: the host's net.ipv4.tcp_congestion_control is unreadable"
                : $"default: the host's net.ipv4.tcp_congestion_control = {kernelName.Trim()} is not implemented");

    /// <summary>The namespace's <c>net.ipv4.tcp_congestion_control</c>, or null where there is none (not Linux, no /proc).</summary>
    public static string? ReadKernelName(string path = SysctlPath)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
