using System.Net;
using NetStack.Interop.Tests.Support;

namespace NetStack.Interop.Tests.Api;

/// <summary>
/// Our UDP socket bound to <see cref="IPAddress.Any"/> is dual-stack (issue 14): against the kernel's own dual-stack
/// echo (socat on <c>[::]</c> with IPV6_V6ONLY off, answering each datagram from the address it was sent to), one
/// socket sends over IPv6 and IPv4 and receives both replies; and the kernel reaches one Any socket over both families.
/// </summary>
public sealed class UdpDualStackKernelTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [SkippableFact]
    public async Task One_Any_socket_gets_the_kernel_echo_of_both_families()
    {
        Root.Require();
        await using var peer = await KernelPeer.StartAsync();
        peer.Lab.StartIn(peer.Namespace, "socat", "UDP6-RECVFROM:7011,fork,ipv6only=0", "PIPE");
        var bound = System.Diagnostics.Stopwatch.StartNew();
        while (NetnsLab.TryRun("ip", "netns", "exec", peer.Namespace, "ss", "-Hlun", "sport = :7011").StandardOutput.Trim().Length == 0)
        {
            Assert.True(bound.Elapsed < TimeSpan.FromSeconds(30), "socat did not bind UDP port 7011");
            await Task.Delay(50);
        }
        await using var socket = await peer.Stack.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        foreach (var kernel in new[] { KernelPeer.KernelV6, KernelPeer.KernelV4 })
        {
            // The first datagram may meet a neighbour cache still resolving: send again until the echo comes.
            var payload = System.Text.Encoding.ASCII.GetBytes($"to-{kernel}");
            var deadline = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                await socket.SendToAsync(payload, new IPEndPoint(kernel, 7011));
                using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    var buffer = new byte[100];
                    var r = await socket.ReceiveFromAsync(buffer, attempt.Token);
                    Assert.Equal(new IPEndPoint(kernel, 7011), r.RemoteEndPoint);
                    Assert.Equal(payload, buffer[..r.ReceivedBytes]);
                    break;
                }
                catch (OperationCanceledException) when (deadline.Elapsed < Wait)
                {
                }
            }
        }
        Assert.Equal(0, peer.Stack.Stack.Statistics.Drops(NetStack.DropReason.UdpNoSocket));
    }

    [SkippableTheory]
    [InlineData("UDP4-SENDTO:192.0.2.2:7012", "192.0.2.1")]
    [InlineData("UDP6-SENDTO:[2001:db8::2]:7012", "2001:db8::1")]
    public async Task The_kernel_reaches_an_Any_socket_over_both_families(string socatTarget, string kernelAddress)
    {
        Root.Require();
        await using var peer = await KernelPeer.StartAsync();
        await using var socket = await peer.Stack.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7012));
        var receive = socket.ReceiveFromAsync(new byte[100]).AsTask();
        NetnsLab.RunIn(peer.Namespace, "sh", "-c", $"printf 'from-kernel' | socat -u - {socatTarget}");
        var r = await receive.WaitAsync(Wait);
        Assert.Equal(11, r.ReceivedBytes);
        Assert.Equal(IPAddress.Parse(kernelAddress), r.RemoteEndPoint.Address);
    }
}
