using System.Runtime.InteropServices;

namespace NetStack.Interop.Tests.Support;

/// <summary>
/// Runs code on a fresh thread that has given up one capability. Linux capabilities belong to each
/// thread (capset(2) changes only the caller), so the rest of the test process keeps its privileges,
/// and the thread ends with the work.
/// </summary>
internal static unsafe partial class Capabilities
{
    public const int CAP_NET_ADMIN = 12;
    private const uint LinuxCapabilityVersion3 = 0x20080522;

    [StructLayout(LayoutKind.Sequential)]
    private struct Header { public uint Version; public int Pid; }

    [StructLayout(LayoutKind.Sequential)]
    private struct Data { public uint Effective, Permitted, Inheritable; }

    [LibraryImport("libc", EntryPoint = "capget", SetLastError = true)]
    private static partial int CapGet(Header* header, Data* data);

    [LibraryImport("libc", EntryPoint = "capset", SetLastError = true)]
    private static partial int CapSet(Header* header, Data* data);

    /// <summary>Runs <paramref name="work"/> on a new thread without <paramref name="capability"/> (effective, permitted) and returns what it threw.</summary>
    public static Exception? RunWithout(int capability, Action work)
    {
        Exception? thrown = null;
        var thread = new Thread(() =>
        {
            var header = new Header { Version = LinuxCapabilityVersion3, Pid = 0 };
            var data = stackalloc Data[2];
            if (CapGet(&header, data) != 0) { thrown = new InvalidOperationException($"capget errno {Marshal.GetLastPInvokeError()}"); return; }
            uint bit = 1u << (capability % 32);
            data[capability / 32].Effective &= ~bit;
            data[capability / 32].Permitted &= ~bit;
            if (CapSet(&header, data) != 0) { thrown = new InvalidOperationException($"capset errno {Marshal.GetLastPInvokeError()}"); return; }
            try { work(); }
            catch (Exception ex) { thrown = ex; }
        });
        thread.Start();
        thread.Join();
        return thrown;
    }
}
