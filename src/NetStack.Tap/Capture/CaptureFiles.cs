using NetStack.Simulation;

namespace NetStack.Wire;

/// <summary>
/// Capture files on disk. The core (NetStack) reads and writes captures over streams only and never opens a file; these
/// members, in the runtime assembly, add the file-opening faces to its types: <c>PcapFile.Open(path)</c> and
/// <c>ReplayDevice.FromFile(path, ...)</c>.
/// </summary>
public static class CaptureFiles
{
    extension(PcapFile)
    {
        /// <summary>Opens the capture file (pcap or pcapng) at <paramref name="path"/>.</summary>
        /// <exception cref="InvalidDataException">The file starts with neither a pcap file header nor a pcapng Section Header Block.</exception>
        public static IPcapReader Open(string path) => PcapFile.Open(File.OpenRead(path));
    }

    extension(ReplayDevice)
    {
        /// <summary>Loads a capture file (pcap or pcapng) into a <see cref="ReplayDevice"/>. The medium follows its link type.</summary>
        /// <exception cref="InvalidDataException">The file header is corrupt, a record is malformed, or the link type is not one the stack speaks.</exception>
        public static ReplayDevice FromFile(string path, Instant start, MacAddress hardwareAddress = default, int mtu = 1500,
            CapturedFrameFilter? filter = null)
        {
            using var reader = PcapFile.Open(File.OpenRead(path));
            return ReplayDevice.FromCapture(reader, start, hardwareAddress, mtu, filter, path);
        }
    }
}
