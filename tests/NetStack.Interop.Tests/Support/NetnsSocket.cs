using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace NetStack.Interop.Tests.Support;

/// <summary>
/// Kernel sockets that live in a test's network namespace, made from this process: a socket belongs to the namespace of
/// the thread that creates it, so a short-lived thread enters the namespace (setns(2)), creates the socket, and returns
/// to ours before it ends. The socket then works from any thread, with every option and timing under the test's control
/// (what a slowloris client needs), and its traffic stays inside the namespace.
/// </summary>
internal static partial class NetnsSocket
{
    private const int CloneNewNet = 0x40000000;

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);

    /// <summary>A TCP socket of <paramref name="family"/> in namespace <paramref name="ns"/> (made by <see cref="NetnsLab"/>).</summary>
    public static Socket CreateTcp(string ns, AddressFamily family)
    {
        Socket? socket = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var home = File.OpenHandle("/proc/thread-self/ns/net");
                using var target = File.OpenHandle($"/var/run/netns/{ns}");
                if (SetNs((int)target.DangerousGetHandle(), CloneNewNet) != 0)
                    throw new InvalidOperationException($"setns({ns}) failed: errno {Marshal.GetLastPInvokeError()}");
                try
                {
                    socket = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
                }
                finally
                {
                    // Back home before the thread ends (a thread left in the namespace would be harmless, but be tidy).
                    if (SetNs((int)home.DangerousGetHandle(), CloneNewNet) != 0)
                        error = new InvalidOperationException($"setns(back) failed: errno {Marshal.GetLastPInvokeError()}");
                }
            }
#pragma warning disable CA1031 // reported to the caller
            catch (Exception e)
#pragma warning restore CA1031
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            socket?.Dispose();
            throw error;
        }
        return socket!;
    }
}
