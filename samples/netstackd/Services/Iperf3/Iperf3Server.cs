using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NetStack.Sockets;
using NetStack.Tap;

namespace NetStack.Samples.Netstackd.Services.Iperf3;

/// <summary>
/// An iperf3 server on a NetStack stack (netstackd --iperf3 PORT): the stock <c>iperf3 -c</c> (3.x) is its client.
/// Like iperf3 -s it runs one test at a time on one port (the control connection and the TCP streams share the TCP
/// port; UDP streams use the same number on UDP), refuses other clients with ACCESS_DENIED while a test runs, and takes
/// the next test when one ends. A peer that breaks the protocol (bad cookie, oversized or malformed JSON, an unexpected
/// state byte, silence) gets its connections closed and a log line; nothing it sends is held beyond the caps of
/// <see cref="Iperf3Wire"/>.
/// </summary>
public sealed class Iperf3Server
{
    /// <summary>How long a new connection may take to send its cookie, and the client its parameters.</summary>
    internal static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    private readonly IpStack _ip;
    private readonly Lock _lock = new();
    private AsyncTcpListener _listener;
    private TaskCompletionSource? _swapping;
    private Iperf3ServerTest? _current;
    private long _acceptSequence;

    private Iperf3Server(IpStack ip, AsyncTcpListener listener, int port, int backlog, ServiceLog log, int udpDefaultLength)
    {
        _ip = ip;
        _listener = listener;
        Port = port;
        Backlog = backlog;
        Log = log;
        UdpDefaultLength = udpDefaultLength;
    }

    public int Port { get; }
    internal int Backlog { get; }
    public ServiceLog Log { get; }
    internal IpStack Ip => _ip;

    /// <summary>The UDP datagram size when the client gives no -l (iperf3 clients always give one).</summary>
    public int UdpDefaultLength { get; }

    /// <summary>Tests completed (read on any thread).</summary>
    public int TestsCompleted => Volatile.Read(ref _testsCompleted);
    private int _testsCompleted;

    /// <summary>Listens on <paramref name="port"/> of every address of both families.</summary>
    public static async Task<Iperf3Server> StartAsync(IpStack ip, int port, ServiceLog log, int backlog = 128, int udpDefaultLength = 1448)
    {
        ArgumentNullException.ThrowIfNull(ip);
        var listener = await ip.ListenTcpAsync(new IPEndPoint(IPAddress.Any, port), backlog).ConfigureAwait(false);
        return new Iperf3Server(ip, listener, port, backlog, log, udpDefaultLength);
    }

    /// <summary>Accepts until <paramref name="stop"/> fires, then ends the running test (briefly) and stops listening.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var running = new List<Task>();
        while (!stop.IsCancellationRequested)
        {
            var listener = Volatile.Read(ref _listener);
            TcpConnectionStream connection;
            try
            {
                connection = await listener.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is SocketException { SocketErrorCode: SocketError.OperationAborted } or ObjectDisposedException)
            {
                // A test is replacing the listener (-w, -N: iperf_tcp_listen), or the stack stopped.
                if (Volatile.Read(ref _swapping) is { } swap) { await swap.Task.ConfigureAwait(false); continue; }
                if (!ReferenceEquals(listener, Volatile.Read(ref _listener))) continue;
                break;
            }
            long sequence = Interlocked.Increment(ref _acceptSequence);
            running.RemoveAll(t => t.IsCompleted);
            running.Add(Task.Run(() => OnConnectionAsync(connection, sequence, stop), CancellationToken.None));
        }
        await Task.WhenAny(Task.WhenAll(running), Task.Delay(TimeSpan.FromSeconds(3), CancellationToken.None)).ConfigureAwait(false);
        await Volatile.Read(ref _listener).DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Replaces the listener by one whose connections get <paramref name="options"/> (null: the defaults), as iperf3 does for
    /// -w and -N (iperf_tcp_listen); the caller sends CREATE_STREAMS only afterwards, so no stream meets the gap.
    /// </summary>
    internal async Task SwapListenerAsync(TcpSocketOptions? options)
    {
        var swap = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _swapping, swap);
        try
        {
            await Volatile.Read(ref _listener).DisposeAsync().ConfigureAwait(false);
            var next = await _ip.ListenTcpAsync(new IPEndPoint(IPAddress.Any, Port), Backlog, options).ConfigureAwait(false);
            Volatile.Write(ref _listener, next);
        }
        finally
        {
            Volatile.Write(ref _swapping, null);
            swap.SetResult();
        }
    }

    /// <summary>Reads the cookie of a new connection: a new test's control connection, a stream of the running test, or refused.</summary>
    private async Task OnConnectionAsync(TcpConnectionStream connection, long sequence, CancellationToken stop)
    {
        var cookie = new byte[Iperf3Wire.CookieSize];
        try
        {
            await Iperf3Wire.ReadExactAsync(connection, cookie, HandshakeTimeout, "the cookie", stop).ConfigureAwait(false);
            if (!Iperf3Wire.IsValidCookie(cookie)) throw new Iperf3ProtocolException("malformed cookie");
        }
        catch (Exception e) when (e is Iperf3ProtocolException or IOException or SocketException or OperationCanceledException)
        {
            Log.Connection("iperf3", connection.RemoteEndPoint, connection.LocalEndPoint, 0, 0, TimeSpan.Zero,
                e is OperationCanceledException ? "stopped" : "refused", e is Iperf3ProtocolException ? e.Message : e.GetType().Name);
            await connection.DisposeAsync().ConfigureAwait(false);
            return;
        }

        Iperf3ServerTest? test = null;
        bool accepted = false;
        lock (_lock)
        {
            if (_current is { } current)
                accepted = current.Cookie.AsSpan().SequenceEqual(cookie) && current.TryAddStream(connection, sequence);
            else
                _current = test = new Iperf3ServerTest(this, connection, cookie, Release);
        }
        if (accepted) return;
        if (test is null)
        {
            // iperf_accept: busy, or a stream that does not belong to the test being set up.
            try
            {
                await Iperf3Wire.WriteStateAsync(connection, Iperf3State.AccessDenied, stop).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
            }
            Log.Connection("iperf3", connection.RemoteEndPoint, connection.LocalEndPoint, 0, 0, TimeSpan.Zero, "denied", "busy with another test");
            await connection.DisposeAsync().ConfigureAwait(false);
            return;
        }
        if (await test.RunAsync(stop).ConfigureAwait(false)) Interlocked.Increment(ref _testsCompleted);
    }

    /// <summary>A test is over (results sent, or failed): the next client may start one.</summary>
    private void Release(Iperf3ServerTest test)
    {
        lock (_lock)
        {
            if (ReferenceEquals(_current, test)) _current = null;
        }
    }

    internal static string Format(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
