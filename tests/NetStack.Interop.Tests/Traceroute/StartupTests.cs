using System.Diagnostics;
using System.Globalization;
using System.Text;
using NetStack.Interop.Tests.Support;
using NetStack.Link;
using NetStack.Wire;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.Traceroute;

/// <summary>
/// Issue 15 item 11, start-up: a trace prints its header at once, IPv4 and IPv6. Linux prints it ~1 ms after its
/// sockets exist (the kernel already knows the first hop and its addresses are not tentative); ours printed an IPv6
/// header only after duplicate address detection (1.2-4.1 s). What makes the header immediate is structural, and is
/// what this test asserts on every run: the header is written before any answer from the first hop's link-layer
/// resolution has even been asked for (no ARP request or neighbor solicitation for it has been sent: nothing waits for
/// ARP / NDP before the header), and no DAD solicitation (RFC 4862 §5.4.2,
/// source ::) is ever sent for an address given with --address. (It asserts on what is SENT before the header, not on
/// what is read: a resolution answer to an earlier run on the same TAP may still be queued when a run starts.) The wall-clock figure from process start (the
/// Native AOT binary and the JIT, beside Linux's) is measured by bench/traceroute/startup.sh, not here: a 50 ms bound
/// on a shared, loaded machine would be flaky; the in-process times below are bounded generously only to catch a
/// wait that creeps back in (a DAD or ARP wait is 1 s or more).
/// </summary>
[Collection(TracerouteLabCollection.Name)]
public sealed class StartupTests(TracerouteLabFixture fixture, ITestOutputHelper log)
{
    [SkippableTheory]
    [InlineData(TracerouteLab.TargetV4, "198.51.100.1")]
    [InlineData(TracerouteLab.TargetV6, "2001:db8:1::1")]
    public async Task The_header_is_printed_at_once_without_dad_and_before_the_first_hop_is_resolved(string target, string gateway)
    {
        Root.Require();
        var lab = fixture.Lab;
        var gw = IpAddress.Parse(gateway);
        var times = new List<double>();
        for (int run = 0; run < 5; run++)
        {
            StartRecorder? recorder = null;
            var clock = Stopwatch.StartNew();
            var output = new HeaderWatch(() => recorder!, clock);
            await lab.RunOursAsync(output, d => recorder = new StartRecorder(d, gw), "-n", "-w", "2", "-q", "1", "-m", "1", target);
            string text = output.ToString();
            Assert.NotNull(recorder);
            log.WriteLine($"{text}{recorder.Events}");
            Assert.True(output.AtHeader is not null, $"no header:\n{text}");
            var at = output.AtHeader.Value;
            Assert.StartsWith($"traceroute to {target} ({target}), 1 hops max", text, StringComparison.Ordinal);
            Assert.Contains($" 1  {gateway}  ", text, StringComparison.Ordinal);
            // The first hop was resolved in this run (a new stack, an empty neighbour cache), and only after the header.
            Assert.True(recorder.ResolutionAnswers >= 1, $"the gateway's ARP reply / neighbor advertisement was never read:\n{text}");
            Assert.True(at.ResolutionRequests == 0, $"the first hop's link-layer address was asked for before the header:\n{text}\n{recorder.Events}");
            Assert.True(recorder.ResolutionRequests >= 1, $"the first hop's link-layer address was never asked for:\n{text}\n{recorder.Events}");
            Assert.True(recorder.DadSolicitations == 0, $"{recorder.DadSolicitations} duplicate address detection solicitations sent");
            times.Add(at.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        string report = string.Create(CultureInfo.InvariantCulture, $"{target}: header after {string.Join(", ", times.Select(t => t.ToString("F1", CultureInfo.InvariantCulture)))} ms (in process, from RunAsync)");
        log.WriteLine(report);
        // A wait that creeps back in (DAD, ARP/NDP: 1 s or more) shows in every run: the median stays under it. The
        // fastest run shows what the start costs when the loaded machine gives the process its turn.
        Assert.True(times[2] <= 900, report);
        Assert.True(times[0] <= 200, report);
    }

    /// <summary>Counts, as they pass, the first hop's resolution answers read and the DAD solicitations sent.</summary>
    private sealed class StartRecorder(INetDevice inner, IpAddress gateway) : NetDeviceDecorator(inner)
    {
        private int _answers, _requests, _dad;
        private readonly StringBuilder _events = new();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        public int ResolutionAnswers => Volatile.Read(ref _answers);
        public int ResolutionRequests => Volatile.Read(ref _requests);
        public string Events { get { lock (_events) return _events.ToString(); } }

        public void Note(string what)
        {
            lock (_events) _events.Append(CultureInfo.InvariantCulture, $"{_clock.Elapsed.TotalMilliseconds,9:F3} ms {what}\n");
        }
        public int DadSolicitations => Volatile.Read(ref _dad);

        public override bool TryReceive(Span<byte> buffer, Instant now, out int length, out FrameReceiveInfo info)
        {
            if (!base.TryReceive(buffer, now, out length, out info)) return false;
            var frame = buffer[..length];
            bool answer = gateway.IsV4
                ? TestFrames.ParseArp(frame) is { Op: TestFrames.ArpReply } a && a.Spa == gateway.V4
                : TestFrames.ParseNeighborAdvertisementTarget(frame) == gateway.V6;
            if (answer)
            {
                Interlocked.Increment(ref _answers);
                Note("read the first hop's resolution answer");
            }
            return true;
        }

        public override void Transmit(ReadOnlySpan<byte> frame, Instant now)
        {
            // RFC 4862 §5.4.2: a DAD probe is a neighbor solicitation from the unspecified address.
            if (EthernetFrame.TryParse(frame, out var eth, out _) && eth.EtherType == EtherType.Ipv6)
            {
                var ip = eth.Payload;
                if (ip.Length >= 64 && ip[6] == 58 && ip[40] == 135)
                {
                    if (Ipv6Address.Read(ip[8..]) == Ipv6Address.Unspecified)
                    {
                        Interlocked.Increment(ref _dad);
                        Note("sent a DAD solicitation");
                    }
                    else if (!gateway.IsV4 && Ipv6Address.Read(ip[48..]) == gateway.V6)
                    {
                        Interlocked.Increment(ref _requests);
                        Note("sent a neighbor solicitation for the first hop");
                    }
                }
            }
            else if (gateway.IsV4 && TestFrames.ParseArp(frame) is { Op: TestFrames.ArpRequest } a && a.Tpa == gateway.V4)
            {
                Interlocked.Increment(ref _requests);
                Note("sent an ARP request for the first hop");
            }
            else
            {
                Note($"sent a frame of {frame.Length} bytes");
            }
            base.Transmit(frame, now);
        }
    }

    /// <summary>Records, when the header's text is complete, the time and what the device had sent by then.</summary>
    private sealed class HeaderWatch(Func<StartRecorder> device, Stopwatch clock) : TextWriter
    {
        private readonly StringBuilder _text = new();
        public (TimeSpan Elapsed, int ResolutionRequests)? AtHeader { get; private set; }
        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_text)
            {
                _text.Append(value);
                // Linux traceroute 2.1 prints its header without the line's end ("Note, without ending new-line!") and
                // flushes it; the new-line comes with the first hop's number. So does ours: the header is its text.
                if (AtHeader is null && value == 's' && _text.ToString().EndsWith(" byte packets", StringComparison.Ordinal))
                {
                    AtHeader = (clock.Elapsed, device().ResolutionRequests);
                    device().Note("header written");
                }
            }
        }

        public override void Write(string? value)
        {
            foreach (char c in value ?? "") Write(c);
        }

        public override string ToString()
        {
            lock (_text) return _text.ToString();
        }
    }
}
