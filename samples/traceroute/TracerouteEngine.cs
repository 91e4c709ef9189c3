using System.Globalization;
using NetStack.Wire;

namespace NetStack.Samples.Traceroute;

/// <summary>What became of an attempt to send a probe.</summary>
public enum SendOutcome
{
    Sent,
    /// <summary>Not now (a queue was full); try again at the next poll.</summary>
    Retry,
    /// <summary>Larger than the known path MTU with DF set; <c>mtu</c> says how large it may be.</summary>
    TooBig,
}

/// <summary>Sends probes of one method (UDP, ICMP, TCP) and matches answers back to them.</summary>
public interface IProbeSender
{
    /// <summary>IP header plus the method's own header: what the packet length adds to the data.</summary>
    int HeaderLength { get; }

    /// <summary>Sends <paramref name="probe"/> at its TTL with <paramref name="dataLength"/> bytes of data; sets its wire identity.</summary>
    SendOutcome Send(Probe probe, int dataLength, Instant now, out int mtu);
}

/// <summary>Reverse names for the hop lines; lookups run in the background and the line waits for them.</summary>
public interface IHostNameSource
{
    /// <summary>True when the answer is known (<paramref name="name"/> null when there is none); false while a lookup is pending.</summary>
    bool TryGetName(IpAddress address, out string? name);
}

/// <summary>
/// The traceroute scheduler, sans-IO: it decides which probes to send and when, how long to wait for each
/// (-w MAX,HERE,NEAR), when the trace ends, and prints each probe in Linux traceroute 2.1's format as soon as
/// all probes before it are settled. Answers are matched to probes by the method (by the quoted probe headers,
/// never by arrival order) and handed in through <see cref="AnswerIcmp"/> and <see cref="AnswerFinal"/>.
/// </summary>
public sealed class TracerouteEngine
{
    // +1 ms to avoid precision issues, as Linux traceroute adds.
    private const double WaitPrecision = 0.001;

    private readonly TracerouteOptions _options;
    private readonly IProbeSender _sender;
    private readonly IHostNameSource? _names;
    private readonly TextWriter? _out;
    private readonly Probe[] _probes;
    private readonly int _perHop;
    private int _start;
    private int _end;
    private Instant? _lastSend;
    private readonly List<(Probe Probe, int Mtu)> _localErrors = [];
    private bool _headerWritten;

    public TracerouteEngine(TracerouteOptions options, IProbeSender sender, int dataLength, IHostNameSource? names, TextWriter? output)
    {
        _options = options;
        _sender = sender;
        _names = options.NoResolve ? null : names;
        _out = output;
        _perHop = options.Queries;
        DataLength = dataLength;
        _probes = new Probe[options.MaxTtl * _perHop];
        for (int i = 0; i < _probes.Length; i++) _probes[i] = new Probe(i, i / _perHop + 1, i % _perHop);
        _start = (options.FirstTtl - 1) * _perHop;
        _end = _probes.Length;
    }

    public IReadOnlyList<Probe> Probes => _probes;
    public int DataLength { get; private set; }
    public bool IsComplete { get; private set; }
    public int PacketLength => _sender.HeaderLength + DataLength;

    /// <summary>The probes of the hops printed so far (first_ttl up to the last hop reached).</summary>
    public IEnumerable<Probe> PrintedProbes => _probes.Skip((_options.FirstTtl - 1) * _perHop).Take(Math.Max(0, _start - (_options.FirstTtl - 1) * _perHop));

    /// <summary>Writes "traceroute to NAME (ADDR), N hops max, L byte packets" (without its newline, as Linux does).</summary>
    public void WriteHeader(string name, IpAddress address)
    {
        _headerWritten = true;
        _out?.Write(string.Create(CultureInfo.InvariantCulture,
            $"traceroute to {name} ({address}), {_options.MaxTtl} hops max, {PacketLength} byte packets"));
        _out?.Flush();
    }

    /// <summary>The probe that is in flight and satisfies <paramref name="match"/>, if any.</summary>
    public Probe? FindInFlight(Func<Probe, bool> match)
    {
        for (int i = _start; i < _end; i++)
        {
            var p = _probes[i];
            if (p.Sent && !p.Done && match(p)) return p;
        }
        return null;
    }

    /// <summary>An ICMP or ICMPv6 error quoting the probe: time exceeded, unreachable, packet too big.</summary>
    public void AnswerIcmp(Probe probe, IpAddress from, Instant at, int receivedTtl, int type, int code, uint info, string? extension)
    {
        if (probe.Done) return;
        if (_options.MtuDiscovery && IsMtuSignal(from.Version, type, code) && info >= _sender.HeaderLength && info < PacketLength)
        {
            // --mtu: the packet was too big for the next link; shrink and send this probe again, noting F=mtu.
            DataLength = (int)info - _sender.HeaderLength;
            probe.Reset();
            probe.Annotation = string.Create(CultureInfo.InvariantCulture, $"F={info}");
            return;
        }
        var (annotation, final) = IcmpAnnotations.Classify(from.Version, type, code, info);
        Complete(probe, from, at, receivedTtl, annotation, final, _options.Extensions ? extension : null);
    }

