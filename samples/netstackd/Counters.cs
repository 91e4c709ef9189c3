using System.Globalization;
using System.Text;

namespace NetStack.Samples.Netstackd;

/// <summary>The exit summary: frames, per-protocol counters, drops by reason, TCP, faults, recording.</summary>
internal static class Counters
{
    /// <summary>Reads the counters (call on the loop, or once the stack is disposed).</summary>
    public static string Describe(NetstackdStack stack)
    {
        var s = stack.Stack.Statistics;
        var t = stack.Tcp.Stats;
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        sb.Append(ci, $"frames: rx={s.FramesReceived} tx={s.FramesTransmitted} rx_bytes={s.BytesReceived} tx_bytes={s.BytesTransmitted}\n");
        sb.Append(ci, $"ip: v4_rx={s.Ipv4PacketsReceived} v4_tx={s.Ipv4PacketsSent} v6_rx={s.Ipv6PacketsReceived} v6_tx={s.Ipv6PacketsSent} icmp_rx={s.IcmpReceived} icmp_tx={s.IcmpSent} icmpv6_rx={s.Icmpv6Received} icmpv6_tx={s.Icmpv6Sent} udp_rx={s.UdpReceived} udp_tx={s.UdpSent}\n");
        sb.Append(ci, $"tcp: segments_rx={t.SegmentsReceived} segments_tx={t.SegmentsSent} retransmissions={t.Retransmissions} fast_retransmits={t.FastRetransmits} timeouts={t.Timeouts} tail_loss_probes={t.TailLossProbes} resets_tx={t.ResetsSent} no_connection={t.NoConnection} bad_checksum={t.BadChecksum} malformed={t.Malformed} out_of_window={t.OutOfWindow} syn_cookies={t.SynCookiesSent} accept_overflows={t.AcceptQueueOverflows} accept_full_syn_drops={t.SynDroppedAcceptQueueFull} accept_overflow_resets={t.AcceptQueueOverflowResets} syn_budget_drops={t.SynDroppedRateLimited} proven_peer_syns={t.ProvenPeerSyns} reassembly_drops={t.ReassemblyDropped} dsacks_tx={t.DsacksSent} sacks_compressed={t.SacksCompressed} sacks_flushed={t.SacksFlushedForBlocks} rcvbuf_growths={t.ReceiveBufferGrowths} open={stack.Tcp.ConnectionCount}\n");
        sb.Append(ci, $"ndp: ra_inconsistent={s.RouterAdvertisementsInconsistent} ra_timers_ignored={s.RouterAdvertisementTimersIgnored} neighbors_unreachable={s.NeighborsUnreachable}\n");
        sb.Append(ci, $"drops: total={s.TotalDrops}");
        foreach (var (reason, count) in s.NonZeroDrops()) sb.Append(ci, $" {reason}={count}");
        // Dropped by the kernel SYN filter on the TAP before the stack saw them: not in the total above.
        long? kernelFiltered = stack.ReceiveThread?.FilterDrops ?? stack.SynFilter?.FilterDrops;
        if (kernelFiltered is { } kf) sb.Append(ci, $" kernel_syn_filter={kf}");
        if (stack.ReceiveThread is { } rt) sb.Append(ci, $"\nrxthread: queued={rt.FramesQueued} syns_shed={rt.SynsShed} ring_full_waits={rt.RingFullWaits} peak_backlog={rt.PeakBacklog} capacity={rt.Capacity} filter_level={rt.FilterLevel} filter_peak={rt.PeakFilterLevel} filter_updates={rt.FilterUpdates} filter_failures={rt.FilterFailures} filter_drops={rt.FilterDrops} proven_unnamed={rt.ProvenSourcesUnnamed}");
        if (stack.SynFilter is { } sf) sb.Append(ci, $"\nsynfilter: overloaded_windows={sf.OverloadedWindows} filter_level={sf.FilterLevel} filter_peak={sf.PeakFilterLevel} filter_updates={sf.FilterUpdates} filter_failures={sf.FilterFailures} filter_drops={sf.FilterDrops} proven_unnamed={sf.ProvenSourcesUnnamed}");
        if (stack.Faults is { } f) sb.Append(ci, $"\nfaults: tx[{f.TransmitStatistics}] rx[{f.ReceiveStatistics}]");
        if (stack.Recorder is { } r) sb.Append(ci, $"\nrecorded: frames={r.FramesRecorded}");
        return sb.ToString();
    }
}
