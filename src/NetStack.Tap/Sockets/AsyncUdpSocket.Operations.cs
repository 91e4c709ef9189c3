using System.Threading.Tasks.Sources;
using NetStack.Network;
using NetStack.Tap;
using NetStack.Wire;

namespace NetStack.Sockets;

public sealed partial class AsyncUdpSocket
{
    private void ReturnReceive(ReceiveOperation op) => Volatile.Write(ref _freeReceive, op);

    private void ReturnSend(SendOperation op) => Volatile.Write(ref _freeSend, op);

    /// <summary>Takes a cancelled receive out of the loop's waiter queue (the loop owns the queue).</summary>
    private void RemoveWaiterOnLoop(ReceiveOperation op)
    {
        try
        {
            _dispatcher.Post(() => Remove(_waiters, op));
        }
        catch (ObjectDisposedException)
        {
            // the loop has stopped: nothing dequeues any more, and Close fails what is left
        }
    }

    /// <summary>
    /// A pending <see cref="ReceiveFromAsync"/>, reused call after call (one per socket is pooled). It is posted to the loop
    /// as a work item (start: complete from the queue or wait in line), completed on the loop when a datagram arrives, and
    /// signalled either at once (continuation on the thread pool) or, with <see cref="RunContinuationsOnLoop"/>, right after
    /// the loop's current poll (continuation on the loop thread, outside the stack's receive path).
    /// Exactly one of the loop, a cancellation callback or a closing socket claims it (<see cref="TryClaim"/>); a cancelled or
    /// failed operation is never reused, so a stale entry in the waiter queue can never be mistaken for a newer call.
    /// </summary>
    private sealed class ReceiveOperation(AsyncUdpSocket owner) : WorkItem, IValueTaskSource<UdpReceiveResult>
    {
        private ManualResetValueTaskSourceCore<UdpReceiveResult> _core;
        private CancellationTokenRegistration _registration;
        private int _claimed;
        private bool _signalPending;
        private UdpReceiveResult _result;
        private Exception? _error;

        public Memory<byte> Buffer { get; private set; }

        public ValueTask<UdpReceiveResult> Start(Memory<byte> buffer, CancellationToken token, bool continueOnThreadPool)
        {
            Buffer = buffer;
            _claimed = 0;
            _error = null;
            _core.RunContinuationsAsynchronously = continueOnThreadPool;
            var pending = new ValueTask<UdpReceiveResult>(this, _core.Version);
            if (token.CanBeCanceled)
                _registration = token.UnsafeRegister(static (s, t) => ((ReceiveOperation)s!).OnCanceled(t), this);
            return pending;
        }

        /// <summary>True for the one caller that may complete this operation.</summary>
        public bool TryClaim() => Interlocked.CompareExchange(ref _claimed, 1, 0) == 0;

        /// <summary>Loop only: as a posted work item, starts the receive; as a deferred one, signals its completion.</summary>
        public override void Run()
        {
            if (_signalPending)
            {
                _signalPending = false;
                Signal();
                return;
            }
            if (Volatile.Read(ref _claimed) != 0) return; // cancelled before the loop saw it
            if (owner._socket.IsClosed)
            {
                TryFail(Aborted());
                return;
            }
            if (owner._waiters.Count == 0 && owner._socket.Available > 0)
            {
                if (!TryClaim()) return;
                owner.TryReceiveNow(Buffer.Span, out var result);
                Complete(result);
                return;
            }
            owner._waiters.Enqueue(this);
        }

        /// <summary>The host stopped with this operation still queued.</summary>
        public override void Cancel()
        {
            if (_signalPending)
            {
                _signalPending = false;
                Signal();
                return;
            }
            TryFail(new OperationCanceledException("The stack stopped before the receive was queued."));
        }

        /// <summary>Claimed: completes with <paramref name="result"/>.</summary>
        public void Complete(in UdpReceiveResult result)
        {
            _result = result;
            Finish();
        }

        /// <summary>Fails the operation unless someone else completed it first.</summary>
        public void TryFail(Exception error)
        {
            if (!TryClaim()) return;
            _error = error;
            Finish();
        }

        private void Finish()
        {
            if (!_core.RunContinuationsAsynchronously)
            {
                if (owner._dispatcher.IsOnLoopThread)
                {
                    // The continuation runs on the loop thread, but only once the current poll has returned: never from
                    // inside the UDP layer's delivery of the datagram.
                    _signalPending = true;
                    owner._dispatcher.RunAfterPoll(this);
                    return;
                }
                _core.RunContinuationsAsynchronously = true; // not on the loop (a stopped stack): never run user code here
            }
            Signal();
        }

        private void Signal()
        {
            // Last statement: the continuation may reuse this operation before SetResult returns.
            if (_error is { } e) _core.SetException(e);
            else _core.SetResult(_result);
        }

        private void OnCanceled(CancellationToken token)
        {
            if (!TryClaim()) return;
            _core.RunContinuationsAsynchronously = true; // never run the caller's continuation inside Cancel()
            _error = new OperationCanceledException(token);
            owner.RemoveWaiterOnLoop(this);
            _core.SetException(_error);
        }

        public UdpReceiveResult GetResult(short token)
        {
            bool reusable = false;
            try
            {
                var result = _core.GetResult(token);
                reusable = true;
                return result;
            }
            finally
            {
                _registration.Dispose();
                _registration = default;
                if (reusable)
                {
                    Buffer = default;
                    _result = default;
                    _core.Reset();
                    owner.ReturnReceive(this);
                }
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }

    /// <summary>
    /// A <see cref="SendToAsync"/> or <see cref="SendSegmentedAsync"/> made off the loop thread, reused call after call: posted to the loop as a work item, the
    /// datagram is sent there and the operation completes at once (from a work item, never from inside a layer).
    /// </summary>
    private sealed class SendOperation(AsyncUdpSocket owner) : WorkItem, IValueTaskSource<int>
    {
        private ManualResetValueTaskSourceCore<int> _core;
        private ReadOnlyMemory<byte> _data;
        private int _segmentSize;
        private IpEndpoint? _to;
        private IpSendOptions _options;
        private CancellationToken _token;

        public ValueTask<int> Start(ReadOnlyMemory<byte> data, int segmentSize, IpEndpoint? to, in IpSendOptions options, CancellationToken token, bool continueOnThreadPool)
        {
            _data = data;
            _segmentSize = segmentSize;
            _to = to;
            _options = options;
            _token = token;
            _core.RunContinuationsAsynchronously = continueOnThreadPool;
            return new ValueTask<int>(this, _core.Version);
        }

        public override void Run()
        {
            var data = _data;
            _data = default;
            if (_token.IsCancellationRequested)
            {
                Fail(new OperationCanceledException(_token));
                return;
            }
            int sent;
            try
            {
                sent = owner.SendOnLoop(data, _segmentSize, _to, _options);
            }
            catch (Exception e)
            {
                Fail(e);
                return;
            }
            _core.SetResult(sent); // last: the continuation may reuse this operation
        }

        public override void Cancel()
        {
            _data = default;
            _core.RunContinuationsAsynchronously = true;
            _core.SetException(new OperationCanceledException("The stack stopped before the datagram was sent."));
        }

        private void Fail(Exception e) => _core.SetException(e);

        public int GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                _to = null;
                _options = default;
                _token = default;
                _core.Reset();
                owner.ReturnSend(this);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
