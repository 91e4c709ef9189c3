using System.Net;
using NetStack.Sockets;
using NetStack.Tap;
using NetStack.Wire;

namespace NetStack.Tests.Api.Support;

/// <summary>
/// A tiny authoritative DNS server for tests, on UDP port 53 of a stack: answers A, AAAA and PTR from its zone,
/// NXDOMAIN (with an SOA for negative caching, RFC 2308) for other names, and counts the queries it saw.
/// </summary>
internal sealed partial class TestDnsServer : IAsyncDisposable
{
    private readonly AsyncUdpSocket _socket;
    private readonly Task _loop;
    private readonly Dictionary<string, IPAddress[]> _addresses;
    private readonly Dictionary<string, string> _pointers;
    private int _queries;

    private TestDnsServer(AsyncUdpSocket socket, Dictionary<string, IPAddress[]> addresses, Dictionary<string, string> pointers)
    {
        _socket = socket;
        _addresses = addresses;
        _pointers = pointers;
        _loop = Task.Run(ServeAsync);
    }

    /// <summary>Also stopped on dispose (the TCP side, when there is one).</summary>
    private Func<ValueTask>? StopExtra { get; set; }

    public int Queries => Volatile.Read(ref _queries);

    /// <summary>Names whose UDP answers come back truncated (TC set, no records), so that the client must ask over TCP.</summary>
    public HashSet<string> TruncateOverUdp { get; } = [];

    public static async Task<TestDnsServer> StartAsync(IpStack stack, Dictionary<string, IPAddress[]> addresses, Dictionary<string, string>? pointers = null) =>
        new(await stack.BindUdpAsync(new IPEndPoint(IPAddress.Any, 53)), addresses, pointers ?? []);

    private async Task ServeAsync()
    {
        var buffer = new byte[512];
        var answer = new byte[512];
        await foreach (var m in _socket.ReceiveAllAsync(512))
        {
            Interlocked.Increment(ref _queries);
            int n = Answer(m.Data, answer, overTcp: false);
            if (n > 0) await _socket.SendToAsync(answer.AsMemory(0, n), m.Info.RemoteEndPoint);
        }
    }

    private int Answer(byte[] query, byte[] answer, bool overTcp)
    {
        if (!DnsMessage.TryParse(query, out var q, out _) || q.QuestionCount != 1) return 0;
        string name = "";
        DnsType type = default;
        foreach (var question in q.Questions)
        {
            name = question.Name.ToString().TrimEnd('.').ToLowerInvariant();
            type = question.Type;
        }
        bool exists = _addresses.ContainsKey(name) || _pointers.ContainsKey(name);
        bool truncate = !overTcp && TruncateOverUdp.Contains(name);
        var w = new DnsWriter(answer, new DnsHeader(q.Id, IsResponse: true, Authoritative: true, Truncated: truncate,
            Rcode: exists ? DnsRcode.NoError : DnsRcode.NameError));
        w.TryAddQuestion(name, type);
        if (truncate) return w.Length;
        if (!exists)
        {
            w.TryAddSoa(DnsSection.Authority, "test", 60, "ns.test", "hostmaster.test", 1, 60, 60, 60, 30);
            return w.Length;
        }
        if (_addresses.TryGetValue(name, out var addresses))
        {
            foreach (var a in addresses)
            {
                if (type == DnsType.A && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                    w.TryAddA(DnsSection.Answer, name, 300, Ipv4Address.FromIPAddress(a));
                else if (type == DnsType.AAAA && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
                    w.TryAddAaaa(DnsSection.Answer, name, 300, Ipv6Address.FromIPAddress(a));
            }
        }
        if (type == DnsType.PTR && _pointers.TryGetValue(name, out var target))
            w.TryAddNameRecord(DnsSection.Answer, name, DnsType.PTR, 300, target);
        return w.Length;
    }

    public async ValueTask DisposeAsync()
    {
        await _socket.DisposeAsync();
        await _loop;
        if (StopExtra is not null) await StopExtra();
    }
}
