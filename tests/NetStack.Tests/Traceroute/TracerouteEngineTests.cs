using NetStack.Samples.Traceroute;
using NetStack.Wire;

namespace NetStack.Tests.Traceroute;

/// <summary>The scheduler and the Linux traceroute 2.1 output format, against a scripted path (no stack involved).</summary>
public class TracerouteEngineTests
{
    /// <summary>A path of hops: each answers after its RTT, or never (null address).</summary>
    private sealed class ScriptedPath : IProbeSender
    {
        private readonly List<(Probe Probe, Instant At)> _pending = [];
        public required (string? Address, double RttMs, int Type, int Code, uint Info)[] Hops { get; init; }
        public TracerouteEngine? Engine { get; set; }
        public int HeaderLength => 28;
        public int Sent { get; private set; }

        public SendOutcome Send(Probe probe, int dataLength, Instant now, out int mtu)
        {
            mtu = 0;
            Sent++;
            var hop = Hops[Math.Min(probe.Ttl, Hops.Length) - 1];
            if (hop.Address is not null) _pending.Add((probe, now + TimeSpan.FromMilliseconds(hop.RttMs)));
            return SendOutcome.Sent;
        }

        public Instant Next => _pending.Count == 0 ? Instant.MaxValue : _pending.Min(p => p.At);

        public void Deliver(Instant now)
        {
            foreach (var (probe, at) in _pending.Where(p => p.At <= now).ToList())
            {
                _pending.Remove((probe, at));
                var hop = Hops[Math.Min(probe.Ttl, Hops.Length) - 1];
                Engine!.AnswerIcmp(probe, IpAddress.Parse(hop.Address!), at, 64 - probe.Ttl, hop.Type, hop.Code, hop.Info, null);
            }
        }
    }

    private static string Run(string[] args, ScriptedPath path)
    {
        var options = TracerouteOptions.Parse(args, out var error) ?? throw new InvalidOperationException(error);
        var output = new StringWriter();
        var engine = new TracerouteEngine(options, path, 32, null, output);
        path.Engine = engine;
        engine.WriteHeader(options.Host!, IpAddress.Parse("203.0.113.10"));
        var now = Instant.FromSeconds(1);
        for (int guard = 0; guard < 10_000 && !engine.IsComplete; guard++)
        {
            path.Deliver(now);
            var next = engine.Poll(now);
            if (engine.IsComplete) break;
            now = Instant.Min(next, path.Next);
        }
        Assert.True(engine.IsComplete);
        return output.ToString();
    }

    private static readonly (string?, double, int, int, uint) TimeExceeded1 = ("192.0.2.1", 1.5, 11, 0, 0);

    [Fact]
    public void Output_matches_linux_traceroute_format()
    {
        var path = new ScriptedPath
        {
            Hops =
            [
                ("198.51.100.1", 0.25, 11, 0, 0),
                (null, 0, 0, 0, 0),
                ("203.0.113.10", 2.0, 3, 3, 0),
            ],
        };
        var text = Run(["-n", "-w", "0.5", "demo"], path);
        Assert.Equal(
            "traceroute to demo (203.0.113.10), 30 hops max, 60 byte packets\n" +
            " 1  198.51.100.1  0.250 ms  0.250 ms  0.250 ms\n" +
            " 2  * * *\n" +
            " 3  203.0.113.10  2.000 ms  2.000 ms  2.000 ms\n", text);
    }

    [Theory]
    [InlineData(3, 1, 0u, "!H")]
    [InlineData(3, 0, 0u, "!N")]
    [InlineData(3, 13, 0u, "!X")]
    [InlineData(3, 2, 0u, "!P")]
    [InlineData(3, 4, 1400u, "!F-1400")]
    [InlineData(3, 5, 0u, "!S")]
    [InlineData(3, 14, 0u, "!V")]
    [InlineData(3, 15, 0u, "!C")]
    [InlineData(3, 21, 0u, "!<21>")]
    public void Unreachable_codes_are_annotated_as_linux_does_and_end_the_trace(int type, int code, uint info, string note)
    {
        var path = new ScriptedPath { Hops = [("198.51.100.1", 1, 11, 0, 0), ("192.0.2.9", 3, type, code, info)] };
        var text = Run(["-n", "-q", "1", "x"], path);
        Assert.EndsWith($" 2  192.0.2.9  3.000 ms {note}\n", text);
    }

