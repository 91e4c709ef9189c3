namespace NetStack.Transport.Tcp;

/// <summary>What PRR sends when pipe is at or below ssthresh (after heavy loss): its reduction bound.</summary>
public enum PrrReductionBound
{
    /// <summary>
    /// RFC 9937: PRR-SSRB (what was delivered plus one segment, slow start toward ssthresh) on ACKs that advance SND.UNA
    /// and indicate no further loss; PRR-CRB (no more than was delivered: packet conservation) on the others.
    /// </summary>
    Rfc9937,
    /// <summary>RFC 6937 §3.1 PRR-SSRB on every ACK: what was delivered plus one segment (the less conservative choice).</summary>
    SlowStartOnEveryAck,
}
