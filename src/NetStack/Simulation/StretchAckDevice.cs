using System.Buffers;
using System.Buffers.Binary;
using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Simulation;

/// <summary>
/// A decorator for a simulated receiver that acknowledges like a busy Linux receiver: pure ACKs (TCP, no payload, no
/// SYN/FIN/RST) the owner transmits are held for <see cref="Hold"/>, and a newer pure ACK of the same connection replaces
/// the held one, so a burst of segments that arrives within the hold time draws one (stretch) ACK, the last. Linux does
/// this when segments reach a socket whose owner is reading (they wait in the backlog and are acknowledged once when it
/// is released), when GRO coalesces them, and for out-of-order data with SACK compression (net.ipv4.tcp_comp_sack_*):
/// what a NetStack sender sees from the kernel over a TAP, and what makes one lost ACK stall a whole flight. Every other
/// frame passes at once (after the held ACK of its connection, which it would otherwise overtake). Deterministic: no
/// randomness, times from the caller. Only Ethernet frames carrying IPv4 or IPv6 (no extension headers) are inspected.
/// </summary>
public sealed class StretchAckDevice : NetDeviceDecorator, IDisposable
{
    private readonly List<Held> _held = [];

    /// <summary>Wraps <paramref name="inner"/>, holding pure ACKs for <paramref name="hold"/>.</summary>
    public StretchAckDevice(INetDevice inner, TimeSpan hold) : base(inner)
    {
        if (hold <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(hold));
        Hold = hold;
    }

    /// <summary>How long a pure ACK waits for a newer one of the same connection to replace it.</summary>
    public TimeSpan Hold { get; }

    /// <summary>Pure ACKs sent on (the last of each held run).</summary>
    public long AcksSent { get; private set; }

    /// <summary>Pure ACKs replaced by a newer one before they were sent.</summary>
    public long AcksCoalesced { get; private set; }

    /// <inheritdoc/>
    public override Instant NextArrival
    {
        get
        {
            var next = base.NextArrival;
            foreach (var h in _held) next = Instant.Min(next, h.Due);
            return next;
        }
    }

    /// <inheritdoc/>
    public override void Service(Instant now)
    {
        for (int i = 0; i < _held.Count; i++)
        {
            if (_held[i].Due > now) continue;
            Release(i, now);
            i--;
        }
        base.Service(now);
    }

    /// <inheritdoc/>
    public override void Transmit(ReadOnlySpan<byte> frame, Instant now)
    {
        Service(now);
        if (!TryFlowKey(frame, out ulong key, out bool pureAck))
        {
            Inner.Transmit(frame, now);
            return;
        }
        int i = _held.FindIndex(h => h.Key == key);
        if (!pureAck)
        {
            if (i >= 0) Release(i, now);
            Inner.Transmit(frame, now);
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(frame.Length, 1));
        frame.CopyTo(buffer);
        if (i >= 0)
        {
            var h = _held[i];
            ArrayPool<byte>.Shared.Return(h.Buffer);
            _held[i] = h with { Buffer = buffer, Length = frame.Length };
            AcksCoalesced++;
            return;
        }
        _held.Add(new Held(key, buffer, frame.Length, now + Hold));
    }

    private void Release(int i, Instant now)
    {
        var h = _held[i];
        _held.RemoveAt(i);
        Inner.Transmit(h.Buffer.AsSpan(0, h.Length), now);
        ArrayPool<byte>.Shared.Return(h.Buffer);
        AcksSent++;
    }

    /// <summary>A TCP segment's connection (addresses and ports, hashed) and whether it is a pure ACK.</summary>
    private bool TryFlowKey(ReadOnlySpan<byte> frame, out ulong key, out bool pureAck)
    {
        key = 0;
        pureAck = false;
        if (Medium != Medium.Ethernet || frame.Length < 14) return false;
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        var ip = frame[14..];
        ReadOnlySpan<byte> addresses;
        int tcpOffset, ipEnd;
        if (type == 0x0800 && ip.Length >= 20 && ip[9] == 6)
        {
            tcpOffset = (ip[0] & 0xF) * 4;
            ipEnd = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
            addresses = ip.Slice(12, 8);
        }
        else if (type == 0x86DD && ip.Length >= 40 && ip[6] == 6)
        {
            tcpOffset = 40;
            ipEnd = 40 + BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
            addresses = ip.Slice(8, 32);
        }
        else return false;
        if (ipEnd > ip.Length || tcpOffset + 20 > ipEnd) return false;
        var tcp = ip[tcpOffset..ipEnd];
        int headerLength = (tcp[12] >> 4) * 4;
        var flags = (TcpFlags)tcp[13];
        var hash = new HashCode();
        hash.AddBytes(addresses);
        hash.AddBytes(tcp[..4]);
        key = (uint)hash.ToHashCode();
        pureAck = tcp.Length == headerLength && (flags & TcpFlags.Ack) != 0 && (flags & (TcpFlags.Syn | TcpFlags.Fin | TcpFlags.Rst)) == 0;
        return true;
    }

    /// <summary>Returns the held buffers to the pool (their ACKs are not sent).</summary>
    public void Dispose()
    {
        foreach (var h in _held) ArrayPool<byte>.Shared.Return(h.Buffer);
        _held.Clear();
    }

    private readonly record struct Held(ulong Key, byte[] Buffer, int Length, Instant Due);
}
