using NetStack.Network;
using NetStack.Transport.Udp;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Samples.Traceroute;

/// <summary>
/// A small authoritative DNS server for the simulated network, on a NetStack stack's UDP port 53: it answers A, AAAA
/// and PTR for the demo's names (RFC 1035, RFC 3596) and NXDOMAIN for anything else, so that the traceroute sample's
/// reverse lookups go through the stack's own resolver over the simulated links.
/// </summary>
public sealed class SimulatedDnsServer(NetworkStack stack, UdpLayer udp, IReadOnlyDictionary<IpAddress, string> names) : IPollable
{
    private const uint Ttl = 3600;
    private readonly UdpSocket _socket = udp.Bind(new IpEndpoint(new IpAddress(Ipv4Address.Any), 53));
    private readonly UdpSocket _socket6 = udp.Bind(new IpEndpoint(new IpAddress(Ipv6Address.Unspecified), 53));
    private readonly byte[] _in = new byte[1500];
    private readonly byte[] _out = new byte[512];

    public long Answered { get; private set; }

    public Instant Poll(Instant now)
    {
        var next = stack.Poll(now);
        bool sent = Serve(_socket, now) | Serve(_socket6, now);
        return sent ? Instant.Min(next, stack.Poll(now)) : next;
    }

    private bool Serve(UdpSocket socket, Instant now)
    {
        bool any = false;
        while (socket.TryReceive(_in, out var info, out int length))
        {
            int n = Answer(_in.AsSpan(0, length), _out);
            if (n <= 0) continue;
            socket.Send(_out.AsSpan(0, n), info.Remote, IpSendOptions.Default, now);
            Answered++;
            any = true;
        }
        return any;
    }

    private int Answer(ReadOnlySpan<byte> query, Span<byte> buffer)
    {
        if (!DnsMessage.TryParse(query, out var msg, out _) || msg.IsResponse || msg.QuestionCount != 1) return 0;
        foreach (var q in msg.Questions)
        {
            string qname = q.Name.ToString().TrimEnd('.');
            var answers = new List<(DnsType Type, IpAddress? Address, string? Target)>();
            foreach (var (address, name) in names)
            {
                if (q.Type == DnsType.PTR && string.Equals(qname, DnsReverseName.For(address).TrimEnd('.'), StringComparison.OrdinalIgnoreCase))
                    answers.Add((DnsType.PTR, null, name));
                else if (string.Equals(qname, name, StringComparison.OrdinalIgnoreCase)
                    && ((q.Type == DnsType.A && address.IsV4) || (q.Type == DnsType.AAAA && address.IsV6)))
                    answers.Add((q.Type, address, null));
            }
            bool known = answers.Count > 0 || names.Values.Any(n => string.Equals(n, qname, StringComparison.OrdinalIgnoreCase));
            var header = new DnsHeader(msg.Id, IsResponse: true, Authoritative: true, RecursionDesired: msg.RecursionDesired,
                Rcode: known ? DnsRcode.NoError : DnsRcode.NameError);
            var w = new DnsWriter(buffer, header);
            if (!w.TryAddQuestion(qname, q.Type)) return 0;
            foreach (var a in answers)
            {
                bool ok = a.Type switch
                {
                    DnsType.PTR => w.TryAddNameRecord(DnsSection.Answer, qname, DnsType.PTR, Ttl, a.Target!),
                    DnsType.A => w.TryAddA(DnsSection.Answer, qname, Ttl, a.Address!.Value.V4),
                    _ => w.TryAddAaaa(DnsSection.Answer, qname, Ttl, a.Address!.Value.V6),
                };
                if (!ok) break;
            }
            return w.Length;
        }
        return 0;
    }
}
