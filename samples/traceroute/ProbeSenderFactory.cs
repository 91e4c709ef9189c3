using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Samples.Traceroute;

/// <summary>Chooses the probe sender for the method, and the data length Linux traceroute would use.</summary>
public static class ProbeSenderFactory
{
    public static RawProbeSender Create(NetworkStack stack, TracerouteOptions options, IpAddress source, IpAddress target, IRandomSource random)
    {
        // Ports and identifiers as a Linux process would have them: an ephemeral source port, a pid-like identifier.
        ushort sourcePort = (ushort)(options.SourcePort ?? 32768 + random.Next(16384));
        var sender = options.Method switch
        {
            ProbeMethod.Icmp => (RawProbeSender)new IcmpProbeSender(stack, options, source, target, (ushort)(1 + random.Next(65535))),
            ProbeMethod.Tcp => new TcpProbeSender(stack, options, source, target, sourcePort, random.NextUInt32()),
            _ => new UdpProbeSender(stack, options, source, target, sourcePort),
        };
        // --paris: one flow for every probe.
        if (options.Paris) sender.FlowOf = _ => 0;
        return sender;
    }

    /// <summary>Data bytes after the method's header: 40 minus that header by default (so 60-byte IPv4 packets), or what the packet length leaves.</summary>
    public static int DataLength(TracerouteOptions options, IProbeSender sender)
    {
        if (sender is RawProbeSender { TakesData: false }) return 0;
        int methodHeader = sender.HeaderLength - IpHeaderOf(sender);
        if (options.PacketLength is not { } len) return Math.Max(0, 40 - methodHeader);
        return Math.Max(0, len - sender.HeaderLength);
    }

    private static int IpHeaderOf(IProbeSender sender) => sender switch
    {
        RawProbeSender r => r.IsIpv6 ? 40 : 20,
        _ => 20,
    };
}
