using System.Runtime.CompilerServices;
using NetStack.Transport.Tcp;

namespace NetStack.Sockets;

/// <summary>
/// The async API's view of one <see cref="TcpLayer"/>: routes the layer's readiness events to the
/// <see cref="TcpConnectionStream"/> or <see cref="AsyncTcpListener"/> that owns the connection or listener.
/// Used on the loop thread only.
/// </summary>
internal sealed class TcpSocketHub
{
    private static readonly ConditionalWeakTable<TcpLayer, TcpSocketHub> Hubs = new();
    private readonly Dictionary<TcpConnection, TcpConnectionStream> _streams = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<TcpListener, AsyncTcpListener> _listeners = new(ReferenceEqualityComparer.Instance);

    private TcpSocketHub(TcpLayer layer)
    {
        Layer = layer;
        layer.ConnectionChanged += OnConnectionChanged;
        layer.ListenerReady += OnListenerReady;
    }

    public TcpLayer Layer { get; }

    /// <summary>Connections with a stream attached (for tests and diagnostics).</summary>
    public int StreamCount => _streams.Count;

    public static TcpSocketHub For(TcpLayer layer) => Hubs.GetValue(layer, static l => new TcpSocketHub(l));

    public void Attach(TcpConnection connection, TcpConnectionStream stream) => _streams[connection] = stream;

    public void Detach(TcpConnection connection) => _streams.Remove(connection);

    public void Attach(TcpListener listener, AsyncTcpListener owner) => _listeners[listener] = owner;

    public void Detach(TcpListener listener) => _listeners.Remove(listener);

    private void OnConnectionChanged(TcpConnection c)
    {
        if (_streams.TryGetValue(c, out var s)) s.OnChanged();
    }

    private void OnListenerReady(TcpListener l)
    {
        if (_listeners.TryGetValue(l, out var a)) a.OnReady();
    }
}
