using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using NetStack.Link;
using NetStack.Tap.Native;
using NetStack.Wire;

namespace NetStack.Tap;

/// <summary>
/// A Linux TAP (Ethernet) or TUN (raw IP) interface opened through <c>/dev/net/tun</c>: the common part
/// of <see cref="TapDevice"/> and <see cref="TunDevice"/>.
/// <para>
/// The file descriptor is non-blocking: <see cref="TryReceive(Span{byte}, Instant, out int)"/> is one <c>read()</c> that returns false on
/// EAGAIN, <see cref="Transmit(ReadOnlySpan{byte}, Instant)"/> is one <c>write()</c>. Waiting is done by the caller with <c>poll()</c> on
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
            bool vnet = options.Offloads != TunOffloads.None && SupportsVirtioHeader(fd);
            if (options.Offloads != TunOffloads.None && !vnet)
                options.Logger?.LogWarning("{Kind} '{Name}': the kernel does not offer IFF_VNET_HDR; opening without offloads", kind, shown);
            var req = IfReq.ForName(name);
            req.Flags = RequestFlags(medium, vnet);
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
            if (vnet) NegotiateOffloads(fd, options, kind);
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

    /// <summary>The tun flags asked of TUNSETIFF: TAP or TUN, no packet information, and the virtio-net header for offloads.</summary>
    private static short RequestFlags(Medium medium, bool vnet) =>
        (short)((medium == Medium.Ethernet ? TunIoctl.IFF_TAP : TunIoctl.IFF_TUN) | TunIoctl.IFF_NO_PI | (vnet ? TunIoctl.IFF_VNET_HDR : 0));

    /// <summary>TUNGETFEATURES: whether this kernel's tun driver offers IFF_VNET_HDR.</summary>
    private static unsafe bool SupportsVirtioHeader(int fd)
    {
        uint features = 0;
        return LibC.Ioctl(fd, TunIoctl.TUNGETFEATURES, &features) == 0 && (features & (uint)(ushort)TunIoctl.IFF_VNET_HDR) != 0;
    }

    /// <summary>
    /// After TUNSETIFF with IFF_VNET_HDR: the header size (TUNSETVNETHDRSZ; 10 when the asked size is refused), then the
    /// offloads (TUNSETOFFLOAD) flag by flag, checksum first (TSO and USO need it), keeping what the kernel accepts and
    /// logging what it refuses, as QEMU and gVisor's fdbased endpoint probe them.
    /// </summary>
    private unsafe void NegotiateOffloads(int fd, TunTapOptions options, string kind)
    {
        var log = options.Logger;
        int size = options.VirtioHeaderSize;
        if (size is not (VirtioNetHeader.Length or VirtioNetHeader.MergeableLength))
            throw new ArgumentOutOfRangeException(nameof(options), size, "VirtioHeaderSize must be 10 or 12");
        if (LibC.Ioctl(fd, TunIoctl.TUNSETVNETHDRSZ, &size) != 0)
        {
            int e = Marshal.GetLastPInvokeError();
            log?.LogWarning("{Kind} '{Name}': TUNSETVNETHDRSZ {Size} refused ({Error}); using the 10-byte header", kind, Name, size, LibC.Describe(e));
            size = VirtioNetHeader.Length;
        }
        VirtioHeaderSize = size;

        var accepted = TunOffloads.None;
        var refused = TunOffloads.None;
        // USO4 and USO6 go together: the tun driver takes them only as a pair (tun_set_offload: "for now USO4 and USO6
        // should work simultaneously"), and refuses either alone with EINVAL.
        foreach (var step in (ReadOnlySpan<TunOffloads>)[TunOffloads.Checksum, TunOffloads.Tso4, TunOffloads.Tso6, TunOffloads.Uso4 | TunOffloads.Uso6])
        {
            var flag = options.Offloads & step;
            if (flag == 0) continue;
            if (flag != TunOffloads.Checksum && (accepted & TunOffloads.Checksum) == 0) { refused |= flag; continue; } // segmentation needs checksum offload
            var attempt = accepted | flag;
            if (LibC.Ioctl(fd, TunIoctl.TUNSETOFFLOAD, (void*)(nuint)(uint)attempt) == 0)
            {
                accepted = attempt;
            }
            else
            {
                refused |= flag;
                int e = Marshal.GetLastPInvokeError();
                log?.LogWarning("{Kind} '{Name}': the kernel refused offload {Flag} ({Error}); continuing without it", kind, Name, flag, LibC.Describe(e));
            }
        }
        if (LibC.Ioctl(fd, TunIoctl.TUNSETOFFLOAD, (void*)(nuint)(uint)accepted) != 0) accepted = TunOffloads.None; // settle on the accepted set
        Offloads = accepted;
        RefusedOffloads = refused;
        log?.LogInformation("{Kind} '{Name}': virtio-net header of {Size} bytes, offloads {Offloads} (refused: {Refused})", kind, Name, size, accepted, refused);
    }

    /// <summary>The TUNSETOFFLOAD flags in force: what kinds of frames the kernel may hand us (None without a virtio-net header).</summary>
    public TunOffloads Offloads { get; private set; }

    /// <summary>Flags asked for in <see cref="TunTapOptions.Offloads"/> that the kernel refused (logged when a logger was given).</summary>
    public TunOffloads RefusedOffloads { get; private set; }

    /// <summary>The virtio-net header before every frame read and written (10 or 12 bytes), or 0 without IFF_VNET_HDR.</summary>
    public int VirtioHeaderSize { get; private set; }

    /// <summary>The largest IP super-frame the kernel hands over with TSO/USO offloads (the tun driver's gso_max_size).</summary>
    public const int GsoMaxSize = 65536;

    /// <summary>Link header bytes in front of the IP packet that <see cref="MaxFrameSize"/> allows for.</summary>
    private protected abstract int LinkOverhead { get; }

    /// <summary>True when the kernel may hand over super-frames larger than the MTU (a TSO or USO offload is in force).</summary>
    public bool ReceivesSuperFrames => (Offloads & (TunOffloads.Tso4 | TunOffloads.Tso6 | TunOffloads.Uso4 | TunOffloads.Uso6)) != 0;

    /// <summary>Frames the kernel queues for us to read (the interface's transmit queue length), as set or found.</summary>
    public int QueueLength { get; }

    /// <summary>The interface name the kernel uses (as given, or chosen by the kernel).</summary>
    public string Name { get; }

    /// <summary>True when this open made the interface (it did not exist before).</summary>
    public bool Created { get; }

    /// <inheritdoc/>
    public Medium Medium { get; }

    /// <summary>The interface MTU read from the kernel at open time (after <see cref="TunTapOptions.Mtu"/> was applied).</summary>
    public int Mtu { get; }

    /// <summary>The MTU plus the link header, or a 64 KB super-frame plus the link header when the kernel may send those.</summary>
    public int MaxFrameSize => (ReceivesSuperFrames ? Math.Max(GsoMaxSize, Mtu) : Mtu) + LinkOverhead;

    /// <summary>
    /// The device's description: its descriptor as wait handle, its statistics, and the offloads in force. Receive offloads
    /// are the TUNSETOFFLOAD flags the kernel accepted; transmit offloads (checksum completion, TSO, USO) are what the tun
    /// driver does with any frame whose virtio-net header asks for it, so they come with the header itself.
    /// </summary>
    public DeviceCapabilities Capabilities
    {
        get
        {
            var offloads = DeviceOffloads.None;
            if (VirtioHeaderSize > 0) offloads |= DeviceOffloads.TransmitChecksum | DeviceOffloads.Tso4 | DeviceOffloads.Tso6 | DeviceOffloads.Uso;
            if ((Offloads & TunOffloads.Checksum) != 0) offloads |= DeviceOffloads.ReceiveChecksum;
            if ((Offloads & TunOffloads.Tso4) != 0) offloads |= DeviceOffloads.ReceiveTcp4;
            if ((Offloads & TunOffloads.Tso6) != 0) offloads |= DeviceOffloads.ReceiveTcp6;
            if ((Offloads & TunOffloads.Uso4) != 0) offloads |= DeviceOffloads.ReceiveUdp4;
            if ((Offloads & TunOffloads.Uso6) != 0) offloads |= DeviceOffloads.ReceiveUdp6;
            return new DeviceCapabilities
            {
                Medium = Medium,
                Mtu = Mtu,
                MaxFrameSize = MaxFrameSize,
                Offloads = offloads,
                GsoMaxSize = VirtioHeaderSize > 0 ? GsoMaxSize : 0,
                WaitHandle = DeviceWaitHandle.FromFileDescriptor(FileDescriptor),
                Statistics = Statistics,
            };
        }
    }

    /// <inheritdoc/>
    public MacAddress HardwareAddress { get; }

    /// <summary>Frames and bytes moved through the device so far.</summary>
    public TunTapStatistics Statistics { get; } = new();

    /// <summary>The non-blocking descriptor (readable when a frame waits); -1 once disposed.</summary>
    public int FileDescriptor => Volatile.Read(ref _fd);

    /// <inheritdoc/>
    public bool TryReceive(Span<byte> buffer, Instant now, out int length) => TryReceive(buffer, now, out length, out _);

    /// <summary>
    /// One <c>read()</c> (a <c>readv()</c> of header and frame with a virtio-net header): the frame into
    /// <paramref name="buffer"/>, its header into <paramref name="info"/>. A frame longer than the buffer (a super-frame
    /// beyond the negotiated maximum) comes back with <see cref="FrameReceiveInfo.Truncated"/> for the stack to count.
    /// </summary>
    public unsafe bool TryReceive(Span<byte> buffer, Instant now, out int length, out FrameReceiveInfo info)
    {
        int fd = _fd;
        length = 0;
        info = default;
        if (fd < 0) return false;
        int hdr = VirtioHeaderSize;
        nint n;
        if (hdr == 0)
        {
            fixed (byte* p = buffer) n = LibC.Read(fd, p, (nuint)buffer.Length);
        }
        else
        {
            byte* header = stackalloc byte[VirtioNetHeader.MergeableLength];
            fixed (byte* p = buffer)
            {
                var iov = stackalloc LibC.IoVec[2];
                iov[0] = new LibC.IoVec { Base = header, Length = (nuint)hdr };
                iov[1] = new LibC.IoVec { Base = p, Length = (nuint)buffer.Length };
                n = LibC.Readv(fd, iov, 2);
            }
            if (n > 0)
            {
                if (n < hdr || !VirtioNetHeader.TryRead(new ReadOnlySpan<byte>(header, hdr), out var h))
                {
                    Statistics._receiveErrors++;
                    return false;
                }
                n -= hdr;
                // The tun driver reports the whole frame's length even when it copied only what fit.
                info = new FrameReceiveInfo { Virtio = h, Truncated = n > buffer.Length };
                if (n > buffer.Length) n = buffer.Length;
                if (h.GsoType != VirtioGsoType.None) Statistics._superFramesReceived++;
            }
        }
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

    /// <summary>One <c>write()</c> (a <c>writev()</c> behind a virtio-net header saying "nothing offloaded" when the device has one).</summary>
    public void Transmit(ReadOnlySpan<byte> frame, Instant now) => Transmit(frame, now, default(FrameTransmitInfo));

    /// <summary>
    /// One <c>writev()</c> of the frame behind its virtio-net header (<see cref="FrameTransmitInfo.Virtio"/>: NEEDS_CSUM,
    /// a TSO/USO super-frame), which the tun driver turns into a partially checksummed GSO packet (<c>virtio_net_hdr_to_skb</c>).
    /// Without a virtio-net header the frames are made in software (<see cref="SoftwareSegmentation"/>) and written one by one.
    /// </summary>
    public unsafe void Transmit(ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info)
    {
        int fd = _fd;
        if (VirtioHeaderSize == 0 && !info.IsPlain)
        {
            SoftwareSegmentation.Transmit(this, frame, now, info);
            return;
        }
        nint n = -1;
        int hdr = VirtioHeaderSize;
        if (fd >= 0 && hdr == 0)
        {
            fixed (byte* p = frame) n = LibC.Write(fd, p, (nuint)frame.Length);
        }
        else if (fd >= 0)
        {
            byte* header = stackalloc byte[VirtioNetHeader.MergeableLength];
            var hs = new Span<byte>(header, VirtioNetHeader.MergeableLength);
            hs.Clear(); // flags 0, gso none unless the frame asks for offloads
            info.Virtio.Write(hs[..hdr]);
            fixed (byte* p = frame)
            {
                var iov = stackalloc LibC.IoVec[2];
                iov[0] = new LibC.IoVec { Base = header, Length = (nuint)hdr };
                iov[1] = new LibC.IoVec { Base = p, Length = (nuint)frame.Length };
                n = LibC.Writev(fd, iov, 2);
            }
            if (n > 0) n -= hdr;
        }
        if (n == frame.Length)
        {
            if (info.Virtio.GsoType != VirtioGsoType.None) Statistics._superFramesTransmitted++;
            Statistics._framesTransmitted++;
            Statistics._bytesTransmitted += n;
            return;
        }
        // Down interface (EIO), full queue, oversized frame, closed device: a counted drop, never an exception.
        Statistics._transmitDrops++;
        Statistics.LastErrno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
    }

    /// <summary>
    /// Attaches a classic BPF program (TUNATTACHFILTER, TAP only) that the kernel runs on every frame before it queues
    /// the frame for us: a frame it returns 0 for is dropped there (the interface's TX "dropped" counter), a frame it
    /// keeps is queued as usual. Replaces the program attached before. False (with <see cref="TunTapStatistics.LastErrno"/>
    /// set) when the kernel refuses it, or on a TUN. Any thread.
    /// </summary>
    public unsafe bool AttachFilter(ReadOnlySpan<Receive.BpfInstruction> program)
    {
        int fd = _fd;
        if (fd < 0 || Medium != Medium.Ethernet || program.IsEmpty || program.Length > ushort.MaxValue) return false;
        fixed (Receive.BpfInstruction* p = program)
        {
            var prog = new SockFprog { Length = (ushort)program.Length, Filter = p };
            if (LibC.Ioctl(fd, TunIoctl.TUNATTACHFILTER, &prog) == 0) return true;
        }
        Statistics.LastErrno = Marshal.GetLastPInvokeError();
        return false;
    }

    /// <summary>Detaches the program of <see cref="AttachFilter"/> (TUNDETACHFILTER); false when none was attached.</summary>
    public unsafe bool DetachFilter()
    {
        int fd = _fd;
        if (fd < 0 || Medium != Medium.Ethernet) return false;
        var prog = default(SockFprog);
        return LibC.Ioctl(fd, TunIoctl.TUNDETACHFILTER, &prog) == 0;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct SockFprog
    {
        public ushort Length;
        public Receive.BpfInstruction* Filter;
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

    /// <inheritdoc/>
    public override string ToString() => $"{KindName} {Name}";

    /// <summary>Closes the file descriptor (<paramref name="disposing"/>: called from <see cref="Dispose()"/> rather than the finalizer).</summary>
    protected virtual void Dispose(bool disposing)
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) LibC.Close(fd);
    }

    /// <summary>Closes the device's file descriptor.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Closes the file descriptor if <see cref="Dispose()"/> was not called.</summary>
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
