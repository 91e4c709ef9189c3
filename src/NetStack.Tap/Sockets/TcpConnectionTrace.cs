using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NetStack.Tap;

namespace NetStack.Sockets;

/// <summary>
/// The activities of one <see cref="TcpConnectionStream"/> (see <see cref="NetStackDiagnostics"/>): the connect activity
/// while the handshake runs, then the connection activity, which the loop ends with a close or abort event. Started on
/// the user's thread (so that its parent is the caller's <see cref="Activity.Current"/>), added to and ended on the loop.
/// </summary>
internal sealed class TcpConnectionTrace
{
    private readonly Lock _lock = new();
    private Activity? _connecting;
    private Activity? _activity;
    private bool _ended;
    private bool _endAbort;
    private SocketError _endError;

    /// <summary>Starts the connect activity of an active open toward <paramref name="remote"/> (user thread); null while nothing listens.</summary>
    public static Activity? StartConnect(IPEndPoint remote)
    {
        var a = NetStackDiagnostics.Source.StartActivity("netstack.tcp.connect", ActivityKind.Client);
        if (a is null) return null;
        a.SetTag("network.transport", "tcp");
        a.SetTag("network.type", remote.AddressFamily == AddressFamily.InterNetwork ? "ipv4" : "ipv6");
        a.SetTag("network.peer.address", remote.Address.ToString());
        a.SetTag("network.peer.port", remote.Port);
        return a;
    }

    /// <summary>Records an accepted connection as a <c>netstack.tcp.accept</c> activity (user thread).</summary>
    public static void Accepted(IPEndPoint local, IPEndPoint remote)
    {
        using var a = NetStackDiagnostics.Source.StartActivity("netstack.tcp.accept", ActivityKind.Server);
        if (a is not null) SetEndpoints(a, local, remote);
    }

    /// <summary>A failed connect: status Error with <c>error.type</c>.</summary>
    public static void Failed(Activity? activity, SocketError error)
    {
        if (activity is null) return;
        activity.SetTag("error.type", error.ToString());
        activity.SetStatus(ActivityStatusCode.Error, error.ToString());
    }

    /// <summary>The connect activity, which receives the SYN's timeout events until the connection activity starts.</summary>
    public Activity? Connecting
    {
        set { lock (_lock) _connecting = value; }
    }

    /// <summary>Starts the connection activity (user thread, after connect or accept); ended at once if the loop already closed it.</summary>
    public void Start(ActivityKind kind, IPEndPoint local, IPEndPoint remote)
    {
        var previous = Activity.Current;
        var a = NetStackDiagnostics.Source.StartActivity("netstack.tcp.connection", kind);
        Activity.Current = previous;
        lock (_lock)
        {
            _connecting = null;
            if (a is null) return;
            SetEndpoints(a, local, remote);
            _activity = a;
            if (_ended) EndLocked();
        }
    }

    /// <summary>A retransmission timeout (loop).</summary>
    public void Rto(int count)
    {
        lock (_lock)
        {
            var a = _activity ?? _connecting;
            a?.AddEvent(new ActivityEvent("netstack.tcp.rto", tags: new ActivityTagsCollection { ["netstack.tcp.rto.count"] = count }));
        }
    }

    /// <summary>The connection ended (loop): closed gracefully, or aborted (<paramref name="error"/>: why, Success when the user aborted).</summary>
    public void End(bool abort, SocketError error)
    {
        lock (_lock)
        {
            if (_ended) return;
            _ended = true;
            _endAbort = abort;
            _endError = error;
            if (_activity is not null) EndLocked();
        }
    }

    private void EndLocked()
    {
        var a = _activity!;
        _activity = null;
        var previous = Activity.Current;
        if (_endAbort)
        {
            var tags = new ActivityTagsCollection();
            if (_endError != SocketError.Success) tags["error.type"] = _endError.ToString();
            a.AddEvent(new ActivityEvent("netstack.tcp.abort", tags: tags));
        }
        else a.AddEvent(new ActivityEvent("netstack.tcp.close"));
        if (_endError != SocketError.Success) Failed(a, _endError);
        a.Stop();
        Activity.Current = previous;
    }

    private static void SetEndpoints(Activity a, IPEndPoint local, IPEndPoint remote)
    {
        a.SetTag("network.transport", "tcp");
        a.SetTag("network.type", remote.AddressFamily == AddressFamily.InterNetwork ? "ipv4" : "ipv6");
        a.SetTag("network.local.address", local.Address.ToString());
        a.SetTag("network.local.port", local.Port);
        a.SetTag("network.peer.address", remote.Address.ToString());
        a.SetTag("network.peer.port", remote.Port);
    }
}