    /// <summary>The destination answered the probe itself (echo reply, SYN-ACK or RST): final, no annotation.</summary>
    /// <remarks><paramref name="info"/>: what -O info prints in angle brackets (the TCP flags of the answer), or null.</remarks>
    public void AnswerFinal(Probe probe, IpAddress from, Instant at, int receivedTtl, string? info = null) =>
        Complete(probe, from, at, receivedTtl, "", true, info);

    private static bool IsMtuSignal(IpVersion v, int type, int code) => v == IpVersion.V4 ? type == 3 && code == 4 : type == 2;

    private void Complete(Probe probe, IpAddress? from, Instant at, int receivedTtl, string annotation, bool final, string? extension)
    {
        probe.From = from;
        probe.ReceiveTime = at;
        probe.ReceiveTtl = receivedTtl;
        if (annotation.Length > 0) probe.Annotation = annotation;
        probe.Final = final;
        probe.Extension = extension;
        probe.Done = true;
    }

    /// <summary>Runs the schedule at <paramref name="now"/>: expires, prints, sends. Returns when to be polled next.</summary>
    public Instant Poll(Instant now)
    {
        if (!_headerWritten) throw new InvalidOperationException("WriteHeader first.");
        foreach (var (owner, mtu) in _localErrors)
        {
            if (owner.Done || !owner.Sent) continue;
            Complete(owner, null, now, 0, string.Create(CultureInfo.InvariantCulture, $"!F-{mtu}"), true, null);
        }
        _localErrors.Clear();
        while (_start < _end)
        {
            Instant? next = null;
            int inFlight = 0;
            bool progressed = false;
            for (int n = _start; n < _end; n++)
            {
                var pb = _probes[n];
                if (n == _start && !pb.Done && pb.Sent)
                {
                    var expire = pb.SendTime!.Value + Seconds(Timeout(pb));
                    if (expire > now) next = expire;
                    else
                    {
                        pb.Done = true; // expired: printed as " *"
                        CheckExpired(pb);
                    }
                }
                if (pb.Done)
                {
                    if (n == _start)
                    {
                        if (!NameReady(pb)) { next ??= now + TimeSpan.FromMilliseconds(10); break; }
                        Print(pb);
                        _start++;
                        progressed = true;
                    }
                    if (pb.Final) _end = (n / _perHop + 1) * _perHop;
                    continue;
                }
                if (!pb.Sent)
                {
                    if (_options.SendWait > 0 && _lastSend is { } ls && ls + Seconds(_options.SendWait) > now)
                    {
                        next = ls + Seconds(_options.SendWait);
                        break;
                    }
                    var outcome = _sender.Send(pb, DataLength, now, out int mtu);
                    if (outcome == SendOutcome.TooBig)
                    {
                        // Linux: a local EMSGSIZE with a known MTU. With --mtu, shrink and resend.
                        if (_options.MtuDiscovery && mtu >= _sender.HeaderLength && mtu < PacketLength)
                        {
                            DataLength = mtu - _sender.HeaderLength;
                            pb.Annotation = string.Create(CultureInfo.InvariantCulture, $"F={mtu}");
                            n--;
                            continue;
                        }
                        // Else the probe counts as sent (send() returned 0) and the kernel queues a local error, which
                        // traceroute 2.1 reads at its next poll: " *  0.090 ms !F-1500", final. UDP has a socket per
                        // probe, so every probe gets its own error; ICMP and TCP share one, and the error goes to the
                        // first probe of the trace (recv_reply: "frag needed at the local host").
                        pb.SendTime ??= now;
                        var owner = _options.Method is ProbeMethod.Udp or ProbeMethod.UdpFixed ? pb : _probes[(_options.FirstTtl - 1) * _perHop];
                        _localErrors.Add((owner, mtu));
                    }
                    else if (outcome == SendOutcome.Retry)
                    {
                        next ??= now + TimeSpan.FromMilliseconds(10);
                        break;
                    }
                    // The sender stamps the probe when its frame is handed to the device (a real clock); else now.
                    pb.SendTime ??= now;
                    _lastSend = pb.SendTime;
                }
                next ??= pb.SendTime!.Value + Seconds(Timeout(pb));
                if (++inFlight >= _options.SimultaneousProbes) break;
            }
            if (_start >= _end) break;
            // A local error is read at the next turn, as the kernel's error queue is: come back at once.
            if (_localErrors.Count > 0) return now;
            if (next is { } t && t > now && !progressed) return t;
        }
        if (!IsComplete)
        {
            IsComplete = true;
            _out?.Write('\n');
            _out?.Flush();
        }
        return Instant.MaxValue;
    }

    private static TimeSpan Seconds(double s) => TimeSpan.FromTicks((long)(s * TimeSpan.TicksPerSecond));

