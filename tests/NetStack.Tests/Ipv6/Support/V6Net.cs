using NetStack.Link;
using NetStack.Network;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.Ipv6.Support;

/// <summary>A broadcast segment: every frame sent by one device reaches all the others (and is recorded).</summary>
internal sealed class Hub
{
    public List<HubDevice> Devices { get; } = [];
    public List<(HubDevice From, byte[] Frame)> Log { get; } = [];

    public HubDevice Attach(MacAddress mac, int mtu = 1500)
    {
        var d = new HubDevice(this, mac, mtu);
        Devices.Add(d);
        return d;
    }

    internal void Carry(HubDevice from, ReadOnlySpan<byte> frame)
    {
        var copy = frame.ToArray();
        Log.Add((from, copy));
        foreach (var d in Devices) if (d != from) d.Inbox.Enqueue(copy);
    }
}

/// <summary>An Ethernet device on a <see cref="Hub"/>.</summary>
internal sealed class HubDevice(Hub hub, MacAddress mac, int mtu) : INetDevice
{
    public Queue<byte[]> Inbox { get; } = new();
    public Medium Medium => Medium.Ethernet;
    public int Mtu => mtu;
    public int MaxFrameSize => mtu + 14;
    public MacAddress HardwareAddress => mac;

    public bool TryReceive(Span<byte> buffer, Instant now, out int length)
    {
        length = 0;
        if (!Inbox.TryDequeue(out var f)) return false;
        f.CopyTo(buffer);
        length = f.Length;
        return true;
    }

    public void Transmit(ReadOnlySpan<byte> frame, Instant now) => hub.Carry(this, frame);
}

/// <summary>Drives several stacks over hubs in virtual time.</summary>
internal sealed class V6Net
{
    public List<NetworkStack> Stacks { get; } = [];
    public List<Hub> Hubs { get; } = [];
    public Instant Now { get; private set; } = Instant.FromSeconds(1);

    public Hub NewHub()
    {
        var h = new Hub();
        Hubs.Add(h);
        return h;
    }

    public NetworkStack NewStack(ulong seed, StackOptions? options = null)
    {
        var s = new NetworkStack(options ?? new StackOptions(), new SeededRandom(seed));
        Stacks.Add(s);
        return s;
    }

    public static MacAddress Mac(int n) => new(0x0200_0000_0000UL | (uint)n);

    public NetworkInterface Attach(NetworkStack stack, Hub hub, int macId, InterfaceConfig? config = null, int mtu = 1500) =>
        stack.AddInterface(hub.Attach(Mac(macId), mtu), config ?? new InterfaceConfig { EnableIpv4 = false }, Now);

    /// <summary>Polls every stack until <paramref name="duration"/> has passed, jumping between deadlines.</summary>
    public void Run(TimeSpan duration) => RunUntil(Now + duration);

    public void RunUntil(Instant end)
    {
        int guard = 0;
        while (Now <= end && guard++ < 1_000_000)
        {
            var next = Instant.MaxValue;
            foreach (var s in Stacks) next = Instant.Min(next, s.Poll(Now));
            bool pending = Hubs.Any(h => h.Devices.Any(d => d.Inbox.Count > 0));
            if (pending) continue;
            if (next <= Now) next = Now + TimeSpan.FromMilliseconds(1);
            if (next > end) { Now = end + TimeSpan.FromTicks(10); break; }
            Now = next;
        }
    }
}
