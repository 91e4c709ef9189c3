using NetStack.Wire;

namespace NetStack.Tests.Ipv4.Kit;

/// <summary>Builds and reads the frames tests exchange with a stack, using the wire Reprs.</summary>
public static class Frames
{
    public static byte[] Ethernet(MacAddress src, MacAddress dst, EtherType type, ReadOnlySpan<byte> payload)
    {
        var f = new byte[14 + payload.Length];
        new EthernetRepr(src, dst, type).Write(f);
        payload.CopyTo(f.AsSpan(14));
        return f;
    }

    public static byte[] Arp(in ArpRepr repr)
    {
        var b = new byte[ArpPacket.Length];
        repr.Write(b);
        return b;
    }

    public static byte[] Ip(in Ipv4Repr repr, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> options = default)
    {
        var b = new byte[repr.HeaderLength + payload.Length];
        int hl = repr.Write(b, options);
        payload.CopyTo(b.AsSpan(hl));
        return b;
    }

    public static byte[] EchoRequest(ushort id, ushort seq, ReadOnlySpan<byte> data)
    {
        var repr = Icmpv4EchoRepr.Request(id, seq, data.Length);
        var b = new byte[repr.BufferLength];
        repr.Write(b, data);
        return b;
    }

    public static byte[] Pattern(int n, int seed = 0)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)(i * 31 + seed);
        return b;
    }

    /// <summary>The IPv4 packet inside an Ethernet frame, or null.</summary>
    public static byte[]? IpOf(byte[] frame)
    {
        if (!EthernetFrame.TryParse(frame, out var eth, out _) || eth.EtherType != EtherType.Ipv4) return null;
        return eth.Payload.ToArray();
    }

    public static bool IsArp(byte[] frame, ArpOperation op) =>
        EthernetFrame.TryParse(frame, out var eth, out _) && eth.EtherType == EtherType.Arp
        && ArpPacket.TryParse(eth.Payload, out var a, out _) && a.Operation == op;

    public static ArpRepr ArpOf(byte[] frame)
    {
        Assert.True(EthernetFrame.TryParse(frame, out var eth, out _));
        Assert.True(ArpPacket.TryParse(eth.Payload, out var a, out _));
        return a.ToRepr();
    }
}
