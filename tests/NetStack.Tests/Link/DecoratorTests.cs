using NetStack.Composition;
using NetStack.Link;
using NetStack.Tap;
using NetStack.Tests.Simulation;
using NetStack.Wire;

namespace NetStack.Tests.Link;

/// <summary>
/// Devices compose (issue 11 item 5): a recorder and a fault injector wrapped around a device pass through everything it
/// offers (capabilities with offloads, wait handle and statistics; the per-frame receive info), and the runtime finds the
/// wait handle through the chain.
/// </summary>
public class DecoratorTests
{
    private sealed class Counters : IDeviceStatistics
    {
        public long FramesReceived => 1;
        public long BytesReceived => 2;
        public long FramesTransmitted => 3;
        public long BytesTransmitted => 4;
        public long TransmitDrops => 5;
    }

    /// <summary>A device with offloads and a descriptor, handing out frames with a virtio header.</summary>
    private sealed class OffloadingDevice(int fd) : ReceiveInfoDevice(new MacAddress(0x02_00_00_00_00_01), 65536 + 22)
    {
        public override DeviceCapabilities Capabilities { get; } = new()
        {
            Medium = Medium.Ethernet,
            Mtu = 1500,
            MaxFrameSize = 65536 + 22,
            Offloads = DeviceOffloads.ReceiveChecksum | DeviceOffloads.ReceiveTcp4 | DeviceOffloads.Tso4,
            GsoMaxSize = 65536,
            WaitHandle = DeviceWaitHandle.FromFileDescriptor(fd),
            Statistics = new Counters(),
        };
    }

    private static readonly FrameReceiveInfo Partial = new()
    {
        Virtio = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioGsoType.TcpV4, 54, 1448, 34, 16),
    };

    private static (OffloadingDevice Tap, FaultInjector Faults, PcapRecorder Recorder, MemoryStream Pcap) Chain(FaultProfile? receive = null)
    {
        var tap = new OffloadingDevice(fd: 42);
        var faults = new FaultInjector(tap, new SeededRandom(3), FaultProfile.None, receive ?? FaultProfile.None);
        var pcap = new MemoryStream();
        var recorder = new PcapRecorder(faults, pcap, leaveOpen: true);
        return (tap, faults, recorder, pcap);
    }

    [Fact]
    public void Recorder_over_fault_injector_offers_the_inner_devices_capabilities()
    {
        var (tap, _, recorder, _) = Chain();
        INetDevice outer = recorder;
        Assert.Same(tap.Capabilities, outer.Capabilities);
        Assert.True(outer.Capabilities.Has(DeviceOffloads.ReceiveChecksum | DeviceOffloads.ReceiveTcp4));
        Assert.Equal(65536, outer.Capabilities.GsoMaxSize);
        Assert.Equal(5, outer.Capabilities.Statistics!.TransmitDrops);
        Assert.Equal(tap.MaxFrameSize, outer.MaxFrameSize);
    }

    [Fact]
    public void The_runtime_finds_the_wait_descriptor_through_the_chain()
    {
        var (_, _, recorder, _) = Chain();
        Assert.Equal(42, StackHost.WaitDescriptor(recorder));
        using var host = new StackHost(new NetworkStack(), [recorder]);
        Assert.False(host.PollsOnInterval);
        using var plain = new StackHost(new NetworkStack(), [new RecordingDevice()]);
        Assert.True(plain.PollsOnInterval);
    }

    [Fact]
    public void Find_walks_the_chain_to_the_first_device_of_a_type()
    {
        var (tap, faults, recorder, _) = Chain();
        Assert.Same(tap, recorder.Find<OffloadingDevice>());
        Assert.Same(faults, recorder.Find<FaultInjector>());
        Assert.Same(recorder, recorder.Find<PcapRecorder>());
        Assert.Null(faults.Find<PcapRecorder>());
    }

    [Fact]
    public void The_receive_info_passes_through_recorder_and_fault_injector_and_the_recording_holds_the_bare_frame()
    {
        var (tap, _, recorder, pcap) = Chain();
        var frame = TestFrames.Make(new MacAddress(0x02_00_00_00_00_01), new MacAddress(0x02_00_00_00_00_02), 200);
        tap.Enqueue(frame, Partial);
        var buffer = new byte[recorder.MaxFrameSize];
        Assert.True(((INetDevice)recorder).TryReceive(buffer, Instant.Zero, out int n, out var info));
        Assert.Equal(frame, buffer[..n]);
        Assert.Equal(Partial, info);
        recorder.Flush();
        Assert.Equal(24 + 16 + frame.Length, pcap.Length); // pcap file header + one record header + the frame, no virtio header
    }

    [Fact]
    public void A_delayed_frame_keeps_its_receive_info()
    {
        var (tap, _, recorder, _) = Chain(new FaultProfile { Delay = TimeSpan.FromMilliseconds(5) });
        tap.Enqueue(TestFrames.Make(new MacAddress(1), new MacAddress(2), 100), Partial);
        var buffer = new byte[recorder.MaxFrameSize];
        INetDevice d = recorder;
        Assert.False(d.TryReceive(buffer, Instant.Zero, out _, out _));
        Assert.Equal(Instant.FromMilliseconds(5), recorder.NextArrival);
        Assert.True(d.TryReceive(buffer, Instant.FromMilliseconds(5), out _, out var info));
        Assert.Equal(Partial, info);
    }

    [Fact]
    public void A_corrupted_frame_loses_its_checksum_claim()
    {
        var (tap, _, recorder, _) = Chain(new FaultProfile { CorruptRate = 1.0 });
        tap.Enqueue(TestFrames.Make(new MacAddress(1), new MacAddress(2), 100), Partial);
        var buffer = new byte[recorder.MaxFrameSize];
        Assert.True(((INetDevice)recorder).TryReceive(buffer, Instant.Zero, out _, out var info));
        var v = Assert.NotNull(info.Virtio);
        Assert.False(v.NeedsChecksum);
        Assert.False(v.DataValid);
    }

    [Fact]
    public void A_plain_device_has_basic_capabilities_and_no_wait_handle()
    {
        INetDevice d = new RecordingDevice();
        Assert.Equal(DeviceOffloads.None, d.Capabilities.Offloads);
        Assert.Equal(DeviceWaitKind.None, d.Capabilities.WaitHandle.Kind);
        Assert.Equal(1518, d.Capabilities.MaxFrameSize);
        Assert.Equal(-1, StackHost.WaitDescriptor(d));
    }
}
