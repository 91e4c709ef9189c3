using NetStack.Wire;

namespace NetStack.Network.Ipv6;

internal sealed partial class Ipv6Layer
{
    /// <summary>IPv6 header, Hop-by-Hop Router Alert header and the MLDv2 report header before the records.</summary>
    private const int MldReportOverhead = Ipv6Packet.HeaderLength + 8 + 8;

    /// <summary>Joins <paramref name="group"/> for any source (reference counted); the report goes out on the next poll.
    /// False when there is no such interface or its group table is full (counted).</summary>
    public bool JoinGroup(int interfaceIndex, Ipv6Address group, Instant now)
    {
        if (InterfaceAt(interfaceIndex) is not { } ifc) return false;
        if (ifc.Mld.Join(group, now)) return true;
        _stats.Drop(DropReason.MldGroupTableFull);
        return false;
    }

    /// <summary>Leaves <paramref name="group"/> (reference counted; MLD reports the change when the last reference goes).
    /// False when it was not joined or there is no such interface.</summary>
    public bool LeaveGroup(int interfaceIndex, Ipv6Address group, Instant now) =>
        InterfaceAt(interfaceIndex) is { } ifc && ifc.Mld.Leave(group, now);

    /// <summary>
    /// Changes a socket-level source filter record of <paramref name="group"/> (RFC 3810 §3; the RFC 3678 operations, as
    /// for IPv4); the interface state change is reported on the next poll. Refusals are counted.
    /// </summary>
    public bool ChangeSourceFilter(int interfaceIndex, Ipv6Address group, Ipv6Address source, SourceFilterChange change, Instant now)
    {
        if (InterfaceAt(interfaceIndex) is not { } ifc) return false;
        var result = ifc.Mld.ChangeSource(change, group, source, now);
        if (result == FilterChangeResult.GroupTableFull) _stats.Drop(DropReason.MldGroupTableFull);
        else if (result == FilterChangeResult.SourceLimit) _stats.Drop(DropReason.MulticastSourceLimit);
        return result == FilterChangeResult.Done;
    }

    /// <summary>MLD input (RFC 3810 §5, §6, §8): queries drive our reports; MLDv1 reports from others suppress ours in v1 mode.</summary>
    private void HandleMld(Ipv6Interface ifc, in Ipv6Packet ip, ReadOnlySpan<byte> message, Instant now)
    {
        if (message[0] == (byte)Icmpv6Type.Mldv2Report) return; // reports of other listeners: routers' business
        if (!MldMessage.TryParse(message, out var mld, out _))
        {
            _stats.Drop(DropReason.MldInvalid);
            return;
        }
        // RFC 3810 §5.1.14 / §5.2.13 and RFC 2710 §3: link-local source (hop limit 1 is the sender's duty; we check the source).
        if (!ip.Source.IsLinkLocal)
        {
            _stats.Drop(DropReason.MldInvalid);
            return;
        }
        switch (mld.Type)
        {
            case Icmpv6Type.MulticastListenerQuery:
                var group = mld.MulticastAddress;
                // RFC 3810 §6.2 / §7.1: a general query has the unspecified group; a group query names a multicast group.
                if (!group.IsUnspecified && !group.IsMulticast) { _stats.Drop(DropReason.MldInvalid); return; }
                bool v1 = !mld.IsVersion2Query;
                Span<Ipv6Address> sources = stackalloc Ipv6Address[Math.Min(mld.SourceCount, 64)];
                for (int i = 0; i < sources.Length; i++) sources[i] = mld.Source(i);
                ifc.Mld.OnQuery(group, TimeSpan.FromMilliseconds(mld.MaxResponseDelayMilliseconds), v1,
                    v1 ? 0 : mld.Qrv, v1 ? TimeSpan.Zero : TimeSpan.FromSeconds(mld.QueryIntervalSeconds), now, sources);
                break;
            case Icmpv6Type.MulticastListenerReport:
                ifc.Mld.OnV1ReportHeard(mld.MulticastAddress, now);
                break;
        }
    }

    /// <summary>Sends what the listener has due: MLDv2 records packed into reports to ff02::16, or MLDv1 messages.</summary>
    private void PollMld(Ipv6Interface ifc, Instant now)
    {
        _mldScratch.Clear();
        ifc.Mld.Poll(now, _mldScratch);
        if (_mldScratch.Count == 0) return;
        // RFC 3810 §5.2.13: a link-local source, or :: while no link-local address is valid yet.
        if (!ifc.TryGetUsableLinkLocal(out var src)) src = Ipv6Address.Unspecified;
        var records = new List<Mldv2RecordRepr>();
        // RFC 3810 §5.2.15: records that do not fit one report (sent unfragmented within the link MTU) go in further reports.
        int budget = ifc.LinkMtu - MldReportOverhead, used = 0;
        foreach (var m in _mldScratch)
        {
            switch (m.Kind)
            {
                case MldMessageKind.V2Record:
                    int length = GroupRecords.Length(16, m.Sources?.Length ?? 0, 0);
                    if (records.Count > 0 && used + length > budget) { SendMldv2Report(ifc, src, records, now); records.Clear(); used = 0; }
                    records.Add(new Mldv2RecordRepr(m.RecordType, m.Group, m.Sources ?? ReadOnlyMemory<Ipv6Address>.Empty, ReadOnlyMemory<byte>.Empty));
                    used += length;
                    break;
                case MldMessageKind.V1Report:
                    // RFC 2710 §3: a report goes to the group itself.
                    if (!src.IsUnspecified) SendMldv1(ifc, src, Icmpv6Type.MulticastListenerReport, m.Group, m.Group, now);
                    break;
                case MldMessageKind.V1Done:
                    if (!src.IsUnspecified) SendMldv1(ifc, src, Icmpv6Type.MulticastListenerDone, m.Group, Ipv6Address.AllRouters, now);
                    break;
            }
        }
        if (records.Count > 0) SendMldv2Report(ifc, src, records, now);
    }

    private void SendMldv2Report(Ipv6Interface ifc, Ipv6Address src, List<Mldv2RecordRepr> records, Instant now)
    {
        var repr = new Mldv2ReportRepr(records.ToArray());
        Span<byte> message = stackalloc byte[repr.BufferLength];
        repr.Write(message, src, Ipv6Address.AllMldv2Routers);
        SendMld(ifc, src, Ipv6Address.AllMldv2Routers, message, now);
    }

    private void SendMldv1(Ipv6Interface ifc, Ipv6Address src, Icmpv6Type type, Ipv6Address group, Ipv6Address dst, Instant now)
    {
        var repr = new Mldv1Repr(type, 0, group);
        Span<byte> message = stackalloc byte[repr.BufferLength];
        repr.Write(message, src, dst);
        SendMld(ifc, src, dst, message, now);
    }

    /// <summary>RFC 3810 §5: hop limit 1 and a Hop-by-Hop Router Alert option.</summary>
    private void SendMld(Ipv6Interface ifc, Ipv6Address src, Ipv6Address dst, ReadOnlySpan<byte> message, Instant now)
    {
        _stats.Icmpv6Sent++;
        SendPacket(ifc, dst, src, dst, IpProtocol.Icmpv6, message, 1, 0, 0, RouterAlertHopByHop, allowFragment: false, now);
    }
}
