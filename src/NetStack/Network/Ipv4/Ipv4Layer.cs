using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Network.Ipv4;

/// <summary>The IPv4 layer (scaffold: the full layer replaces this file).</summary>
internal sealed class Ipv4Layer : IFamilyLayer
{
    private readonly NetworkStack _stack;

    public Ipv4Layer(NetworkStack stack) => _stack = stack;

    public void AddInterface(NetworkInterface iface, InterfaceConfig config, Instant now) { }

    public void Receive(NetworkInterface iface, EtherType etherType, ReadOnlySpan<byte> packet, in LinkInfo link, Instant now) =>
        _stack.Statistics.Drop(DropReason.Ipv4NotForUs);

    public Instant Poll(Instant now) => Instant.MaxValue;

    public bool TrySelectSource(IpAddress destination, out IpAddress source)
    {
        source = default;
        return false;
    }

    public int MaxTransportPayload(IpAddress destination) => 0;

    public IpSendResult Send(IpAddress source, IpAddress destination, IpProtocol protocol,
        ReadOnlySpan<byte> transportPayload, in IpSendOptions options, Instant now) => IpSendResult.NoRoute;
}
