using NetStack.Transport.Tcp;

namespace NetStack.Sockets;

/// <summary>
/// The async API's view of one <see cref="TcpLayer"/> as opened by one owner (an <see cref="Tap.IpStack"/>, through its
/// <see cref="TcpSockets"/>): routes the layer's readiness events to the <see cref="TcpConnectionStream"/> or
/// <see cref="AsyncTcpListener"/> that owns the connection or listener, and knows every one of them still open so that
/// the owner can close them all when it stops. Streams and listeners reach it through the object that opened them (no
/// global table). Used on the loop thread only.
/// </summary>
internal sealed class TcpSocketHub
{
    private readonly Dictionary<TcpConnection, TcpConnectionStream> _streams = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<TcpListenSocket, AsyncTcpListener> _listeners = new(ReferenceEqualityComparer.Instance);

    public TcpSocketHub(TcpLayer layer)
    {
        Layer = layer;
        layer.ConnectionChanged += OnConnectionChanged;
        layer.ListenerReady += OnListenerReady;
        layer.RetransmissionTimeout += OnRetransmissionTimeout;
    }

    private void OnRetransmissionTimeout(TcpConnection c, int count)
    {
        if (_streams.TryGetValue(c, out var s)) s.Trace.Rto(count);
    }

    public TcpLayer Layer { get; }

    /// <summary>Connections with a stream attached (for tests and diagnostics).</summary>
    public int StreamCount => _streams.Count;

    /// <summary>Listeners still open.</summary>
    public int ListenerCount => _listeners.Count;

    /// <summary>True once <see cref="CloseAll"/> ran: nothing new may attach.</summary>
    public bool IsClosed { get; private set; }

    public void Attach(TcpConnection connection, TcpConnectionStream stream) => _streams[connection] = stream;

    public void Detach(TcpConnection connection) => _streams.Remove(connection);

    public void Attach(TcpListenSocket listener, AsyncTcpListener owner) => _listeners[listener] = owner;

    public void Detach(TcpListenSocket listener) => _listeners.Remove(listener);

    /// <summary>
    /// The owner stops: every listener stops listening and every connection is aborted (RST, RFC 9293 §3.10.5: the stack
    /// will not be there to finish a graceful close); pending accepts, connects, reads and writes fail with OperationAborted,
    /// as on a <see cref="System.Net.Sockets.Socket"/> that is closed under them. Later opens fail the same way.
    /// </summary>
    public void CloseAll()
    {
        IsClosed = true;
        foreach (var l in _listeners.Values.ToArray()) l.CloseOnLoop();
        foreach (var s in _streams.Values.ToArray()) s.CloseOnLoop(abort: true);
        _listeners.Clear();
        _streams.Clear();
    }

    private void OnConnectionChanged(TcpConnection c)
    {
        if (_streams.TryGetValue(c, out var s)) s.OnChanged();
    }

    private void OnListenerReady(TcpListenSocket l)
    {
        if (_listeners.TryGetValue(l, out var a)) a.OnReady();
    }
}
