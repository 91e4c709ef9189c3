using System.Globalization;
using NetStack.Tests.Wire;
using NetStack.Wire;

namespace NetStack.Tests.Ipv4;

/// <summary>
/// The fields our IGMP views decode agree with tshark, frame by frame, on pcaps/gen-linux-igmp.pcap: Linux's own
/// IGMPv3, v2 and v1 reports and v2 leave (force_igmp_version), with IGMPv3 general and group-and-source queries and an
/// IGMPv2 query from scapy (pcaps/MANIFEST.tsv).
/// </summary>
public sealed class IgmpTsharkAgreementTests
{
    private const string Capture = "gen-linux-igmp.pcap";

    private static readonly string[] Fields =
        ["igmp.version", "igmp.type", "igmp.max_resp", "igmp.checksum.status", "igmp.maddr", "igmp.s", "igmp.qrv", "igmp.qqic",
         "igmp.num_src", "igmp.num_grp_recs", "igmp.record_type", "igmp.saddr"];

    [Fact]
    public void Igmp_fields_agree_with_tshark()
    {
        var frames = Ipv6TestCaptures.ReadFrames(Capture);
        var lines = Ipv6TestCaptures.Tshark(Capture, Fields);
        Assert.Equal(8, frames.Count);
        Assert.Equal(frames.Count, lines.Count);
        for (int i = 0; i < frames.Count; i++)
        {
            var ours = Decode(frames[i]);
            var theirs = lines[i].Split('\t');
            for (int f = 0; f < Fields.Length; f++)
                Assert.True(theirs[f] == (ours.TryGetValue(Fields[f], out var v) ? Ipv6TestCaptures.Join(v) : ""),
                    $"frame {i + 1} {Fields[f]}: tshark '{theirs[f]}', ours '{(ours.TryGetValue(Fields[f], out var w) ? Ipv6TestCaptures.Join(w) : "")}'");
        }
    }

    private static Dictionary<string, List<string>> Decode(byte[] frame)
    {
        var d = new Dictionary<string, List<string>>();
        void Add(string field, object value) =>
            (d.TryGetValue(field, out var l) ? l : d[field] = []).Add(Convert.ToString(value, CultureInfo.InvariantCulture)!);
        Assert.True(EthernetFrame.TryParse(frame, out var eth, out _));
        Assert.True(Ipv4Packet.TryParse(eth.Payload, out var ip, out _));
        Assert.Equal(IpProtocol.Igmp, ip.Protocol);
        var payload = ip.Payload;
        if (payload[0] == (byte)IgmpType.V3MembershipReport)
        {
            Assert.True(Igmpv3Report.TryParse(payload, out var r, out var e), e.ToString());
            Add("igmp.version", 3);
            Add("igmp.type", (int)IgmpType.V3MembershipReport);
            Add("igmp.checksum.status", r.ChecksumValid ? 1 : 0);
            Add("igmp.num_grp_recs", r.RecordCount);
            foreach (var rec in r.Records)
            {
                Add("igmp.record_type", (int)rec.RecordType);
                Add("igmp.num_src", rec.SourceCount);
                Add("igmp.maddr", rec.Group);
                for (int k = 0; k < rec.SourceCount; k++) Add("igmp.saddr", rec.Source(k));
            }
            return d;
        }
        Assert.True(IgmpMessage.TryParse(payload, out var m, out var err), err.ToString());
        int version = m.Type switch
        {
            IgmpType.V1MembershipReport => 1,
            IgmpType.V2MembershipReport or IgmpType.V2LeaveGroup => 2,
            _ => (int)m.QueryVersion,
        };
        Add("igmp.version", version);
        Add("igmp.type", (int)m.Type);
        if (m.Type != IgmpType.V1MembershipReport) Add("igmp.max_resp", m.MaxResponseCode);
        Add("igmp.checksum.status", m.ChecksumValid ? 1 : 0);
        Add("igmp.maddr", m.Group);
        if (m.QueryVersion == IgmpQueryVersion.V3)
        {
            Add("igmp.s", m.SuppressRouterSideProcessing ? 1 : 0);
            Add("igmp.qrv", m.Qrv);
            Add("igmp.qqic", m.QueryIntervalSeconds);
            Add("igmp.num_src", m.SourceCount);
            for (int k = 0; k < m.SourceCount; k++) Add("igmp.saddr", m.Source(k));
        }
        return d;
    }
}
