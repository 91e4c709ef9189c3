using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Tap;

/// <summary>
/// A TAP interface: whole Ethernet frames, exchanged with the kernel's side of a virtual link.
/// The stack's MAC (<see cref="TunTapDevice.HardwareAddress"/>) is its own, distinct from the MAC of the
/// kernel interface. See <see cref="TunTapDevice"/> for the I/O model.
/// </summary>
public sealed class TapDevice : TunTapDevice
{
    /// <summary>Ethernet header plus two VLAN tags.</summary>
    private protected override int LinkOverhead => 14 + 2 * 4;

    /// <summary>Opens (or attaches to) the TAP interface described by <paramref name="options"/>.</summary>
    public TapDevice(TunTapOptions options) : base(Medium.Ethernet, options) { }

    /// <summary>Opens (attaching or creating) the TAP named <paramref name="name"/> with default options.</summary>
    public TapDevice(string name) : this(new TunTapOptions { Name = name }) { }

    private protected override string KindName => "TAP";

}
