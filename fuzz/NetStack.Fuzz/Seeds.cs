using System.Buffers.Binary;
using System.Security.Cryptography;
using NetStack.Wire;

namespace NetStack.Fuzz;

/// <summary>Seed corpora cut from the captures in pcaps/ (read with the core's own capture readers).</summary>
public static class Seeds
{
    /// <summary>Frames per whole-stack seed: a capture is cut into runs of this many consecutive frames.</summary>
    public const int FramesPerRun = 24;

    /// <summary>
    /// Every capture under <paramref name="pcapsDirectory"/> (golden/ included) as lists of Ethernet frames; raw-IP
    /// captures get an Ethernet header, link types the stack does not speak are skipped.
    /// </summary>
    public static IReadOnlyList<byte[][]> ReadCaptures(string pcapsDirectory)
    {
        var captures = new List<byte[][]>();
        var files = Directory.EnumerateFiles(pcapsDirectory, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var frames = new List<byte[]>();
            using (var stream = File.OpenRead(file))
            using (var reader = PcapFile.Open(stream))
            {
                while (reader.TryRead(out var record))
                {
                    if (record.LinkType == PcapLinkType.Ethernet) frames.Add(record.Data.ToArray());
                    else if (PcapLinkTypes.TryGetMedium(record.LinkType, out _) && !record.Data.IsEmpty) frames.Add(WithEthernetHeader(record.Data));
                }
            }
            if (frames.Count > 0) captures.Add([.. frames]);
        }
        return captures;
    }

    private static byte[] WithEthernetHeader(ReadOnlySpan<byte> packet)
    {
        var frame = new byte[EthernetFrame.HeaderLength + packet.Length];
        var type = (packet[0] >> 4) == 6 ? EtherType.Ipv6 : EtherType.Ipv4;
        new EthernetRepr(StackHarness.PeerMac, StackHarness.OurMac, type).Write(frame);
        packet.CopyTo(frame.AsSpan(EthernetFrame.HeaderLength));
        return frame;
    }

