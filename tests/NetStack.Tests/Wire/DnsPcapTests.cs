using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>Our DNS view against tshark on third-party captures (pcaps/MANIFEST.tsv gives their sources).</summary>
public class DnsPcapTests
{
    [Theory]
    [InlineData("cs-dns_query_response.pcapng")]
    [InlineData("tcpdump-dns_udp.pcap")]
    public void Decoded_fields_agree_with_tshark(string capture)
    {
        string path = DhcpPcapTests.PcapPath(capture);
        var expected = DhcpPcapTests.Tshark(path, "dns.id", "dns.flags.response", "dns.flags.rcode", "dns.qry.name", "dns.qry.type",
            "dns.count.answers", "dns.a", "dns.aaaa", "dns.cname", "dns.resp.ttl");
        var frames = DhcpPcapTests.UdpPayloads(path);
        Assert.Equal(expected.Count, frames.Count);
        Assert.NotEmpty(frames);
        for (int i = 0; i < frames.Count; i++)
        {
            Assert.True(DnsMessage.TryParse(frames[i], out var m, out var e), $"frame {i + 1}: {e}");
            var t = expected[i];
            Assert.Equal(Convert.ToUInt16(t[0], 16), m.Id);
            Assert.Equal(t[1] is "1" or "True", m.IsResponse);
            // tshark shows the rcode of responses only.
            Assert.Equal(t[2], m.IsResponse ? ((int)m.Rcode).ToString(System.Globalization.CultureInfo.InvariantCulture) : "");
            var names = new List<string>();
            var types = new List<string>();
            foreach (var q in m.Questions) { names.Add(q.Name.ToString()); types.Add(((int)q.Type).ToString(System.Globalization.CultureInfo.InvariantCulture)); }
            Assert.Equal(t[3], string.Join(',', names));
            Assert.Equal(t[4], string.Join(',', types));
            Assert.Equal(t[5], m.AnswerCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var a = new List<string>();
            var aaaa = new List<string>();
            var cname = new List<string>();
            var ttl = new List<string>();
            foreach (var r in m.Records)
            {
                if (r.TryGetA(out var v4)) a.Add(v4.ToString());
                if (r.TryGetAaaa(out var v6)) aaaa.Add(v6.ToString());
                if (r.Type == DnsType.CNAME && r.TryGetTargetName(out var c)) cname.Add(c.ToString());
                if (r.Type != DnsType.OPT) ttl.Add(r.Ttl.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            Assert.Equal(t[6], string.Join(',', a));
            Assert.Equal(t[7], string.Join(',', aaaa));
            Assert.Equal(t[8], string.Join(',', cname));
            Assert.Equal(t[9], string.Join(',', ttl));
        }
    }
}
