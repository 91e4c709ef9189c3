using System.Runtime.InteropServices;
using NetStack.Tap.Native;

namespace NetStack.Tap;

/// <summary>Interface flags, MTU and queue length through ioctls on an AF_INET datagram socket (what <c>ip link set</c> does via netlink).</summary>
internal sealed class InterfaceControl : IDisposable
{
    private readonly int _socket;

    public InterfaceControl()
    {
        _socket = LibC.Socket(LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        if (_socket < 0) throw Fail("creating a control socket", Marshal.GetLastPInvokeError());
    }

    public unsafe int GetMtu(string name, string kind)
    {
        var req = IfReq.ForName(name);
        if (LibC.Ioctl(_socket, TunIoctl.SIOCGIFMTU, &req) < 0) throw Fail($"reading the MTU of {kind} '{name}'", Marshal.GetLastPInvokeError());
        return req.Mtu;
    }

    public unsafe void SetMtu(string name, int mtu, string kind)
    {
        var req = IfReq.ForName(name);
        req.Mtu = mtu;
        if (LibC.Ioctl(_socket, TunIoctl.SIOCSIFMTU, &req) < 0) throw Fail($"setting MTU {mtu} on {kind} '{name}'", Marshal.GetLastPInvokeError());
    }

    public unsafe int GetQueueLength(string name, string kind)
    {
        var req = IfReq.ForName(name);
        if (LibC.Ioctl(_socket, TunIoctl.SIOCGIFTXQLEN, &req) < 0) throw Fail($"reading the queue length of {kind} '{name}'", Marshal.GetLastPInvokeError());
        return req.QueueLength;
    }

    public unsafe void SetQueueLength(string name, int length, string kind)
    {
        var req = IfReq.ForName(name);
        req.QueueLength = length;
        if (LibC.Ioctl(_socket, TunIoctl.SIOCSIFTXQLEN, &req) < 0) throw Fail($"setting queue length {length} on {kind} '{name}'", Marshal.GetLastPInvokeError());
    }

    public unsafe void SetUp(string name, string kind)
    {
        var req = IfReq.ForName(name);
        if (LibC.Ioctl(_socket, TunIoctl.SIOCGIFFLAGS, &req) < 0) throw Fail($"reading the flags of {kind} '{name}'", Marshal.GetLastPInvokeError());
        if ((req.Flags & TunIoctl.IFF_UP) != 0) return;
        req.Flags |= TunIoctl.IFF_UP;
        if (LibC.Ioctl(_socket, TunIoctl.SIOCSIFFLAGS, &req) < 0) throw Fail($"bringing {kind} '{name}' up", Marshal.GetLastPInvokeError());
    }

    private static TapException Fail(string what, int e) => e is Errno.EPERM or Errno.EACCES
        ? new TapException(TapErrorKind.NotPermitted, $"{what} needs CAP_NET_ADMIN (run as root)", e)
        : new TapException(TapErrorKind.SystemError, $"{what} failed: {LibC.Describe(e)} (errno {e})", e);

    public void Dispose() => LibC.Close(_socket);
}
