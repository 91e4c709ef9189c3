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

    // Later: VirtioNetHeader (IFF_VNET_HDR) + Offloads (TUNSETOFFLOAD: TUN_F_CSUM/TSO4/TSO6/USO) go here;
    // TunTapDevice.RequestFlags and Open are the two places that will read them.
}
