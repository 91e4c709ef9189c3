using System.Net.Sockets;

namespace NetStack.Sockets;

/// <summary>A socket its owner can close on the loop thread (pending operations fail with OperationAborted).</summary>
internal interface ILoopClosable
{
    /// <summary>Closes the socket; called on the loop.</summary>
    void CloseOnLoop();
}

/// <summary>
/// The UDP and ICMP sockets one <see cref="Tap.IpStack"/> opened and that are still open, so that stopping the stack closes
/// every one of them (TCP listeners and streams are kept by the <see cref="TcpSocketHub"/>). Loop only: sockets are added
/// where they are created and removed where they close, both on the loop, so no socket slips past <see cref="CloseAll"/>.
/// </summary>
internal sealed class OpenSockets
{
    private readonly HashSet<ILoopClosable> _open = new(ReferenceEqualityComparer.Instance);

    /// <summary>Sockets open now.</summary>
    public int Count => _open.Count;

    /// <summary>True once <see cref="CloseAll"/> ran.</summary>
    public bool IsClosed { get; private set; }

    /// <summary>Keeps <paramref name="socket"/>; once closed, closes it and fails the open with OperationAborted.</summary>
    public T Add<T>(T socket) where T : ILoopClosable
    {
        if (IsClosed)
        {
            socket.CloseOnLoop();
            throw new SocketException((int)SocketError.OperationAborted);
        }
        _open.Add(socket);
        return socket;
    }

    /// <summary>Forgets a socket that closed.</summary>
    public void Remove(ILoopClosable socket) => _open.Remove(socket);

    /// <summary>Closes every socket still open; later opens fail.</summary>
    public void CloseAll()
    {
        IsClosed = true;
        foreach (var s in _open.ToArray()) s.CloseOnLoop();
        _open.Clear();
    }
}
