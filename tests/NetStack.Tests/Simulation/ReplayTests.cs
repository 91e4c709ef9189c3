using NetStack.Link;
using NetStack.Simulation;
using NetStack.Tests.Support;
using NetStack.Wire;

namespace NetStack.Tests.Simulation;

public class ReplayTests
{
    private const ulong Seed = 1;

    [Fact]
    public void Replay_feeds_frames_at_their_capture_times_rebased_to_the_start()
    {
        var frames = PcapReplay.Read(CapturePaths.Get("cs-icmp_echo.pcapng"));
        var start = Instant.FromSeconds(10);
        var device = new ReplayDevice(frames, start);
        var buf = new byte[device.MaxFrameSize];
        Assert.Equal(start, device.NextArrival);
        for (int i = 0; i < frames.Count; i++)
        {
            var due = start + (frames[i].Timestamp - frames[0].Timestamp);
            Assert.Equal(due, device.NextArrival);
            if (due > start) Assert.False(device.TryReceive(buf, due - TimeSpan.FromMicroseconds(1), out _));
            Assert.True(device.TryReceive(buf, due, out int n));
            Assert.Equal(frames[i].Data, buf[..n]);
        }
        Assert.Equal(Instant.MaxValue, device.NextArrival);
    }

    [Fact]
    public void Filter_skips_frames_and_transmissions_are_recorded_with_now()
    {
        var frames = PcapReplay.Read(CapturePaths.Get("cs-arp_resolution.pcapng"));
        // Only the ARP request (broadcast) is fed.
        var device = new ReplayDevice(frames, Instant.Zero, filter: f => MacAddress.Read(f).IsBroadcast);
        Assert.Equal(1, device.Remaining);
        device.Transmit(new byte[] { 1, 2, 3 }, Instant.FromSeconds(3));
        Assert.Equal(Instant.FromSeconds(3), device.Transmitted[0].Timestamp);
    }

    [Fact]
    public void Capture_with_a_link_type_the_stack_does_not_speak_is_refused()
    {
        Assert.Throws<InvalidDataException>(() => ReplayDevice.FromFile(CapturePaths.Get("tcpdump-tcp-handshake-nano.pcap"), Instant.Zero));
    }

    [Fact]
    public void Echo_node_replay_matches_its_golden_capture()
    {
        var result = PcapReplay.Run("cs-icmp_echo.pcapng", (device, _) => new EchoNode(device), Seed);
        Assert.Equal(8, result.Transmitted.Count);
        PcapReplay.AssertMatchesGolden(result.Transmitted, "echo-cs-icmp_echo.pcap", Medium.Ethernet, Seed);
    }

    [Fact]
    public void Golden_mismatch_is_reported_per_field_and_per_byte_offset()
    {
        var result = PcapReplay.Run("cs-icmp_echo.pcapng", (device, _) => new EchoNode(device), Seed);
        var expected = result.Transmitted.ToList();
        var actual = expected.ToList();
        var changed = (byte[])actual[1].Data.Clone();
        changed[14 + 8]--; // IPv4 TTL of frame 2
        actual[1] = actual[1] with { Data = changed };
        actual.RemoveAt(7);
        var diff = PcapReplay.Compare(expected, actual, Medium.Ethernet);
        Assert.NotNull(diff);
        Assert.Contains("frame count: expected 8, actual 7", diff, StringComparison.Ordinal);
        Assert.Contains("--- frame 2 ---", diff, StringComparison.Ordinal);
        Assert.Contains("Time to Live", diff, StringComparison.Ordinal);
        Assert.Contains("offset 0x0016", diff, StringComparison.Ordinal);
        Assert.Contains("missing frame", diff, StringComparison.Ordinal);
        Assert.Null(PcapReplay.Compare(expected, expected, Medium.Ethernet));
    }
}