    [Fact]
    public void Max_ttl_stops_the_trace_when_the_destination_never_answers()
    {
        var path = new ScriptedPath { Hops = [("198.51.100.1", 1, 11, 0, 0)] };
        var text = Run(["-n", "-m", "4", "-q", "2", "x"], path);
        Assert.Equal(5, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains(" 4  198.51.100.1  1.000 ms  1.000 ms\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void First_ttl_skips_the_near_hops()
    {
        var path = new ScriptedPath { Hops = [TimeExceeded1, TimeExceeded1, ("203.0.113.10", 2, 3, 3, 0)] };
        var text = Run(["-n", "-f", "3", "-q", "1", "x"], path);
        Assert.Equal("traceroute to x (203.0.113.10), 30 hops max, 60 byte packets\n 3  203.0.113.10  2.000 ms\n", text);
    }

    [Fact]
    public void A_plain_wait_turns_adaptation_off_and_here_factor_shortens_waits()
    {
        var o = TracerouteOptions.Parse(["-w", "2", "h"], out _)!;
        Assert.Equal((2.0, 0.0, 0.0), (o.WaitMax, o.WaitHere, o.WaitNear));
        o = TracerouteOptions.Parse(["-w5,3,10", "h"], out _)!;
        Assert.Equal((5.0, 3.0, 10.0), (o.WaitMax, o.WaitHere, o.WaitNear));
    }

    [Fact]
    public void Options_are_validated_with_linux_messages()
    {
        Assert.Null(TracerouteOptions.Parse(["-q", "11", "h"], out var e));
        Assert.Equal("no more than 10 probes per hop", e);
        Assert.Null(TracerouteOptions.Parse(["-m", "300", "h"], out e));
        Assert.Equal("max hops cannot be more than 255", e);
        Assert.Null(TracerouteOptions.Parse(["-f", "5", "-m", "4", "h"], out e));
        Assert.Equal("first hop out of range", e);
        var o = TracerouteOptions.Parse(["-nI", "-z", "50", "--mtu", "h", "1400"], out _)!;
        Assert.True(o.NoResolve && o.MtuDiscovery && o.DontFragment);
        Assert.Equal(ProbeMethod.Icmp, o.Method);
        Assert.Equal(0.05, o.SendWait, 6);
        Assert.Equal(1, o.SimultaneousProbes);
        Assert.Equal(1400, o.PacketLength);
    }

    [Fact]
    public void Address_is_printed_again_only_when_it_changes_within_a_line()
    {
        int n = 0;
        var path = new AlternatingPath(() => n++ % 2 == 0 ? "192.0.2.5" : "192.0.2.9");
        var text = RunAlternating(path);
        Assert.Contains(" 1  192.0.2.5  1.000 ms 192.0.2.9  1.000 ms 192.0.2.5  1.000 ms\n", text, StringComparison.Ordinal);
    }

    private sealed class AlternatingPath(Func<string> next) : IProbeSender
    {
        public readonly List<Probe> Sent = [];
        public int HeaderLength => 28;
        public SendOutcome Send(Probe probe, int dataLength, Instant now, out int mtu)
        {
            mtu = 0;
            Sent.Add(probe);
            return SendOutcome.Sent;
        }
        public string Next() => next();
    }

    private static string RunAlternating(AlternatingPath path)
    {
        var options = TracerouteOptions.Parse(["-n", "-m", "1", "x"], out _)!;
        var output = new StringWriter();
        var engine = new TracerouteEngine(options, path, 32, null, output);
        engine.WriteHeader("x", IpAddress.Parse("203.0.113.10"));
        var now = Instant.FromSeconds(1);
        engine.Poll(now);
        foreach (var p in path.Sent.ToList())
            engine.AnswerIcmp(p, IpAddress.Parse(path.Next()), now + TimeSpan.FromMilliseconds(1), 63, 11, 0, 0, null);
        engine.Poll(now + TimeSpan.FromMilliseconds(1));
        return output.ToString();
    }
}
