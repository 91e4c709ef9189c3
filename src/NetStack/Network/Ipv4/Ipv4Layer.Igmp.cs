using NetStack.Wire;

namespace NetStack.Network.Ipv4;

internal sealed partial class Ipv4Layer
{
    /// <summary>IPv4 header with the Router Alert option, and the IGMPv3 report header before the records.</summary>
    private const int IgmpReportOverhead = Ipv4Packet.MinHeaderLength + 4 + 8;

    /// <summary>RFC 3376 §4 / RFC 2236 §2: IGMP goes with TTL 1 and IP precedence Internetwork Control (TOS 0xc0).</summary>
    private const byte IgmpTos = 0xC0;

    /// <summary>RFC 2113 Router Alert (value 0: "router shall examine packet"), carried by every IGMP message we send.</summary>
    private static readonly byte[] RouterAlertOption = BuildRouterAlert();

    private readonly List<IgmpOutput> _igmpScratch = [];

    private static byte[] BuildRouterAlert()
    {
        var b = new byte[4];
        Wire.Ipv4Options.WriteRouterAlert(b);
        return b;
    }

    /// <summary>Joins <paramref name="group"/> on an interface (reference counted); the report goes out on the next poll.
    /// False when there is no such IPv4 interface, the address is not multicast, or the group table is full (counted).</summary>
    public bool JoinGroup(int interfaceIndex, Ipv4Address group, Instant now)
    {
        if (!group.IsMulticast || Interface(interfaceIndex) is not { } v4) return false;
        if (v4.Igmp.Join(group, now)) return true;
        _stats.Drop(DropReason.IgmpGroupTableFull);
        return false;
    }

    /// <summary>Leaves <paramref name="group"/> (reference counted; IGMP reports the change when the last reference goes).
    /// False when it was not joined.</summary>
    public bool LeaveGroup(int interfaceIndex, Ipv4Address group, Instant now) =>
        Interface(interfaceIndex) is { } v4 && v4.Igmp.Leave(group, now);

    /// <summary>
    /// Changes a socket-level source filter record of <paramref name="group"/> (RFC 3376 §3; the RFC 3678 operations:
    /// INCLUDE {<paramref name="source"/>} joined or left, <paramref name="source"/> blocked or unblocked in an any-source
    /// join's EXCLUDE record); the interface state change is reported on the next poll. Refusals are counted.
    /// </summary>
    public bool ChangeSourceFilter(int interfaceIndex, Ipv4Address group, Ipv4Address source, SourceFilterChange change, Instant now)
    {
        if (Interface(interfaceIndex) is not { } v4) return false;
        var result = v4.Igmp.ChangeSource(change, group, source, now);
        if (result == FilterChangeResult.GroupTableFull) _stats.Drop(DropReason.IgmpGroupTableFull);
        else if (result == FilterChangeResult.SourceLimit) _stats.Drop(DropReason.MulticastSourceLimit);
        return result == FilterChangeResult.Done;
    }

    /// <summary>IGMP input (RFC 3376 §5.2, §7; RFC 2236 §3): queries drive our reports; v1/v2 reports of others suppress ours.</summary>
    private void ReceiveIgmp(Ipv4Interface v4, in Ipv4Packet ip, Instant now)
    {
        var payload = ip.Payload;
        if (!payload.IsEmpty && payload[0] == (byte)IgmpType.V3MembershipReport) return; // other hosts' v3 reports: routers' business
        if (!IgmpMessage.TryParse(payload, out var msg, out _))
        {
            _stats.Drop(DropReason.IgmpInvalid);
            return;
        }
        // RFC 3376 §4.1.2 / RFC 2236 §2.3: the checksum covers the whole IGMP message.
        if (!msg.ChecksumValid)
        {
            _stats.Drop(DropReason.IgmpBadChecksum);
            return;
        }
        // RFC 3376 §4 / RFC 2236 §2: every IGMP message is sent with TTL 1; one that crossed a router is forged.
        if (ip.Ttl != 1)
        {
            _stats.Drop(DropReason.IgmpInvalid);
            return;
        }
        switch (msg.Type)
        {
            case IgmpType.MembershipQuery:
                ReceiveQuery(v4, ip, msg, now);
                break;
            case IgmpType.V1MembershipReport or IgmpType.V2MembershipReport:
                v4.Igmp.OnReportHeard(msg.Group, now);
                break;
        }
    }

