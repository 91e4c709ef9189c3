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
    private readonly Dictionary<DnsQueryHandle, DnsResult?> _forward = [];
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

    /// <summary>Starts a forward lookup (A or AAAA) of the target's name; <see cref="TryGetForward"/> gives its result.</summary>
    public DnsQueryHandle StartForward(string name, DnsType type, Instant now)
    {
        var handle = _engine.StartQuery(name, type, now);
        _forward[handle] = null;
        return handle;
    }

    /// <summary>The result of a forward lookup once it has ended (answered, refused or timed out).</summary>
    public bool TryGetForward(DnsQueryHandle handle, out DnsResult? result) =>
        _forward.TryGetValue(handle, out result) && result is not null;

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
            if (_forward.ContainsKey(r.Handle)) { _forward[r.Handle] = r; continue; }
            if (!_pending.Remove(r.Handle, out var address)) continue;
            _known[address] = r.Status == DnsQueryStatus.Success && r.Names.Count > 0 ? r.Names[0].TrimEnd('.') : null;
        }
        return next;
    }
}

/// <summary>
/// The target's name to an address, as getaddrinfo() does for traceroute 2.1 (its <c>-4</c> / <c>-6</c> family, else
/// IPv4 when the name has both): the hosts file first, then A / AAAA queries through the tracing stack's own resolver.
/// </summary>
public sealed class ForwardLookup
{
    private readonly ResolverNameSource _resolver;
    private readonly DnsQueryHandle? _a;
    private readonly DnsQueryHandle? _aaaa;

    public ForwardLookup(ResolverNameSource resolver, string name, int? family, Instant now)
    {
        _resolver = resolver;
        if (family != 6) _a = resolver.StartForward(name, DnsType.A, now);
        if (family != 4) _aaaa = resolver.StartForward(name, DnsType.AAAA, now);
    }

    /// <summary>True once decided: <paramref name="address"/> set, or <paramref name="error"/> as getaddrinfo's gai_strerror() words it.</summary>
    public bool TryGetResult(out IpAddress address, out string? error)
    {
        address = default;
        error = null;
        DnsResult? a = null, aaaa = null;
        bool aDone = _a is not { } ha || _resolver.TryGetForward(ha, out a);
        bool aaaaDone = _aaaa is not { } h6 || _resolver.TryGetForward(h6, out aaaa);
        if (Pick(a, true) is { } v4) { address = v4; return true; }
        if (!aDone) return false;
        if (Pick(aaaa, false) is { } v6) { address = v6; return true; }
        if (!aaaaDone) return false;
        bool transient = new[] { a, aaaa }.Any(r => r?.Status is DnsQueryStatus.Timeout or DnsQueryStatus.ServerFailure or DnsQueryStatus.TooManyQueries);
        error = transient ? "Temporary failure in name resolution" : "Name or service not known";
        return true;
    }

    private static IpAddress? Pick(DnsResult? r, bool v4) =>
        r is { Status: DnsQueryStatus.Success } ? r.Addresses.Where(x => x.IsV4 == v4).Select(x => (IpAddress?)x).FirstOrDefault() : null;

    /// <summary>The hosts file's address for <paramref name="name"/> (first line that names it, of the family asked), if any.</summary>
    public static IpAddress? FromHostsFile(string name, int? family, string path = "/etc/hosts")
    {
        if (!File.Exists(path)) return null;
        IpAddress? other = null;
        foreach (var raw in File.ReadLines(path))
        {
            var line = raw.Split('#')[0];
            var fields = line.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2 || !System.Net.IPAddress.TryParse(fields[0], out var ip)) continue;
            if (!fields.Skip(1).Any(f => string.Equals(f, name, StringComparison.OrdinalIgnoreCase))) continue;
            var address = IpAddress.FromIPAddress(ip);
            if (family is null ? address.IsV4 : (family == 6) == address.IsV6) return address;
            if (family is null) other ??= address;
        }
        return other;
    }

    /// <summary>The resolvers of the hosts's /etc/resolv.conf ("nameserver" lines).</summary>
    public static IReadOnlyList<IpAddress> FromResolvConf(string path = "/etc/resolv.conf")
    {
        if (!File.Exists(path)) return [];
        var servers = new List<IpAddress>();
        foreach (var line in File.ReadLines(path))
        {
            var fields = line.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 2 && fields[0] == "nameserver" && System.Net.IPAddress.TryParse(fields[1].Split('%')[0], out var ip))
                servers.Add(IpAddress.FromIPAddress(ip));
        }
        return servers;
    }
}
