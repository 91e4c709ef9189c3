using NetStack.Link;
using NetStack.Tap.Native;
using NetStack.Wire;
using SharpPcap;
using SharpPcap.LibPcap;

namespace NetStack.Tap;

/// <summary>
/// An existing Ethernet interface (a veth end, a NIC) used through libpcap (SharpPcap): frames are
/// captured without blocking and sent with <c>pcap_sendpacket</c>.
/// <para>
/// Only frames the interface receives are delivered: the capture direction is set to "in" and, should
/// libpcap still echo our own transmissions, frames whose source is <see cref="HardwareAddress"/> are skipped.
/// When <see cref="HardwareAddress"/> differs from the interface's MAC the interface is opened promiscuous.
/// </para>
/// <para>
/// Not for TAP interfaces: on a TAP pcap sees both directions and its sends come back to the TAP's own
/// reader rather than to the kernel. TAP users should use <see cref="TapDevice"/>.
/// </para>
/// </summary>
public sealed class PcapLiveDevice : INetDevice, IWaitableDevice, IDisposable
{
    private readonly LibPcapLiveDevice _device;
    private readonly int _selectableFd;
    private readonly bool _directionIn;
    private bool _disposed;

    /// <summary>Opens interface <paramref name="interfaceName"/> (which must exist and be up).</summary>
    /// <param name="interfaceName">e.g. "veth0".</param>
    /// <param name="hardwareAddress">The stack's MAC; null uses the interface's own.</param>
    /// <param name="mtu">The link MTU the stack should assume (1500 by default).</param>
    public PcapLiveDevice(string interfaceName, MacAddress? hardwareAddress = null, int mtu = 1500)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        LibPcapLiveDevice? found;
        try
        {
            found = LibPcapLiveDeviceList.New().FirstOrDefault(d => d.Name == interfaceName);
        }
        catch (Exception ex) when (ex is DllNotFoundException or PcapException or TypeInitializationException)
        {
            throw new TapException(TapErrorKind.DriverMissing, $"libpcap is not usable ({ex.Message}); install libpcap0.8 and libpcap0.8-dev");
        }
        _device = found ?? throw new TapException(TapErrorKind.NotFound, $"pcap: interface '{interfaceName}' not found");

        var interfaceMac = _device.MacAddress is { } pa && pa.GetAddressBytes().Length == 6 ? MacAddress.Read(pa.GetAddressBytes()) : MacAddress.Zero;
        HardwareAddress = hardwareAddress ?? interfaceMac;
        Mtu = mtu;
        Name = interfaceName;
        try
        {
            _device.Open(new DeviceConfiguration
            {
                Mode = HardwareAddress != interfaceMac ? DeviceModes.Promiscuous : DeviceModes.None,
                Immediate = true,
                Snaplen = 65535,
                ReadTimeout = 1,
            });
            _device.NonBlockingMode = true;
        }
        catch (PcapException ex)
        {
            throw new TapException(ex.Message.Contains("permission", StringComparison.OrdinalIgnoreCase) ? TapErrorKind.NotPermitted : TapErrorKind.SystemError,
                $"pcap: opening '{interfaceName}' failed: {ex.Message.Split('\n')[0]}");
        }

        nint handle = _device.Handle.DangerousGetHandle();
        try
        {
            _directionIn = LibPcap.SetDirection(handle, LibPcap.PCAP_D_IN) == 0;
            _selectableFd = LibPcap.GetSelectableFd(handle);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            _selectableFd = -1; // no fd: StackHost polls this device on its fallback interval
        }
    }

    /// <summary>The libpcap name of the interface.</summary>
    public string Name { get; }

    /// <inheritdoc/>
    public Medium Medium => Medium.Ethernet;

    /// <inheritdoc/>
    public int Mtu { get; }

    /// <inheritdoc/>
    public int MaxFrameSize => Mtu + 14 + 2 * 4;

    /// <inheritdoc/>
    public MacAddress HardwareAddress { get; }

    /// <summary>True when libpcap agreed to capture received frames only.</summary>
    public bool CapturesInboundOnly => _directionIn;

    /// <summary>Frames skipped because they carried our own source address (an echo of our transmissions).</summary>
    public long EchoesSkipped { get; private set; }

    /// <summary>Frames pcap_sendpacket refused.</summary>
    public long TransmitDrops { get; private set; }

    /// <summary>Captured frames larger than the caller's buffer (dropped).</summary>
    public long OversizeDrops { get; private set; }

    /// <summary>The capture handle's selectable file descriptor, for the loop to wait on.</summary>
    public int FileDescriptor => _disposed ? -1 : _selectableFd;

    /// <summary>Plain frames, and pcap's selectable descriptor to wait on.</summary>
    public DeviceCapabilities Capabilities => DeviceCapabilities.Basic(this) with { WaitHandle = DeviceWaitHandle.FromFileDescriptor(FileDescriptor) };

    /// <inheritdoc/>
    public bool TryReceive(Span<byte> buffer, Instant now, out int length)
    {
        length = 0;
        if (_disposed) return false;
        while (_device.GetNextPacket(out PacketCapture capture) == GetPacketStatus.PacketRead)
        {
            ReadOnlySpan<byte> data = capture.Data;
            if (data.Length >= 12 && MacAddress.Read(data[6..]) == HardwareAddress) { EchoesSkipped++; continue; }
            if (data.Length > buffer.Length) { OversizeDrops++; continue; }
            data.CopyTo(buffer);
            length = data.Length;
            return true;
        }
        return false;
    }

    /// <inheritdoc/>
    public void Transmit(ReadOnlySpan<byte> frame, Instant now)
    {
        if (_disposed) { TransmitDrops++; return; }
        try { _device.SendPacket(frame); }
        catch (PcapException) { TransmitDrops++; }
    }

    /// <inheritdoc/>
    public override string ToString() => $"pcap {Name}";

    /// <summary>Closes the capture handle.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _device.Close();
    }
}