    private void ReceiveQuery(Ipv4Interface v4, in Ipv4Packet ip, in IgmpMessage msg, Instant now)
    {
        var version = msg.QueryVersion;
        var group = msg.Group;
        // RFC 3376 §9.1: "Hosts SHOULD ignore v2 or v3 Queries without the Router-Alert option" and "SHOULD ignore v1, v2
        // or v3 General Queries sent to a multicast address other than 224.0.0.1". A group query names a multicast group.
        if ((version != IgmpQueryVersion.V1 && !HasRouterAlert(ip))
            || (group.IsUnspecified && ip.Destination != IgmpHost.AllSystems)
            || (!group.IsUnspecified && !group.IsMulticast))
        {
            _stats.Drop(DropReason.IgmpInvalid);
            return;
        }
        // RFC 3376 §9.1: a source list beyond what we keep is cut (the host records a limited number of sources).
        Span<Ipv4Address> sources = stackalloc Ipv4Address[Math.Min(msg.SourceCount, IgmpHost.MaxQuerySources)];
        for (int i = 0; i < sources.Length; i++) sources[i] = msg.Source(i);
        bool v3 = version == IgmpQueryVersion.V3;
        v4.Igmp.OnQuery(version, group, TimeSpan.FromMilliseconds(100L * msg.MaxResponseTenths),
            v3 ? msg.Qrv : 0, v3 ? TimeSpan.FromSeconds(msg.QueryIntervalSeconds) : TimeSpan.Zero, now, sources);
    }

    private static bool HasRouterAlert(in Ipv4Packet ip)
    {
        if (ip.HeaderLength == Ipv4Packet.MinHeaderLength) return false;
        foreach (var option in ip.EnumerateOptions())
            if (option.Type == Wire.Ipv4OptionType.RouterAlert) return true;
        return false;
    }

    /// <summary>Sends what the interface's IGMP host has due: v3 records packed into reports to 224.0.0.22, or v1/v2 messages.</summary>
    private void PollIgmp(Ipv4Interface v4, Instant now)
    {
        _igmpScratch.Clear();
        v4.Igmp.Poll(now, _igmpScratch);
        if (_igmpScratch.Count == 0) return;
        // RFC 3376 §4.2.13: "a valid IP source address for the destination subnet" (the interface's own, else any of
        // ours, as Linux); 0.0.0.0 "may be used by a system that has not yet acquired an IP address" (SendDatagram).
        if (!Addresses.TryGetPrimary(v4.Index, out var source)) source = Ipv4Address.Any;
        List<Igmpv3GroupRecordRepr>? records = null;
        // RFC 3376 §4.2.16: records that do not fit one report (the interface MTU, at least 576) go in further reports.
        int budget = Math.Max(v4.Link.Mtu, 576) - IgmpReportOverhead, used = 0;
        foreach (var m in _igmpScratch)
        {
            switch (m.Kind)
            {
                case IgmpMessageKind.V3Record:
                    int length = GroupRecords.Length(4, m.Sources?.Length ?? 0, 0);
                    if (records is { Count: > 0 } && used + length > budget) { SendIgmpv3Report(v4, source, records, now); records.Clear(); used = 0; }
                    (records ??= []).Add(new Igmpv3GroupRecordRepr(m.RecordType, m.Group, m.Sources ?? ReadOnlyMemory<Ipv4Address>.Empty, default));
                    used += length;
                    break;
                case IgmpMessageKind.V1Report:
                    // RFC 1112 Appendix I: a report goes to the group it reports.
                    SendIgmpV2(v4, source, new IgmpRepr(IgmpType.V1MembershipReport, 0, m.Group), m.Group, now);
                    break;
                case IgmpMessageKind.V2Report:
                    // RFC 2236 §3: a report goes to the group it reports.
                    SendIgmpV2(v4, source, new IgmpRepr(IgmpType.V2MembershipReport, 0, m.Group), m.Group, now);
                    break;
                case IgmpMessageKind.V2Leave:
                    // RFC 2236 §3: Leave Group goes to the all-routers group.
                    SendIgmpV2(v4, source, new IgmpRepr(IgmpType.V2LeaveGroup, 0, m.Group), IgmpHost.AllRouters, now);
                    break;
            }
        }
        if (records is { Count: > 0 }) SendIgmpv3Report(v4, source, records, now);
    }

    private void SendIgmpv3Report(Ipv4Interface v4, Ipv4Address source, List<Igmpv3GroupRecordRepr> records, Instant now)
    {
        var repr = new Igmpv3ReportRepr(records.ToArray());
        Span<byte> message = stackalloc byte[repr.BufferLength];
        repr.Write(message);
        SendIgmp(v4, source, IgmpHost.AllIgmpv3Routers, message, now);
    }

    private void SendIgmpV2(Ipv4Interface v4, Ipv4Address source, in IgmpRepr repr, Ipv4Address destination, Instant now)
    {
        Span<byte> message = stackalloc byte[IgmpMessage.Length];
        repr.Write(message);
        SendIgmp(v4, source, destination, message, now);
    }

    /// <summary>RFC 3376 §4 / RFC 2236 §2: TTL 1, precedence Internetwork Control and the Router Alert option (RFC 2113).</summary>
    private void SendIgmp(Ipv4Interface v4, Ipv4Address source, Ipv4Address destination, ReadOnlySpan<byte> message, Instant now)
    {
        _stats.IgmpSent++;
        SendDatagram(source, destination, IpProtocol.Igmp, message, 1, IgmpTos, dontFragment: false, v4.Index, now, RouterAlertOption);
    }
}
