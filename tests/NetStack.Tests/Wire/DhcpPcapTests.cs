using System.Buffers.Binary;
using System.Diagnostics;
using NetStack.Wire;
using SharpPcap;
using SharpPcap.LibPcap;

namespace NetStack.Tests.Wire;

/// <summary>Our DHCP view against tshark on a third-party capture (pcaps/MANIFEST.tsv gives its source).</summary>
public class DhcpPcapTests
{
    private const string Capture = "cs-dhcp_nolease_initialization.pcapng";

    [Fact]
    public void Decoded_fields_agree_with_tshark()
    {
        string path = PcapPath(Capture);
        var expected = Tshark(path, "dhcp.option.dhcp", "dhcp.id", "dhcp.ip.your", "dhcp.hw.mac_addr", "dhcp.option.subnet_mask",
            "dhcp.option.router", "dhcp.option.domain_name_server", "dhcp.option.ip_address_lease_time", "dhcp.option.dhcp_server_id",
            "dhcp.option.requested_ip_address", "dhcp.flags.bc");
        var frames = UdpPayloads(path);
        Assert.Equal(4, frames.Count);
        Assert.Equal(expected.Count, frames.Count);
        for (int i = 0; i < frames.Count; i++)
        {
            Assert.True(DhcpPacket.TryParse(frames[i], out var p, out var e), $"frame {i + 1}: {e}");
            var t = expected[i];
            Assert.Equal(t[0], ((byte)p.MessageType).ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(t[1], $"0x{p.TransactionId:x8}");
            Assert.Equal(t[2], p.YourAddress.ToString());
            Assert.Equal(t[3], p.ClientMac.ToString().ToLowerInvariant());
            Assert.Equal(t[4], p.SubnetMask?.ToString() ?? "");
            Assert.Equal(t[5], Join(p.Routers));
            Assert.Equal(t[6], Join(p.DnsServers));
            Assert.Equal(t[7], p.LeaseTime?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "");
            Assert.Equal(t[8], p.ServerIdentifier?.ToString() ?? "");
            Assert.Equal(t[9], p.RequestedAddress?.ToString() ?? "");
            Assert.Equal(t[10] is "1" or "True", p.IsBroadcast);
        }
    }

    [Fact]
    public void Capture_messages_rewritten_from_their_repr_keep_their_fields()
    {
        foreach (var payload in UdpPayloads(PcapPath(Capture)))
        {
            Assert.True(DhcpPacket.TryParse(payload, out var p, out _));
            var repr = p.ToRepr();
            var again = new byte[repr.BufferLength];
            repr.Write(again);
            Assert.True(DhcpPacket.TryParse(again, out var q, out _));
            Assert.Equal(repr, q.ToRepr() with { Routers = repr.Routers, DnsServers = repr.DnsServers, HostName = repr.HostName,
                DomainName = repr.DomainName, ParameterRequestList = repr.ParameterRequestList, ClientIdentifier = repr.ClientIdentifier });
            Assert.Equal(Join(p.DnsServers), Join(q.DnsServers));
            Assert.True(p.ParameterRequestList.SequenceEqual(q.ParameterRequestList));
            Assert.True(p.ClientIdentifier.SequenceEqual(q.ClientIdentifier));
        }
    }

    private static string Join(Ipv4AddressList l)
    {
        var parts = new string[l.Count];
        for (int i = 0; i < l.Count; i++) parts[i] = l[i].ToString();
        return string.Join(',', parts);
    }

    internal static string PcapPath(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "pcaps", name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException(name);
    }

    /// <summary>UDP payloads of the IPv4 frames of a capture, in order (a private helper: Ethernet / IPv4 / UDP by hand).</summary>
    internal static List<byte[]> UdpPayloads(string path)
    {
        var result = new List<byte[]>();
        using var device = new CaptureFileReaderDevice(path);
        device.Open();
        while (device.GetNextPacket(out PacketCapture capture) == GetPacketStatus.PacketRead)
        {
            var data = capture.GetPacket().Data;
            Assert.True(EthernetFrame.TryParse(data, out var eth, out _));
            Assert.Equal(EtherType.Ipv4, eth.EtherType);
            var ip = eth.Payload;
            int ihl = (ip[0] & 0xF) * 4;
            int total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
            Assert.Equal(17, ip[9]);
            var udp = ip[ihl..total];
            int udpLength = BinaryPrimitives.ReadUInt16BigEndian(udp[4..]);
            result.Add(udp[8..udpLength].ToArray());
        }
        return result;
    }

    /// <summary>One row per frame, one string per field (multiple values joined by commas).</summary>
    internal static List<string[]> Tshark(string path, params string[] fields)
    {
        var psi = new ProcessStartInfo("tshark") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-r", path, "-T", "fields", "-E", "separator=/t", "-E", "aggregator=," }) psi.ArgumentList.Add(a);
        foreach (var f in fields) { psi.ArgumentList.Add("-e"); psi.ArgumentList.Add(f); }
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
    }
}
