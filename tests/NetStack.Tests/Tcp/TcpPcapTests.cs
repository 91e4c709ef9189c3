using System.Diagnostics;
using System.Globalization;
using NetStack.Wire;
using SharpPcap;
using SharpPcap.LibPcap;

namespace NetStack.Tests.Tcp;

/// <summary>Our TCP view agrees with tshark on real captures (fields, options, checksum verdicts).</summary>
public sealed class TcpPcapTests
{
    private static string PcapDir()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !Directory.Exists(Path.Combine(d.FullName, "pcaps"))) d = d.Parent;
        return Path.Combine(d?.FullName ?? throw new InvalidOperationException("pcaps/ not found"), "pcaps");
    }

    /// <summary>The TCP bytes and pseudo-header addresses of each frame (Ethernet or Linux SLL, IPv4 or IPv6), by frame number; test-private.</summary>
    private static Dictionary<int, (IpAddress Src, IpAddress Dst, byte[] Tcp)> ReadTcp(string path)
    {
        var result = new Dictionary<int, (IpAddress, IpAddress, byte[])>();
        using var dev = new CaptureFileReaderDevice(path);
        dev.Open();
        int frame = 0;
        while (dev.GetNextPacket(out PacketCapture pc) == GetPacketStatus.PacketRead)
        {
            frame++;
            var raw = pc.GetPacket();
            var data = raw.Data;
            int o;
            ushort type;
            if ((int)raw.LinkLayerType == 113) { o = 16; type = (ushort)(data[14] << 8 | data[15]); } // Linux SLL
            else
            {
                o = 14; type = (ushort)(data[12] << 8 | data[13]);
                while (type is 0x8100 or 0x88A8) { type = (ushort)(data[o + 2] << 8 | data[o + 3]); o += 4; }
            }
            if (type == 0x0800)
            {
                if (data[o + 9] != 6 || (data[o + 6] & 0x3F | data[o + 7]) != 0) continue; // TCP, not a fragment
                int ihl = (data[o] & 0xF) * 4;
                int total = data[o + 2] << 8 | data[o + 3];
                if (o + total > data.Length) continue;
                result[frame] = (Ipv4Address.Read(data.AsSpan(o + 12)), Ipv4Address.Read(data.AsSpan(o + 16)), data[(o + ihl)..(o + total)]);
            }
            else if (type == 0x86DD)
            {
                if (data[o + 6] != 6) continue;
                int plen = data[o + 4] << 8 | data[o + 5];
                if (o + 40 + plen > data.Length) continue;
                result[frame] = (Ipv6Address.Read(data.AsSpan(o + 8)), Ipv6Address.Read(data.AsSpan(o + 24)), data[(o + 40)..(o + 40 + plen)]);
            }
        }
        return result;
    }

    private static readonly string[] Files =
    [
        "zeek-tcp-option-sack.pcap",        // SACK blocks, 1 to 4
        "cs-tcp_handshake.pcapng",          // MSS, window scale, SACK-permitted
        "cs-tcp_dupack.pcapng",             // SACK with timestamps
        "cs-http_ip4and6.pcapng",           // IPv6 pseudo-header, frames with bad checksums
        "zeek-tcp-fin_retransmission.pcap", // timestamps
        "zeek-ip4-tcp-bad-chksum.pcap",     // a bad checksum
        "tcpdump-tcp-handshake-nano.pcap",  // Linux SLL link type
    ];

    // tshark starts slowly: run it for every capture at once, on first use.
    private static readonly Lazy<Dictionary<string, Task<List<string[]>>>> TsharkRuns = new(() =>
        Files.ToDictionary(f => f, f => Task.Run(() => Tshark(Path.Combine(PcapDir(), f)))));

    private static List<string[]> Tshark(string path)
    {
        var psi = new ProcessStartInfo("tshark")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "-r", path, "-o", "tcp.relative_sequence_numbers:FALSE", "-o", "tcp.check_checksum:TRUE", "-o", "tcp.analyze_sequence_numbers:FALSE",
            "-Y", "(tcp && ip.flags.mf == 0 && ip.frag_offset == 0) || (tcp && ipv6)", "-T", "fields", "-E", "separator=|",
            "-e", "frame.number", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.seq_raw", "-e", "tcp.ack_raw", "-e", "tcp.hdr_len",
            "-e", "tcp.flags", "-e", "tcp.window_size_value", "-e", "tcp.checksum", "-e", "tcp.urgent_pointer", "-e", "tcp.options.mss_val",
            "-e", "tcp.options.wscale.shift", "-e", "tcp.options.sack_perm", "-e", "tcp.options.timestamp.tsval", "-e", "tcp.options.timestamp.tsecr",
            "-e", "tcp.options.sack_le", "-e", "tcp.options.sack_re", "-e", "tcp.len", "-e", "tcp.checksum.status" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var lines = new List<string[]>();
        string? line;
        while ((line = p.StandardOutput.ReadLine()) is not null) if (line.Length > 0) lines.Add(line.Split('|'));
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return lines;
    }

    private static uint U(string s) => s.StartsWith("0x", StringComparison.Ordinal)
        ? uint.Parse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
        : uint.Parse(s, CultureInfo.InvariantCulture);

    public static TheoryData<string> Captures() => new(Files);

    [Theory]
    [MemberData(nameof(Captures))]
    public async Task Fields_agree_with_tshark(string file)
    {
        string path = Path.Combine(PcapDir(), file);
        var frames = ReadTcp(path);
        var rows = await TsharkRuns.Value[file];
        Assert.NotEmpty(rows);
        int compared = 0;
        foreach (var f in rows)
        {
            int n = int.Parse(f[0], CultureInfo.InvariantCulture);
            if (!frames.TryGetValue(n, out var fr)) continue;
            Assert.True(TcpSegment.TryParse(fr.Tcp, out var seg, out var err), $"{file} frame {n}: {err}");
            var r = seg.ToRepr();
            string at = $"{file} frame {n}";
            Assert.True(U(f[1]) == seg.SourcePort, at);
            Assert.True(U(f[2]) == seg.DestinationPort, at);
            Assert.True(U(f[3]) == seg.SequenceNumber.Value, at);
            Assert.True(U(f[4]) == seg.AckNumber.Value, at);
            Assert.True(U(f[5]) == seg.HeaderSize, at);
            Assert.True(U(f[6]) == ((uint)seg.Flags & 0x1FF), at);
            Assert.True(U(f[7]) == seg.Window, at);
            Assert.True(U(f[8]) == seg.Checksum, at);
            Assert.True(U(f[9]) == seg.UrgentPointer, at);
            Assert.True(f[10].Length == 0 ? r.Mss is null : U(f[10]) == r.Mss, at + " mss");
            Assert.True(f[11].Length == 0 ? r.WindowScale is null : U(f[11]) == r.WindowScale, at + " wscale");
            Assert.True((f[12].Length > 0) == r.SackPermitted, at + " sack-perm");
            Assert.True(f[13].Length == 0 ? r.Timestamps is null : U(f[13]) == r.Timestamps!.Value.Value, at + " tsval");
            Assert.True(f[14].Length == 0 ? r.Timestamps is null : U(f[14]) == r.Timestamps!.Value.Echo, at + " tsecr");
            var le = f[15].Length == 0 ? [] : f[15].Split(',').Select(U).ToArray();
            var re = f[16].Length == 0 ? [] : f[16].Split(',').Select(U).ToArray();
            Assert.True(le.Length == r.SackBlocks.Count, at + " sack count");
            for (int i = 0; i < le.Length; i++)
            {
                Assert.True(le[i] == r.SackBlocks[i].Left.Value, at + " sack le");
                Assert.True(re[i] == r.SackBlocks[i].Right.Value, at + " sack re");
            }
            Assert.True(U(f[17]) == seg.Payload.Length, at + " len");
            // tcp.checksum.status: 1 good, 0 bad (2 unverified).
            if (f[18] is "0" or "1") Assert.True((f[18] == "1") == seg.VerifyChecksum(fr.Src, fr.Dst), at + " checksum");
            compared++;
        }
        Assert.True(compared > 0, $"{file}: no frame compared");
    }
}
