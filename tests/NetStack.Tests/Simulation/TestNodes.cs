using System.Buffers.Binary;
using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Tests.Simulation;

/// <summary>Builds small Ethernet test frames (EtherType 0x88B5, IEEE local experimental, so decoders leave the payload alone).</summary>
internal static class TestFrames
{
    public const ushort ExperimentalEtherType = 0x88B5;

    /// <summary>An Ethernet frame of <paramref name="length"/> bytes whose payload starts with a 32-bit sequence number.</summary>
    public static byte[] Make(MacAddress dst, MacAddress src, int length, uint sequence = 0)
    {
        var f = new byte[Math.Max(length, 18)];
        dst.Write(f);
        src.Write(f.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), ExperimentalEtherType);
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(14), sequence);
        for (int i = 18; i < f.Length; i++) f[i] = (byte)(i * 7 + sequence);
        return f;
    }

    public static uint Sequence(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadUInt32BigEndian(frame[14..]);
}

/// <summary>Answers every frame by swapping its MAC addresses and sending it back on the same device.</summary>
internal sealed class EchoNode(INetDevice device) : IPollable
{
    private readonly byte[] _buffer = new byte[device.MaxFrameSize];
    public long Echoed { get; private set; }

    public Instant Poll(Instant now)
    {
        Span<byte> tmp = stackalloc byte[6];
        while (device.TryReceive(_buffer, now, out int n))
        {
            var f = _buffer.AsSpan(0, n);
            if (device.Medium == Medium.Ethernet && n >= 12)
            {
                f[..6].CopyTo(tmp);
                f.Slice(6, 6).CopyTo(f);
                tmp.CopyTo(f[6..]);
            }
            device.Transmit(f, now);
            Echoed++;
        }
        return Instant.MaxValue;
    }
}

/// <summary>Counts what it receives and remembers when and in which order.</summary>
internal sealed class CounterNode(INetDevice device) : IPollable
{
    private readonly byte[] _buffer = new byte[device.MaxFrameSize];
    public List<(Instant At, uint Sequence, int Length)> Received { get; } = [];
    public bool Keep { get; init; } = true;
    public long Count { get; private set; }

    public Instant Poll(Instant now)
    {
        while (device.TryReceive(_buffer, now, out int n))
        {
            Count++;
            if (Keep) Received.Add((now, n >= 18 ? TestFrames.Sequence(_buffer) : 0, n));
        }
        return Instant.MaxValue;
    }
}

/// <summary>Sends a frame to <paramref name="peer"/> every <paramref name="period"/> and drains its device.</summary>
internal sealed class ChattyNode(INetDevice device, MacAddress peer, TimeSpan period, int frameLength = 100) : IPollable
{
    private readonly byte[] _buffer = new byte[device.MaxFrameSize];
    private readonly byte[] _frame = TestFrames.Make(peer, device.HardwareAddress, frameLength);
    private Instant _next = Instant.Zero;
    private uint _sequence;

    public long Sent { get; private set; }
    public long Received { get; private set; }

    public Instant Poll(Instant now)
    {
        while (device.TryReceive(_buffer, now, out _)) Received++;
        while (_next <= now)
        {
            BinaryPrimitives.WriteUInt32BigEndian(_frame.AsSpan(14), _sequence++);
            device.Transmit(_frame, now);
            Sent++;
            _next += period;
        }
        return _next;
    }
}
