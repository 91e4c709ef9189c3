using System.Diagnostics;
using System.Net;
using NetStack.Interop.Tests.Support;
using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Tap;
using NetStack.Composition;

namespace NetStack.Interop.Tests.Api;

/// <summary>
/// Our <see cref="IpStack"/> on a TAP whose kernel side lives in a namespace made for the test: the kernel is
/// 192.0.2.1/24 and 2001:db8::1/64, we are 192.0.2.2/24 and 2001:db8::2/64 (documentation addresses). Disposal stops
/// the stack, kills only the processes the lab started and removes the namespace.
/// </summary>
internal sealed class KernelPeer : IAsyncDisposable
{
    public static readonly IPAddress KernelV4 = IPAddress.Parse("192.0.2.1");
    public static readonly IPAddress KernelV6 = IPAddress.Parse("2001:db8::1");
    public static readonly IPAddress OurV4 = IPAddress.Parse("192.0.2.2");
    public static readonly IPAddress OurV6 = IPAddress.Parse("2001:db8::2");

    private readonly List<string> _files = [];

    private KernelPeer(NetnsLab lab, string ns, string tap, IpStack stack)
    {
        Lab = lab;
        Namespace = ns;
        TapName = tap;
        Stack = stack;
    }

    public NetnsLab Lab { get; }
    public string Namespace { get; }
    public string TapName { get; }
    public IpStack Stack { get; }

    /// <summary>Builds the lab; <paramref name="config"/> replaces our static configuration (DHCP tests), <paramref name="kernelV4"/> the kernel's address.</summary>
    public static async Task<KernelPeer> StartAsync(IpStackOptions? options = null, InterfaceConfig? config = null, string kernelV4 = "192.0.2.1/24")
    {
        var lab = new NetnsLab();
        try
        {
            var ns = lab.CreateNamespace();
            var tap = lab.CreateTap(ns);
            NetnsLab.Run("ip", "-n", ns, "addr", "add", kernelV4, "dev", tap.Name);
            NetnsLab.Run("ip", "-n", ns, "addr", "add", "2001:db8::1/64", "dev", tap.Name, "nodad");
            config ??= new InterfaceConfig
            {
                Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.2/24")],
                Ipv6Addresses = [new Ipv6Cidr(NetStack.Wire.Ipv6Address.Parse("2001:db8::2"), 64)],
                Slaac = false,
            };
            options ??= new IpStackOptions();
            options = options with
            {
                Name = "ours",
                Stack = options.Stack ?? new StackOptions { Ipv6 = new Ipv6Settings { DupAddrDetectTransmits = 0 } },
            };
            var stack = new IpStack(tap, config, options);
            await stack.StartAsync();
            return new KernelPeer(lab, ns, tap.Name, stack);
        }
        catch
        {
            lab.Dispose();
            throw;
        }
    }

    /// <summary>A file name unique to this test run, deleted on dispose.</summary>
    public string TempFile(string what)
    {
        var path = Path.Combine(Path.GetTempPath(), $"nst-api-{Environment.ProcessId}-{Guid.NewGuid():N}-{what}");
        _files.Add(path);
        return path;
    }

    /// <summary>Starts <c>tcpdump -c 1</c> on the TAP in the namespace, writing the first packet matching <paramref name="filter"/>; waits until it listens.</summary>
    public async Task<(Process Process, string File)> CaptureOneAsync(string filter)
    {
        var file = TempFile("cap.pcap");
        var p = Lab.StartIn(Namespace, "tcpdump", "-i", TapName, "-U", "-c", "1", "-n", "-w", file, filter);
        var clock = Stopwatch.StartNew();
        while (!File.Exists(file) && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(20);
        await Task.Delay(200); // the filter is attached right after the file is created
        return (p, file);
    }

    /// <summary>Waits for a capture to end and returns tcpdump's verbose decoding of it.</summary>
    public static async Task<string> ReadCaptureAsync((Process Process, string File) capture)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await capture.Process.WaitForExitAsync(cts.Token);
        return NetnsLab.Run("tcpdump", "-r", capture.File, "-n", "-v").StandardOutput;
    }

    /// <summary>Polls a file written by a process in the namespace until it has at least <paramref name="bytes"/> bytes.</summary>
    public static async Task<byte[]> WaitForFileAsync(string path, int bytes, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (File.Exists(path))
            {
                var data = await File.ReadAllBytesAsync(path);
                if (data.Length >= bytes) return data;
            }
            await Task.Delay(20);
        }
        throw new TimeoutException($"{path} did not receive {bytes} bytes within {timeout}");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Stack.DisposeAsync();
        }
        finally
        {
            Lab.Dispose();
            foreach (var f in _files)
            {
                try { File.Delete(f); } catch (IOException) { }
            }
        }
    }
}
