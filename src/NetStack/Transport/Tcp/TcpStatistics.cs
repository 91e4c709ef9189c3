namespace NetStack.Transport.Tcp;

/// <summary>Counters of the TCP layer (drops by reason, retransmissions, probes). Plain fields: read them, export them as metrics.</summary>
public sealed class TcpStatistics
{
    public long SegmentsReceived;
    public long SegmentsSent;
    public long BytesSent;
    public long BytesReceived;
    public long Malformed;
    public long BadChecksum;
    public long NoConnection;
    public long ResetsSent;
    public long Retransmissions;
    public long FastRetransmits;
    public long Timeouts;
    public long TailLossProbes;
    public long OutOfWindow;
    public long PawsDropped;
    public long ChallengeAcks;
    public long ChallengeAcksSuppressed;
    public long ReassemblyDropped;
    public long SynCookiesSent;
    public long SynCookiesAccepted;
    public long SynCookiesRejected;
    public long SynDropped;
    public long AcceptQueueOverflows;
    public long WindowProbes;
    public long KeepAliveProbes;
    public long SendFailures;
    public long IcmpErrors;
}
