using NetStack.Wire;

namespace NetStack.Transport.Tcp;

/// <summary>
/// Receive-buffer auto-tuning: dynamic right-sizing of the receive window (Fisher's DRS, as Linux's
/// <c>tcp_rcv_space_adjust</c> and <c>tcp_rcv_rtt_measure</c>). The receiver measures its own round-trip time (from the
/// timestamps echoed on data, RFC 7323 §4, or the time to receive one window's worth without them), counts what the
/// application consumed in each round trip, and when that grew, raises the receive buffer so that the window the peer
/// sees stays ahead of the sender's congestion window: 2 x consumed + 16 segments (room for loss recovery), plus twice
/// the growth seen (the sender may still be in slow start), up to <see cref="TcpSettings.ReceiveBufferMax"/>. The window
/// then exceeds 64 KB through the scale negotiated in the handshake (RFC 7323 §2). It never shrinks (RFC 7323 §2.4 /
/// RFC 9293 §3.8.6.2.2: the right edge never moves left); an application that does not read keeps the window small.
/// </summary>
public sealed partial class TcpConnection
{
    // rcvq_space: bytes consumed in the last measured round trip, and where/when the current measurement began.
    private int _rcvSpace;
    private SeqNumber _rcvSpaceSeq;
    private Instant _rcvSpaceTime;
    // rcv_rtt_est: the receiver's RTT estimate (µs, 0 = none yet), the last TSecr used, and the window-based measurement.
    private long _rcvRttMicros;
    private uint _rcvRttLastTsEcr;
    private bool _rcvRttMeasuring;
    private SeqNumber _rcvRttSeq;
    private Instant _rcvRttTime;

    private int ReceiveBufferMax => _settings.ReceiveBufferMax;

    /// <summary>The receiver's round-trip estimate used by auto-tuning (zero until measured).</summary>
    internal TimeSpan ReceiveRtt => TimeSpan.FromTicks(_rcvRttMicros * 10);

    /// <summary>
    /// The most the receive buffer may grow to: the configured maximum, and without window scaling 65,535 bytes (a larger
    /// buffer could never be offered: RFC 7323 §2.3).
    /// </summary>
    private int ReceiveBufferLimit => _wsEnabled ? ReceiveBufferMax : Math.Min(ReceiveBufferMax, 65535);

    /// <summary>Starts the first measurement when the connection is established (Linux's tcp_init_buffer_space).</summary>
    private void InitReceiveSpace(Instant now)
    {
        // The sender's initial window (RFC 6928: 10 segments) is what the first round trip can bring.
        _rcvSpace = Math.Min(_recvBuffer.Capacity, 10 * Math.Max((int)_ourMss, 536));
        _rcvSpaceSeq = ReadSequence;
        _rcvSpaceTime = now;
    }

    /// <summary>
    /// RFC 7323 §4 at the receiver: a full-sized data segment whose TSecr is new echoes the TSval of an ACK we sent; the
    /// time since then is a round trip (Linux's tcp_rcv_rtt_measure_ts: the first segment sent in answer to each ACK only,
    /// later ones of a burst would add the sender's queueing).
    /// </summary>
    private void MeasureReceiveRttTs(int payloadLength, uint tsEcr, Instant now)
    {
        if (tsEcr == 0 || tsEcr == _rcvRttLastTsEcr) return;
        _rcvRttLastTsEcr = tsEcr;
        if (payloadLength < _mss) return;
        long sample = TsRtt(now, tsEcr);
        if (sample > 0) UpdateReceiveRtt(sample, windowBased: false);
    }

    /// <summary>
    /// Without timestamps (Linux's tcp_rcv_rtt_measure): the time to receive one advertised window's worth of data is at
    /// least a round trip; only the smallest such time is kept.
    /// </summary>
    private void MeasureReceiveRttWindow(Instant now)
    {
        if (_rcvRttMeasuring)
        {
            if (_rcvNxt < _rcvRttSeq) return;
            UpdateReceiveRtt(Math.Max(1, (now - _rcvRttTime).Ticks / 10), windowBased: true);
        }
        _rcvRttMeasuring = true;
        _rcvRttSeq = _rcvNxt + Math.Max(1, _rcvAdvRight - _rcvNxt);
        _rcvRttTime = now;
    }

    private void UpdateReceiveRtt(long sampleMicros, bool windowBased)
    {
        if (_rcvRttMicros == 0 || sampleMicros < _rcvRttMicros) _rcvRttMicros = sampleMicros;
        else if (!windowBased) _rcvRttMicros += (sampleMicros - _rcvRttMicros) / 8; // smoothed as SRTT (RFC 6298 §2.3, α = 1/8)
    }

    /// <summary>
    /// Once per receiver round trip (Linux's tcp_rcv_space_adjust): the bytes the application consumed since the last
    /// measurement; when more than the previous round trip's, the buffer grows (never past <see cref="ReceiveBufferLimit"/>).
    /// </summary>
    private void AdjustReceiveSpace(Instant now)
    {
        long rtt = _rcvRttMicros > 0 ? _rcvRttMicros : (_rtt.HasSample ? _rtt.SmoothedMicros : 0);
        if (rtt <= 0 || (now - _rcvSpaceTime).Ticks / 10 < rtt) return;
        int copied = ReadSequence - _rcvSpaceSeq;
        if (copied > _rcvSpace)
        {
            int limit = ReceiveBufferLimit;
            if (_recvBuffer.Capacity < limit)
            {
                // Two round trips' worth (a loss costs one to repair while the sender keeps sending) plus 16 segments of
                // cushion; and the sender may double its rate each round trip in slow start: add twice the growth seen.
                long advmss = Math.Max((int)_ourMss, 536);
                long window = 2L * copied + 16 * advmss;
                long grow = window * (copied - _rcvSpace) / Math.Max(_rcvSpace, 1);
                window += 2 * grow;
                int target = (int)Math.Min(window, limit);
                if (target > _recvBuffer.Capacity)
                {
                    _recvBuffer.Grow(target);
                    _layer.Stats.ReceiveBufferGrowths++;
                }
            }
            _rcvSpace = copied;
        }
        _rcvSpaceSeq = ReadSequence;
        _rcvSpaceTime = now;
    }
}
