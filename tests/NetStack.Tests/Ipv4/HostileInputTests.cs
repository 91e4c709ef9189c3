using CsCheck;
using NetStack.Network.Ipv4;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Wire;
using static NetStack.Tests.Ipv4.Kit.SingleHost;

namespace NetStack.Tests.Ipv4;

/// <summary>DESIGN principle 5 for IPv4: arbitrary trains and messages end as counted drops, never exceptions, within limits.</summary>
public class HostileInputTests
{
    private static readonly Gen<(ushort Id, int Offset8, int Length, bool More, byte Fill)> FragmentGen =
        Gen.Select(Gen.UShort[0, 3], Gen.Int[0, 8191], Gen.Int[0, 1480], Gen.Bool, Gen.Byte);

    [Fact]
    public void Random_fragment_trains_never_throw_and_stay_within_the_reassembly_limits()
    {
        var limits = ReassemblyLimits.Default with { MaxDatagrams = 4, MaxBytes = 300_000 };
        FragmentGen.Array[1, 60].Sample(train =>
        {
            var h = new SingleHost(new Ipv4Settings { GratuitousArpCount = 0, Reassembly = limits });
            h.Introduce();
            foreach (var (id, offset8, length, more, fill) in train)
            {
                var data = new byte[length];
                Array.Fill(data, fill);
                h.PushIp(Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Udp, length, 64, 0, id, false, more, offset8 * 8), data));
                if (h.Stack.Ipv4.Reassembler.BytesHeld > limits.MaxBytes || h.Stack.Ipv4.Reassembler.DatagramCount > 4) return false;
            }
            h.Advance(TimeSpan.FromSeconds(31));
            return h.Stack.Ipv4.Reassembler.DatagramCount == 0 && h.Stack.Ipv4.Reassembler.BytesHeld == 0;
        });
    }

    [Fact]
    public void Random_ICMP_messages_to_us_never_throw() =>
        Gen.Select(Gen.Byte[0, 20], Gen.Byte, Gen.Byte.Array[0, 120]).Sample((type, code, body) =>
        {
            var h = new SingleHost();
            h.Stack.RegisterTransport(IpProtocol.Udp, new RecordingTransport());
            h.Introduce();
            var msg = new byte[4 + body.Length];
            msg[0] = type;
            msg[1] = code;
            body.CopyTo(msg, 4);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(msg.AsSpan(2), Checksum.Compute(msg));
            h.PushIp(Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Icmp, msg.Length), msg));
            return true;
        });

    [Fact]
    public void Random_errors_quoting_our_datagrams_never_throw() =>
        Gen.Select(Gen.Byte[0, 20], Gen.Byte, Gen.Int[0, 60], Gen.Byte.Array[0, 40]).Sample((type, code, cut, junk) =>
        {
            var h = new SingleHost();
            h.Stack.RegisterTransport(IpProtocol.Udp, new RecordingTransport());
            var ours = Udp(Us, Ipv4Address.Parse("203.0.113.5"), 32);
            var quote = ours.AsSpan(0, Math.Min(cut, ours.Length)).ToArray().Concat(junk).ToArray();
            var msg = new byte[8 + quote.Length];
            msg[0] = type;
            msg[1] = code;
            quote.CopyTo(msg, 8);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(msg.AsSpan(2), Checksum.Compute(msg));
            h.PushIp(Frames.Ip(new Ipv4Repr(Gateway, Us, IpProtocol.Icmp, msg.Length), msg));
            return true;
        });
}