    /// <summary>-w MAX,HERE,NEAR: HERE times a reply from the same hop, else NEAR times one from a later hop, capped by MAX.</summary>
    private double Timeout(Probe pb)
    {
        double max = _options.WaitMax;
        if (_options.WaitHere > 0)
        {
            int first = pb.Index - pb.Index % _perHop;
            for (int i = first; i < first + _perHop; i++)
            {
                var p = _probes[i];
                if (p.Done && p.RoundTrip is { } rtt && rtt > TimeSpan.Zero)
                    return Math.Min(max, (rtt.TotalSeconds + WaitPrecision) * _options.WaitHere);
            }
        }
        if (_options.WaitNear > 0)
        {
            for (int i = pb.Index + 1; i < _probes.Length && _probes[i].Sent; i++)
            {
                var p = _probes[i];
                if (p.Done && p.RoundTrip is { } rtt && rtt > TimeSpan.Zero)
                    return Math.Min(max, (rtt.TotalSeconds + WaitPrecision) * _options.WaitNear);
            }
        }
        return max;
    }

    /// <summary>
    /// Linux traceroute's handling of "* * * final": when probes sent together were answered only for the later ones
    /// by an unreachable error from the destination, the final answer is moved to the expired slot.
    /// </summary>
    private void CheckExpired(Probe pb)
    {
        int idx = pb.Index;
        Probe? previousFinal = null;
        for (int i = idx - idx % _perHop; i < idx; i++)
        {
            var p = _probes[i];
            if (!p.Done || !p.Final) return;
            previousFinal = p;
        }
        Probe? fp = null;
        for (int i = idx + 1; i < _probes.Length && _probes[i].Sent; i++)
        {
            var p = _probes[i];
            if (!p.Done) continue;
            if (!p.Final) return;
            fp = p;
            break;
        }
        if (fp is null || fp.Annotation.Length == 0) return;
        bool replace = previousFinal is not null || idx % _perHop + (fp.Index - idx) < _perHop;
        if (!replace)
        {
            for (int i = idx - 1; i >= 0 && !replace; i--)
                if (_probes[i].From is { } a && a == fp.From) replace = true;
        }
        if (!replace && fp.ReceiveTtl > 0)
        {
            int backHops = TtlToHops(fp.ReceiveTtl);
            for (int i = idx - 1; i >= 0; i--)
            {
                var p = _probes[i];
                if (p.Done && !p.Final && p.ReceiveTtl > 0)
                {
                    int hops = TtlToHops(p.ReceiveTtl);
                    if (hops < backHops)
                    {
                        backHops = backHops - hops + (i / _perHop + 1);
                        break;
                    }
                }
            }
            if (backHops <= idx / _perHop + 1) replace = true;
        }
        if (!replace) return;
        pb.TakeAnswerOf(fp);
        fp.Reset();
        fp.SendTime = Instant.Zero; // blocks a re-send of the slot, as Linux does
        fp.Done = false;
    }

    // The initial TTL of the answer is assumed to be 64, 128 or 255 (tracepath's guess).
    private static int TtlToHops(int ttl) => (ttl <= 64 ? 65 : ttl <= 128 ? 129 : 256) - ttl;

    private bool NameReady(Probe pb) => pb.From is not { } a || _names is null || _names.TryGetName(a, out _);

    private void Print(Probe pb)
    {
        if (_out is null) return;
        int np = pb.Query;
        if (np == 0) _out.Write(string.Create(CultureInfo.InvariantCulture, $"\n{pb.Ttl,2} "));
        if (pb.From is not { } from)
        {
            _out.Write(" *");
        }
        else
        {
            bool print = np == 0;
            if (np > 0)
            {
                // Print the address again only when it differs from the previous answered probe of this hop.
                int i = pb.Index - 1;
                while (np > 0 && _probes[i].From is null) { i--; np--; }
                if (np == 0 || _probes[i].From != from || _probes[i].Extension != pb.Extension
                    || (_options.Backward && _probes[i].ReceiveTtl != pb.ReceiveTtl)) print = true;
            }
            if (print)
            {
                string addr = from.ToString();
                if (_names is null) _out.Write(' ' + addr);
                else
                {
                    _names.TryGetName(from, out var name);
                    _out.Write($" {name ?? addr} ({addr})");
                }
                if (pb.Extension is not null) _out.Write($" <{pb.Extension}>");
                if (_options.Backward && pb.ReceiveTtl > 0 && TtlToHops(pb.ReceiveTtl) is var hops && hops != pb.Ttl)
                    _out.Write(string.Create(CultureInfo.InvariantCulture, $" '-{hops}'"));
            }
        }
        if (pb.RoundTrip is { } rtt) _out.Write(string.Create(CultureInfo.InvariantCulture, $"  {rtt.TotalMilliseconds:F3} ms"));
        if (pb.Annotation.Length > 0) _out.Write(' ' + pb.Annotation);
        _out.Flush();
    }
}
