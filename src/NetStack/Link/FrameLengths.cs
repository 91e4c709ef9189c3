using NetStack.Wire;

namespace NetStack.Link;

/// <summary>Length arithmetic on link frames, for devices and decorators (<see cref="INetDevice.MaxFrameSize"/> of a device with a given MTU).</summary>
public static class FrameLengths
{
    /// <summary>
    /// The length of the IP packet (link payload) a frame carries: everything after the Ethernet header and
    /// its VLAN tags on an Ethernet medium (14 bytes assumed when the header does not parse), the whole frame on a raw-IP medium.
    /// </summary>
    public static int IpPacketLength(Medium medium, ReadOnlySpan<byte> frame)
    {
        if (medium == Medium.Ip) return frame.Length;
        if (EthernetFrame.TryParse(frame, out var eth, out _)) return frame.Length - eth.HeaderSize;
        return Math.Max(0, frame.Length - EthernetFrame.HeaderLength);
    }

    /// <summary>The largest frame of a medium that carries IP packets of up to <paramref name="mtu"/> bytes (room for two VLAN tags on Ethernet).</summary>
    public static int MaxFrameFor(Medium medium, int mtu) =>
        medium == Medium.Ip ? mtu : mtu + EthernetFrame.HeaderLength + EthernetFrame.MaxTags * EthernetFrame.TagLength;
}
