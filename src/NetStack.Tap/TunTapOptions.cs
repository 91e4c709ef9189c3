using NetStack.Wire;

namespace NetStack.Tap;

/// <summary>Whether opening a TAP/TUN by name may create the interface, or must find it.</summary>
public enum TunTapOpenMode
{
    /// <summary>Attach to the interface if it exists (e.g. made by <c>ip tuntap add</c>), create it otherwise.</summary>
    AttachOrCreate,
    /// <summary>Fail with <see cref="TapErrorKind.NotFound"/> unless the interface already exists.</summary>
    AttachOnly,
    /// <summary>Fail with <see cref="TapErrorKind.AlreadyExists"/> if an interface of that name exists.</summary>
    CreateOnly,
}

/// <summary>How to open a <see cref="TapDevice"/> or <see cref="TunDevice"/>.</summary>
public sealed record TunTapOptions
{
    /// <summary>
    /// Interface name (at most 15 bytes). Null lets the kernel pick one ("tap0", "tun0"); read it back
    /// from <see cref="TunTapDevice.Name"/>.
    /// </summary>
    public string? Name { get; init; }

    /// <summary>Whether to create the interface, attach to an existing one, or either.</summary>
    public TunTapOpenMode OpenMode { get; init; } = TunTapOpenMode.AttachOrCreate;

    /// <summary>
    /// The stack's own MAC address on a TAP (not the kernel interface's MAC, which belongs to the
    /// kernel's side of the link). Null: a random locally administered unicast address 02:xx:xx:xx:xx:xx.
    /// Ignored on a TUN.
    /// </summary>
    public MacAddress? HardwareAddress { get; init; }

    /// <summary>Sets the interface MTU (SIOCSIFMTU) when given; otherwise the kernel's MTU is read and kept.</summary>
    public int? Mtu { get; init; }

    /// <summary>
    /// Sets how many frames the kernel holds for us to read (SIOCSIFTXQLEN: the tun driver's ring is the interface's
    /// transmit queue, 500 frames when TUNSETIFF creates it). Frames the kernel sends while the ring is full are
    /// dropped (the interface's TX "dropped" counter), so a burst such as a thousand clients connecting at once needs
    /// more. Null keeps the kernel's value, and so does attaching without CAP_NET_ADMIN to an existing (persistent) TAP
    /// that the caller owns; <see cref="TunTapDevice.QueueLength"/> says what is in effect.
    /// </summary>
    public int? QueueLength { get; init; }

    /// <summary>
    /// Sets the interface administratively up (SIOCSIFFLAGS) after opening. Needs the interface to be
    /// in this process's network namespace; leave false when the caller moves it elsewhere and brings it up there.
    /// </summary>
    public bool BringUp { get; init; } = true;

    /// <summary>
    /// The offloads to ask of the kernel (IFF_VNET_HDR + TUNSETOFFLOAD): by default checksum offload, TSO4/TSO6 and
    /// USO4/USO6 super-frames of up to 64 KB. Each flag the kernel refuses is dropped (and logged) and the device opens
    /// with the rest; <see cref="TunTapDevice.Offloads"/> says what is in force. <see cref="TunOffloads.None"/> turns the
    /// virtio-net header off altogether (plain frames, one per read and write).
    /// </summary>
    public TunOffloads Offloads { get; init; } = TunOffloads.Default;

    /// <summary>The virtio-net header size asked with TUNSETVNETHDRSZ: 12 (with num_buffers, the default) or 10.</summary>
    public int VirtioHeaderSize { get; init; } = Wire.VirtioNetHeader.MergeableLength;

    /// <summary>Where the offload negotiation is logged (refused flags as warnings). Null: not logged.</summary>
    public Microsoft.Extensions.Logging.ILogger? Logger { get; init; }
}

/// <summary>The TUNSETOFFLOAD flags (linux/if_tun.h TUN_F_*): kinds of frames the kernel may hand a TAP/TUN reader.</summary>
[Flags]
public enum TunOffloads
{
    /// <summary>No virtio-net header, no offloads.</summary>
    None = 0,
    /// <summary>TUN_F_CSUM: frames with a partial checksum (NEEDS_CSUM) or one the kernel verified (DATA_VALID).</summary>
    Checksum = 0x01,
    /// <summary>TUN_F_TSO4: TCP/IPv4 super-frames.</summary>
    Tso4 = 0x02,
    /// <summary>TUN_F_TSO6: TCP/IPv6 super-frames.</summary>
    Tso6 = 0x04,
    /// <summary>TUN_F_USO4: UDP/IPv4 super-frames (UDP L4 GSO; Linux 6.2 and later).</summary>
    Uso4 = 0x20,
    /// <summary>TUN_F_USO6: UDP/IPv6 super-frames.</summary>
    Uso6 = 0x40,
    /// <summary>Everything above: what a TAP opens with unless told otherwise.</summary>
    Default = Checksum | Tso4 | Tso6 | Uso4 | Uso6,
}
