using System.Runtime.InteropServices;

namespace NetStack.Tap.Native;

/// <summary>Two libpcap calls SharpPcap 6.3.1 does not expose publicly.</summary>
internal static partial class LibPcap
{
    private const string Lib = "libpcap.so.0.8";

    /// <summary>pcap_direction_t PCAP_D_IN: capture only frames received by the interface.</summary>
    public const int PCAP_D_IN = 1;

    [LibraryImport(Lib, EntryPoint = "pcap_setdirection")]
    public static partial int SetDirection(nint pcap, int direction);

    [LibraryImport(Lib, EntryPoint = "pcap_get_selectable_fd")]
    public static partial int GetSelectableFd(nint pcap);
}
