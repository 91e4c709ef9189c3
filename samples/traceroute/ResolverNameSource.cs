using NetStack.Network;
using NetStack.Services;
using NetStack.Transport.Udp;
using NetStack.Wire;

namespace NetStack.Samples.Traceroute;

/// <summary>
/// Reverse names for hop lines through NetStack's own DNS stub resolver (the sans-IO resolver engine over a UDP socket
/// of the tracing stack): a lookup starts when an address first answers, and its line is printed once the name (or its
/// absence) is known. Runs on the stack's thread, pumped by <see cref="TracerouteNode"/>.
/// </summary>
public sealed class ResolverNameSource : IHostNameSource
{
    private readonly DnsResolverEngine _engine;
    private readonly UdpSocket _socket4;
    private readonly UdpSocket _socket6;
    private readonly Dictionary<IpAddress, string?> _known = [];
    private readonly Dictionary<DnsQueryHandle, IpAddress> _pending = [];
    private readonly byte[] _buffer = new byte[1500];
    private Instant _now;

    public ResolverNameSource(UdpLayer udp, IReadOnlyList<IpAddress> servers, IRandomSource random)
    {
        _engine = new DnsResolverEngine(new DnsResolverOptions(servers) { Timeout = TimeSpan.FromSeconds(1), Attempts = 2 }, random);
        _socket4 = udp.Bind(new IpEndpoint(new IpAddress(Ipv4Address.Any), 0));
        _socket6 = udp.Bind(new IpEndpoint(new IpAddress(Ipv6Address.Unspecified), 0));
    }

    public bool TryGetName(IpAddress address, out string? name)
    {
        if (_known.TryGetValue(address, out name)) return true;
        if (!_pending.ContainsValue(address))
        {
            var handle = _engine.StartQuery(DnsReverseName.For(address), DnsType.PTR, _now);
            _pending[handle] = address;
        }
        return false;
    }

    /// <summary>Moves queries and answers between the engine and the sockets; returns the engine's next deadline.</summary>
    public Instant Pump(Instant now)
    {
        _now = now;
        foreach (var s in new[] { _socket4, _socket6 })
            while (s.TryReceive(_buffer, out var info, out int n))
                if (info.Remote.Port == 53) _engine.Receive(info.Remote.Address, _buffer.AsSpan(0, n), now);
        var next = _engine.Poll(now);
        while (_engine.TryDequeueOutgoing(out var q))
        {
            var socket = q.Server.IsV4 ? _socket4 : _socket6;
            socket.Send(q.Payload.Span, new IpEndpoint(q.Server, 53), IpSendOptions.Default, now);
        }
        while (_engine.TryDequeueResult(out var r))
        {
            if (!_pending.Remove(r.Handle, out var address)) continue;
            _known[address] = r.Status == DnsQueryStatus.Success && r.Names.Count > 0 ? r.Names[0].TrimEnd('.') : null;
        }
        return next;
    }
}
