using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Tap;

/// <summary>
/// A TUN interface: bare IPv4/IPv6 packets, no link header (<see cref="Medium.Ip"/>).
/// See <see cref="TunTapDevice"/> for the I/O model.
/// </summary>
public sealed class TunDevice : TunTapDevice
{
    /// <summary>Opens (or attaches to) the TUN interface described by <paramref name="options"/>.</summary>
    public TunDevice(TunTapOptions options) : base(Medium.Ip, options) { }

    /// <summary>Opens (attaching or creating) the TUN named <paramref name="name"/> with default options.</summary>
    public TunDevice(string name) : this(new TunTapOptions { Name = name }) { }

    private protected override string KindName => "TUN";

    private protected override int LinkOverhead => 0;
}
