using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using NetStack.Interop.Tests.Support;
using NetStack.Network;
using NetStack.Samples.Netstackd;
using NetStack.Sockets;
using NetStack.Tap;
using NetStack.Wire;

namespace NetStack.Interop.Tests.Netstackd;

/// <summary>
/// The set-up the TAP transfer tests share: a fresh namespace (<see cref="NetnsLab"/>) holding one end of a TAP with the
/// kernel's addresses (<see cref="NetstackdProcess.KernelV4"/>/<see cref="NetstackdProcess.KernelV6"/>, no DAD), and a
/// started <see cref="NetstackdStack"/> on the other end with the stack's (no SLAAC). Disposing stops the stack, then
/// removes the namespace, the TAP and every process started in it, also when a test fails.
/// </summary>
internal sealed record TapStackLab(NetnsLab Lab, string Ns, TapDevice Tap, NetstackdStack Stack) : IAsyncDisposable
{
    /// <summary>
    /// Creates the namespace and TAP and starts the stack with <paramref name="options"/>; with
    /// <paramref name="kernelIsGateway"/> the kernel's addresses are the stack's default routers (both families).
    /// </summary>
    public static async Task<TapStackLab> StartAsync(NetstackdStackOptions options, TunTapOptions? tapOptions = null, bool kernelIsGateway = false)
    {
        var lab = new NetnsLab();
        try
        {
            var ns = lab.CreateNamespace();
            var tap = lab.CreateTap(ns, tapOptions);
            NetnsLab.Run("ip", "-n", ns, "addr", "add", NetstackdProcess.KernelV4 + "/24", "dev", tap.Name);
            NetnsLab.Run("ip", "-n", ns, "addr", "add", NetstackdProcess.KernelV6 + "/64", "dev", tap.Name, "nodad");
            var config = new InterfaceConfig
            {
                Ipv4Addresses = [Ipv4Cidr.Parse(NetstackdProcess.StackV4 + "/24")],
                Ipv6Addresses = [new Ipv6Cidr(Ipv6Address.Parse(NetstackdProcess.StackV6), 64)],
                Slaac = false,
                Ipv4Gateway = kernelIsGateway ? Ipv4Address.Parse(NetstackdProcess.KernelV4) : null,
                Ipv6Gateway = kernelIsGateway ? Ipv6Address.Parse(NetstackdProcess.KernelV6) : null,
            };
            var stack = new NetstackdStack(tap, config, options);
            try
            {
                await stack.StartAsync();
            }
            catch
            {
                await stack.DisposeAsync();
                throw;
            }
            return new TapStackLab(lab, ns, tap, stack);
        }
        catch
        {
            lab.Dispose();
            throw;
        }
    }

    /// <summary>The kernel's end point in the namespace for one family.</summary>
    public static IPEndPoint Kernel(bool ipv6, int port) =>
        new(IPAddress.Parse(ipv6 ? NetstackdProcess.KernelV6 : NetstackdProcess.KernelV4), port);

    /// <summary>Connects our client, retrying while the kernel server is not listening yet.</summary>
    public async Task<TcpConnectionStream> ConnectWhenListening(IPEndPoint server)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await Stack.Ip.ConnectTcpAsync(server).WaitAsync(TimeSpan.FromSeconds(60));
            }
            // Refused: socat is not listening yet. HostUnreachable: our IPv6 address is still tentative (no source address
            // until duplicate address detection ends, RFC 4862 §5.4).
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.HostUnreachable
                && deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>
    /// The kernel (socat in the namespace) serves the file <paramref name="source"/> on <paramref name="port"/>; our client
    /// connects and reads to the end. Returns the bytes read, their SHA-256 (lower-case hex) and the time from connecting.
    /// </summary>
    public async Task<(long Bytes, string Sha256, TimeSpan Elapsed)> DownloadFromKernel(string source, bool ipv6, int port)
    {
        Lab.StartIn(Ns, "socat", "-u", "OPEN:" + source,
            (ipv6 ? "TCP6-LISTEN:" : "TCP4-LISTEN:") + port.ToString(CultureInfo.InvariantCulture) + ",reuseaddr");
        var clock = Stopwatch.StartNew();
        await using var c = await ConnectWhenListening(Kernel(ipv6, port));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[256 * 1024];
        long total = 0;
        int read;
        while ((read = await c.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromMinutes(2))) > 0)
        {
            hash.AppendData(buffer, 0, read);
            total += read;
        }
        clock.Stop();
        return (total, Convert.ToHexStringLower(hash.GetHashAndReset()), clock.Elapsed);
    }

    /// <summary>Writes <paramref name="size"/> random bytes to <paramref name="path"/>; returns their SHA-256 in lower-case hex.</summary>
    public static string WriteRandomFile(string path, long size)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var f = File.Create(path);
        var chunk = new byte[1 << 20];
        for (long left = size; left > 0; left -= chunk.Length)
        {
            int n = (int)Math.Min(chunk.Length, left);
            RandomNumberGenerator.Fill(chunk.AsSpan(0, n));
            f.Write(chunk, 0, n);
            sha.AppendData(chunk, 0, n);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    public async ValueTask DisposeAsync()
    {
        await Stack.DisposeAsync();
        Lab.Dispose();
    }
}
