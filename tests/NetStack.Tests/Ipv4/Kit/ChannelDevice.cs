using NetStack.Link;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.Ipv4.Kit;

/// <summary>
/// A test device (gVisor's link/channel idea): frames the test pushes come out of <see cref="TryReceive"/>,
/// frames the stack transmits are recorded in <see cref="Sent"/> and offered to the <see cref="Hub"/> it is plugged into.
/// </summary>
public sealed class ChannelDevice(MacAddress mac, int mtu = 1500, Medium medium = Medium.Ethernet) : INetDevice
{
    public Queue<byte[]> Inbound { get; } = new();
    public List<byte[]> Sent { get; } = [];
    public Hub? Hub { get; set; }

    public Medium Medium { get; } = medium;
    public int Mtu { get; } = mtu;
    public int MaxFrameSize => Mtu + (Medium == Medium.Ethernet ? 18 : 0);
    public MacAddress HardwareAddress { get; } = mac;

    public bool TryReceive(Span<byte> buffer, Instant now, out int length)
    {
        if (!Inbound.TryDequeue(out var frame))
        {
            length = 0;
            return false;
        }
        frame.CopyTo(buffer);
        length = frame.Length;
        return true;
    }

    public void Transmit(ReadOnlySpan<byte> frame, Instant now)
    {
        var copy = frame.ToArray();
        Sent.Add(copy);
        Hub?.Carry(this, copy);
    }

    /// <summary>Takes (and forgets) everything the stack sent so far.</summary>
    public List<byte[]> TakeSent()
    {
        var list = new List<byte[]>(Sent);
        Sent.Clear();
        return list;
    }
}

/// <summary>A shared segment: every frame sent by one port is offered to all the others (the stacks filter by MAC).</summary>
public sealed class Hub
{
    private readonly List<ChannelDevice> _ports = [];

    /// <summary>Optional filter: return false to lose a frame (tests of loss and of hostile peers).</summary>
    public Func<ChannelDevice, byte[], bool>? Filter { get; set; }

    public ChannelDevice AddPort(MacAddress mac, int mtu = 1500)
    {
        var d = new ChannelDevice(mac, mtu) { Hub = this };
        _ports.Add(d);
        return d;
    }

    internal void Carry(ChannelDevice from, byte[] frame)
    {
        if (Filter != null && !Filter(from, frame)) return;
        foreach (var p in _ports) if (p != from) p.Inbound.Enqueue(frame);
    }

    public bool AnyPending => _ports.Any(p => p.Inbound.Count > 0);
}

/// <summary>Drives several stacks in virtual time until a deadline, delivering frames as they are sent.</summary>
public sealed class VirtualNet
{
    private readonly List<NetworkStack> _stacks = [];
    private readonly List<Hub> _hubs = [];

    public Instant Now { get; private set; } = Instant.FromSeconds(1);

    public NetworkStack AddStack(ulong seed, StackOptions? options = null)
    {
        var s = new NetworkStack(options, new SeededRandom(seed));
        _stacks.Add(s);
        return s;
    }

    public Hub AddHub()
    {
        var h = new Hub();
        _hubs.Add(h);
        return h;
    }

    /// <summary>Runs for <paramref name="duration"/> of virtual time (frames delivered instantly; timers as they fall due).</summary>
    public void Run(TimeSpan duration)
    {
        var end = Now + duration;
        while (true)
        {
            var next = Instant.MaxValue;
            for (int spins = 0; spins < 10_000; spins++)
            {
                next = Instant.MaxValue;
                foreach (var s in _stacks) next = Instant.Min(next, s.Poll(Now));
                if (!_hubs.Any(h => h.AnyPending)) break;
            }
            if (next > end || next == Instant.MaxValue) { Now = end; foreach (var s in _stacks) s.Poll(Now); return; }
            Now = Instant.Max(next, Now + TimeSpan.FromTicks(10));
        }
    }
}
