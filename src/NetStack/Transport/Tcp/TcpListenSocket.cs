using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Transport.Tcp;

/// <summary>
/// A passive open (RFC 9293 §3.10.1 LISTEN) with a bounded SYN queue (half-open connections) and a
/// bounded accept queue (<see cref="Backlog"/>). When the SYN queue is full, SYNs are answered with SYN cookies
/// (RFC 4987 §3.6) if enabled, else dropped (counted); when the accept queue is full, SYNs are dropped (counted) either
/// way, as Linux does, so that no client is told of a connection the application has no room for. A final ACK that
/// still finds it full (the queue filled during the handshake) is handled as <see cref="TcpSettings.AbortOnOverflow"/> says.
/// </summary>
public sealed class TcpListenSocket
{
    private readonly Queue<TcpConnection> _accept = new();
    private readonly TcpLayer _layer;

    internal TcpListenSocket(TcpLayer layer, IpEndpoint local, int backlog, TcpSettings settings)
    {
        _layer = layer;
        Local = local;
        Backlog = Math.Max(1, backlog);
        Settings = settings;
        if (settings.ListenerSynRate > 0)
        {
            _synBudget = new TokenBucket(settings.ListenerSynRate, Math.Max(1, settings.ListenerSynBurst));
            _provenSynBudget = new TokenBucket(settings.ListenerSynRate, Math.Max(1, settings.ListenerSynBurst));
        }
    }

    private readonly TokenBucket? _synBudget;
    private readonly TokenBucket? _provenSynBudget;

    /// <summary>
    /// Takes one SYN from the listener's budget (<see cref="TcpSettings.ListenerSynRate"/>); false: drop it. SYNs from
    /// proven peers (<see cref="TcpProvenPeers"/>) take from a second bucket of the same size, so a flood from spoofed
    /// sources cannot spend it.
    /// </summary>
    internal bool TryTakeSyn(Instant now, bool proven = false)
    {
        var bucket = proven ? _provenSynBudget : _synBudget;
        return bucket is null || bucket.TryTake(now);
    }

    /// <summary>The address and port listened on (an unspecified address: every local address).</summary>
    public IpEndpoint Local { get; }
    /// <summary>At most this many established connections wait to be accepted.</summary>
    public int Backlog { get; }
    internal TcpSettings Settings { get; }
    /// <summary>Connections in SYN-RECEIVED that belong to this listener.</summary>
    public int HalfOpen { get; internal set; }
    /// <summary>Established connections waiting to be accepted.</summary>
    public int PendingAccepts => _accept.Count;
    /// <summary>True once closed.</summary>
    public bool IsClosed { get; private set; }
    /// <summary>Connections established and waiting in the accept queue.</summary>
    public bool HasPendingConnection => _accept.Count > 0;

    /// <summary>The SYN queue's bound: <see cref="TcpSettings.SynQueueLength"/>, else the backlog.</summary>
    public int SynQueueLength => Settings.SynQueueLength ?? Backlog;
    internal bool SynQueueFull => HalfOpen >= SynQueueLength;
    /// <summary>The accept queue holds <see cref="Backlog"/> connections: no more handshakes may complete.</summary>
    internal bool AcceptQueueFull => _accept.Count >= Backlog;

    /// <summary>Takes the next established connection, if any.</summary>
    public bool TryAccept(out TcpConnection connection)
    {
        if (_accept.TryDequeue(out var c))
        {
            c.Listener = null;
            connection = c;
            return true;
        }
        connection = null!;
        return false;
    }

    internal void OnEstablished(TcpConnection c)
    {
        if (c.HalfOpenCounted) { c.HalfOpenCounted = false; HalfOpen = Math.Max(0, HalfOpen - 1); }
        if (_accept.Count >= Backlog || IsClosed)
        {
            _layer.Stats.AcceptQueueOverflows++;
            c.Abort();
            return;
        }
        _accept.Enqueue(c);
        _layer.NotifyListener(this);
    }

    internal void OnHalfOpenClosed() => HalfOpen = Math.Max(0, HalfOpen - 1);

    /// <summary>Stops listening: pending connections are reset.</summary>
    public void Close()
    {
        if (IsClosed) return;
        IsClosed = true;
        while (_accept.TryDequeue(out var c)) { c.Listener = null; c.Abort(); }
        _layer.RemoveListener(this);
    }
}
