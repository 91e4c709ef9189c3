using System.Runtime.InteropServices;
using System.Security.Cryptography;
using NetStack.Link;
using NetStack.Tap.Native;
using NetStack.Wire;

namespace NetStack.Tap;

/// <summary>
/// A Linux TAP (Ethernet) or TUN (raw IP) interface opened through <c>/dev/net/tun</c>: the common part
/// of <see cref="TapDevice"/> and <see cref="TunDevice"/>.
/// <para>
/// The file descriptor is non-blocking: <see cref="TryReceive"/> is one <c>read()</c> that returns false on
/// EAGAIN, <see cref="Transmit"/> is one <c>write()</c>. Waiting is done by the caller with <c>poll()</c> on
/// <see cref="FileDescriptor"/> (as <see cref="StackHost"/> does) or with <see cref="WaitForFrames"/>;
/// a blocked <c>read()</c> would not be woken by <c>close()</c>, so none is ever issued.
/// Single queue (no IFF_MULTI_QUEUE), no packet-information header (IFF_NO_PI).
/// </para>
/// <para>
/// Not thread-safe: one thread (the event loop) receives and transmits. <see cref="Dispose()"/> closes
/// the descriptor; a non-persistent interface then disappears.
/// </para>
/// </summary>
public abstract class TunTapDevice : INetDevice, IWaitableDevice, IDisposable
{
    private const string TunPath = "/dev/net/tun";
    private int _fd = -1; // -1: not open (yet) or closed; a failed constructor leaves nothing for the finalizer to close

    private protected TunTapDevice(Medium medium, TunTapOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Medium = medium;
        string kind = KindName;
        string? name = options.Name;
        if (name is not null) ValidateName(name, kind);
        string shown = name ?? "(kernel-chosen)";

        bool exists = name is not null && LibC.IfNameToIndex(name) != 0;
        if (options.OpenMode == TunTapOpenMode.AttachOnly && !exists)
            throw new TapException(TapErrorKind.NotFound, $"{kind} interface '{shown}' not found (attach-only; create it with 'ip tuntap add dev {shown} mode {kind.ToLowerInvariant()}' or allow creating)");
        if (options.OpenMode == TunTapOpenMode.CreateOnly && exists)
            throw new TapException(TapErrorKind.AlreadyExists, $"cannot create {kind} '{shown}': an interface of that name already exists");

        int fd = LibC.Open(TunPath, LibC.O_RDWR | LibC.O_CLOEXEC | LibC.O_NONBLOCK);
        if (fd < 0)
        {
            int e = Marshal.GetLastPInvokeError();
            throw e switch
            {
                Errno.ENOENT or Errno.ENODEV or Errno.ENXIO => new TapException(TapErrorKind.DriverMissing,
                    $"{TunPath} is missing: load the tun module ('modprobe tun') or create the node ('mknod {TunPath} c 10 200')", e),
                Errno.EPERM or Errno.EACCES => NotPermitted(kind, shown, e),
                _ => new TapException(TapErrorKind.SystemError, $"opening {TunPath} failed: {LibC.Describe(e)} (errno {e})", e),
            };
        }

        try
        {
            var req = IfReq.ForName(name);
            req.Flags = RequestFlags(medium);
            int r;
            unsafe { r = LibC.Ioctl(fd, TunIoctl.TUNSETIFF, &req); }
            if (r < 0)
            {
                int e = Marshal.GetLastPInvokeError();
                throw e switch
                {
                    Errno.EPERM or Errno.EACCES => NotPermitted(kind, shown, e),
                    Errno.EBUSY => new TapException(TapErrorKind.Busy, $"{kind} '{shown}' is busy: another process has it open", e),
                    Errno.EINVAL when exists => new TapException(TapErrorKind.WrongType,
                        $"interface '{shown}' exists but is not a single-queue {kind} device", e),
                    _ => new TapException(TapErrorKind.SystemError, $"opening {kind} '{shown}' failed: {LibC.Describe(e)} (errno {e})", e),
                };
            }
            Name = req.Name;
            _fd = fd;
        }
        catch
        {
            LibC.Close(fd);
            throw;
        }

        try
        {
            Created = !exists;
            using var control = new InterfaceControl();
            if (options.Mtu is { } mtu) control.SetMtu(Name, mtu, kind);
            Mtu = control.GetMtu(Name, kind);
            if (options.QueueLength is { } qlen && control.GetQueueLength(Name, kind) != qlen)
            {
                try
                {
                    control.SetQueueLength(Name, qlen, kind);
                }
                catch (TapException e) when (e.Kind == TapErrorKind.NotPermitted && exists)
                {
                    // An unprivileged owner may attach to its persistent TAP but not change it: keep the kernel's value
                    // (QueueLength below tells which).
                }
            }
            QueueLength = control.GetQueueLength(Name, kind);
            if (options.BringUp) control.SetUp(Name, kind);
        }
        catch
        {
            Dispose();
            throw;
        }

        HardwareAddress = medium == Medium.Ethernet ? options.HardwareAddress ?? RandomLocalMac() : MacAddress.Zero;
    }