    /// <summary>The distinct seeds of a target, in a stable order, at most <paramref name="max"/>.</summary>
    public static IReadOnlyList<byte[]> For(FuzzTarget target, IReadOnlyList<byte[][]> captures, int max = 4000)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var seeds = new List<byte[]>();
        foreach (var s in target.Seeds(captures))
        {
            if (seeds.Count >= max) break;
            if (seen.Add(NameOf(s))) seeds.Add(s);
        }
        return seeds;
    }

    /// <summary>A corpus file name as libFuzzer gives it: the SHA-1 of the content in hex.</summary>
    public static string NameOf(ReadOnlySpan<byte> input) => Convert.ToHexStringLower(SHA1.HashData(input));

    /// <summary>
    /// Whole-stack seeds: each capture in runs of <see cref="FramesPerRun"/> frames, twice: as captured, and made into
    /// frames the stack answers (its addresses, valid checksums, TCP to port 80 and UDP to port 7 with sequence numbers
    /// that fit, see <see cref="FrameFlags"/>).
    /// </summary>
    public static IEnumerable<byte[]> StackRuns(IReadOnlyList<byte[][]> captures) => [.. Crafted(virtio: false), .. Runs(captures, virtio: false)];

    /// <summary>As <see cref="StackRuns"/>, each frame behind a virtio-net header: plain, or asking for checksum offload.</summary>
    public static IEnumerable<byte[]> VirtioRuns(IReadOnlyList<byte[][]> captures) => [.. Crafted(virtio: true), .. Runs(captures, virtio: true)];

    /// <summary>
    /// Whole TCP conversations no capture has with this stack, in both families: a client of the stack's port 80
    /// (handshake, a request echoed back, data from the application, close from both sides) and a server answering the
    /// stack's own connection to port 8080 (SYN-ACK, data, FIN); plus a UDP datagram to the echo port.
    /// </summary>
    public static IEnumerable<byte[]> Crafted(bool virtio)
    {
        const FrameFlags Answer = FrameFlags.RewriteAddresses | FrameFlags.FixChecksums;
        const FrameFlags InStream = Answer | FrameFlags.AckOurs | FrameFlags.SeqTheirs;
        var request = "GET / HTTP/1.0\r\n\r\n"u8.ToArray();
        foreach (bool v6 in new[] { false, true })
        {
            IpAddress peer = v6 ? StackHarness.PeerV6 : StackHarness.PeerV4, us = v6 ? StackHarness.OurV6 : StackHarness.OurV4;
            uint clock = 0;
            byte[] Tcp(TcpFlags flags, ushort from, ushort to, byte[] payload)
            {
                // Timestamps on every segment: once a SYN offered them, RFC 7323 §3.2 drops segments without.
                var repr = new TcpRepr
                {
                    SourcePort = from, DestinationPort = to, SequenceNumber = new SeqNumber(1000), Flags = flags, Window = 65535,
                    Timestamps = new TcpTimestamps(++clock, 0),
                };
                if ((flags & TcpFlags.Syn) != 0)
                {
                    repr.Mss = 1460;
                    repr.WindowScale = 7;
                    repr.SackPermitted = true;
                }
                var segment = new byte[repr.BufferLength(payload.Length)];
                repr.Write(segment, payload, peer, us);
                return Frame(peer, us, IpProtocol.Tcp, segment);
            }
            (FrameFlags, byte, byte[]) R(FrameFlags flags, byte delay, byte[] frame) => (flags, delay, virtio ? Wrap(frame, true, offload: false) : frame);
            // A client of the stack's echo server on port 80.
            yield return FrameInput.Encode(0,
            [
                R(Answer, 1, Tcp(TcpFlags.Syn, 40000, 80, [])),
                R(InStream, 1, Tcp(TcpFlags.Ack, 40000, 80, [])),
                R(InStream | FrameFlags.AppSends, 1, Tcp(TcpFlags.Ack | TcpFlags.Psh, 40000, 80, request)),
                R(InStream, 50, Tcp(TcpFlags.Ack, 40000, 80, [])),
                R(InStream, 1, Tcp(TcpFlags.Fin | TcpFlags.Ack, 40000, 80, [])),
                R(InStream, 250, Tcp(TcpFlags.Ack, 40000, 80, [])),
            ]);
            // The server of the stack's own connection to port 8080.
            yield return FrameInput.Encode(0,
            [
                R(Answer | FrameFlags.PortsOurs | FrameFlags.AckOurs, 1, Tcp(TcpFlags.Syn | TcpFlags.Ack, 8080, 1, [])),
                R(InStream | FrameFlags.PortsOurs, 1, Tcp(TcpFlags.Ack | TcpFlags.Psh, 8080, 1, request)),
                R(InStream | FrameFlags.PortsOurs | FrameFlags.AppCloses, 1, Tcp(TcpFlags.Fin | TcpFlags.Ack, 8080, 1, [])),
                R(InStream | FrameFlags.PortsOurs, 120, Tcp(TcpFlags.Ack, 8080, 1, [])),
            ]);
            var udp = new byte[UdpDatagram.HeaderLength + request.Length];
            new UdpRepr(40001, 7, request.Length).Write(udp, peer, us, request);
            yield return FrameInput.Encode(0, [R(Answer, 1, Frame(peer, us, IpProtocol.Udp, udp))]);
        }
    }

    private static byte[] Frame(IpAddress source, IpAddress destination, IpProtocol protocol, byte[] transport)
    {
        bool v6 = source.Version == IpVersion.V6;
        int ipHeader = v6 ? Ipv6Packet.HeaderLength : Ipv4Packet.MinHeaderLength;
        var frame = new byte[EthernetFrame.HeaderLength + ipHeader + transport.Length];
        new EthernetRepr(StackHarness.PeerMac, StackHarness.OurMac, v6 ? EtherType.Ipv6 : EtherType.Ipv4).Write(frame);
        var ip = frame.AsSpan(EthernetFrame.HeaderLength);
        if (v6) new Ipv6Repr(source.V6, destination.V6, protocol, transport.Length, 64, 0, 0).Write(ip);
        else new Ipv4Repr(source.V4, destination.V4, protocol, transport.Length).Write(ip);
        transport.CopyTo(ip[ipHeader..]);
        return frame;
    }

    private static IEnumerable<byte[]> Runs(IReadOnlyList<byte[][]> captures, bool virtio)
    {
        foreach (var frames in captures)
        {
            // The answerable runs play the client's side of each TCP connection (the stack is the server): segments
            // from the port a SYN went to are left out.
            var serverPorts = frames.Select(f => TcpOf(f)).Where(t => t is { Length: >= TcpSegment.HeaderLength } && (t[13] & 0x12) == 0x02)
                .Select(t => BinaryPrimitives.ReadUInt16BigEndian(t!.AsSpan(2))).ToHashSet();
            var clientSide = frames.Where(f => TcpOf(f) is not { Length: >= TcpSegment.HeaderLength } t
                || !serverPorts.Contains(BinaryPrimitives.ReadUInt16BigEndian(t))).ToArray();
            for (int start = 0; start < frames.Length; start += FramesPerRun)
            {
                var run = frames.Skip(start).Take(FramesPerRun).ToArray();
                yield return FrameInput.Encode(0, run.Select(f => (FrameFlags.None, (byte)1, Wrap(f, virtio, offload: false))));
            }
            for (int start = 0; start < clientSide.Length; start += FramesPerRun)
            {
                var run = clientSide.Skip(start).Take(FramesPerRun).ToArray();
                yield return FrameInput.Encode(0, run.Select(f => Answerable(f, virtio)));
            }
        }
    }

    private static byte[]? TcpOf(byte[] frame) => Dissected.Of(frame) is { Protocol: IpProtocol.Tcp, Transport: { } t } ? t : null;

    private static (FrameFlags, byte, byte[]) Answerable(byte[] frame, bool virtio)
    {
        var f = (byte[])frame.Clone();
        var flags = FrameFlags.RewriteAddresses | FrameFlags.FixChecksums;
        var d = Dissected.Of(f);
        if (d.Transport is { } t)
        {
            int at = f.AsSpan().IndexOf(t); // the transport header's offset in the frame (first occurrence is the header)
            if (at >= 0 && d.Protocol == IpProtocol.Tcp && t.Length >= TcpSegment.HeaderLength)
            {
                BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(at + 2), 80);
                bool synOnly = (t[13] & 0x12) == 0x02;
                if (!synOnly) flags |= FrameFlags.AckOurs | FrameFlags.SeqTheirs;
            }
            else if (at >= 0 && d.Protocol == IpProtocol.Udp && t.Length >= UdpDatagram.HeaderLength)
            {
                BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(at + 2), 7);
            }
        }
        return (flags, 1, Wrap(f, virtio, offload: true));
    }

    private static byte[] Wrap(byte[] frame, bool virtio, bool offload)
    {
        if (!virtio) return frame;
        var header = VirtioNetHeader.Plain;
        var d = Dissected.Of(frame);
        if (offload && d.Transport is { } t && d.Protocol is IpProtocol.Tcp or IpProtocol.Udp)
        {
            int at = frame.AsSpan().IndexOf(t);
            if (at >= 0)
                header = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioGsoType.None, 0, 0, (ushort)at,
                    (ushort)(d.Protocol == IpProtocol.Tcp ? 16 : 6));
        }
        var wrapped = new byte[VirtioNetHeader.Length + frame.Length];
        header.Write(wrapped);
        frame.CopyTo(wrapped, VirtioNetHeader.Length);
        return wrapped;
    }
}