    /// <summary>"TAP" or "TUN", for messages.</summary>
    private protected abstract string KindName { get; }

    /// <summary>The tun flags asked of TUNSETIFF. Offloads (IFF_VNET_HDR) will be added here.</summary>
    private static short RequestFlags(Medium medium) =>
        (short)((medium == Medium.Ethernet ? TunIoctl.IFF_TAP : TunIoctl.IFF_TUN) | TunIoctl.IFF_NO_PI);

    /// <summary>Frames the kernel queues for us to read (the interface's transmit queue length), as set or found.</summary>
    public int QueueLength { get; }

    /// <summary>The interface name the kernel uses (as given, or chosen by the kernel).</summary>
    public string Name { get; }

    /// <summary>True when this open made the interface (it did not exist before).</summary>
    public bool Created { get; }

    public Medium Medium { get; }

    /// <summary>The interface MTU read from the kernel at open time (after <see cref="TunTapOptions.Mtu"/> was applied).</summary>
    public int Mtu { get; }

    public abstract int MaxFrameSize { get; }

    public MacAddress HardwareAddress { get; }

    public TunTapStatistics Statistics { get; } = new();

    /// <summary>The non-blocking descriptor (readable when a frame waits); -1 once disposed.</summary>
    public int FileDescriptor => Volatile.Read(ref _fd);

    public unsafe bool TryReceive(Span<byte> buffer, Instant now, out int length)
    {
        int fd = _fd;
        length = 0;
        if (fd < 0) return false;
        nint n;
        fixed (byte* p = buffer) n = LibC.Read(fd, p, (nuint)buffer.Length);
        if (n > 0)
        {
            length = (int)n;
            Statistics._framesReceived++;
            Statistics._bytesReceived += n;
            return true;
        }
        if (n < 0)
        {
            int e = Marshal.GetLastPInvokeError();
            if (e != Errno.EAGAIN && e != Errno.EINTR)
            {
                Statistics._receiveErrors++;
                Statistics.LastErrno = e;
            }
        }
        return false;
    }

    public unsafe void Transmit(ReadOnlySpan<byte> frame, Instant now)
    {
        int fd = _fd;
        nint n = -1;
        if (fd >= 0)
        {
            fixed (byte* p = frame) n = LibC.Write(fd, p, (nuint)frame.Length);
        }
        if (n == frame.Length)
        {
            Statistics._framesTransmitted++;
            Statistics._bytesTransmitted += n;
            return;
        }
        // Down interface (EIO), full queue, oversized frame, closed device: a counted drop, never an exception.
        Statistics._transmitDrops++;
        Statistics.LastErrno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
    }

    /// <summary>
    /// Blocks the calling thread until a frame is waiting or <paramref name="timeout"/> passes
    /// (infinite when null). Returns true when a frame is waiting. For simple single-device loops;
    /// <see cref="StackHost"/> polls the descriptor itself together with its wake-up event.
    /// </summary>
    public bool WaitForFrames(TimeSpan? timeout)
    {
        int fd = _fd;
        if (fd < 0) return false;
        Span<LibC.PollFd> fds = stackalloc LibC.PollFd[1];
        fds[0] = new LibC.PollFd { Fd = fd, Events = LibC.POLLIN };
        int r = LibC.Poll(fds, timeout);
        return r > 0 && (fds[0].Revents & LibC.POLLIN) != 0;
    }

    public override string ToString() => $"{KindName} {Name}";

    protected virtual void Dispose(bool disposing)
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) LibC.Close(fd);
    }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    ~TunTapDevice() => Dispose(disposing: false);

    private static TapException NotPermitted(string kind, string name, int errno) =>
        new(TapErrorKind.NotPermitted, $"opening {kind} '{name}' needs CAP_NET_ADMIN (run as root)", errno);

    /// <summary>Checks a Linux interface name the way the kernel's dev_valid_name does, with a readable message.</summary>
    internal static void ValidateName(string name, string kind)
    {
        if (name.Length == 0)
            throw new TapException(TapErrorKind.InvalidName, $"{kind} name is empty (pass null to let the kernel choose)");
        if (System.Text.Encoding.UTF8.GetByteCount(name) > IfReq.MaxNameLength)
            throw new TapException(TapErrorKind.InvalidName, $"{kind} name '{name}' is too long: at most {IfReq.MaxNameLength} characters");
        if (name is "." or ".." || name.Any(c => c is '/' or ':' || char.IsWhiteSpace(c) || c > 0x7E || c < 0x21))
            throw new TapException(TapErrorKind.InvalidName, $"{kind} name '{name}' is not a valid interface name (no '/', ':', spaces or non-ASCII)");
    }

    private static MacAddress RandomLocalMac()
    {
        Span<byte> b = stackalloc byte[6];
        RandomNumberGenerator.Fill(b);
        b[0] = (byte)((b[0] & 0xFC) | 0x02); // IEEE 802: locally administered (U/L = 1), unicast (I/G = 0)
        return MacAddress.Read(b);
    }
}
