using System.Net;
using NetStack.Sockets;
using NetStack.Tap;
using NetStack.Wire;

namespace NetStack.Tests.Api.Support;

/// <summary>
/// A minimal DHCPv4 server for tests (RFC 2131 §4.3) on UDP port 67 of a stack: offers and acknowledges one address,
/// answers to the limited broadcast (the client sets the BROADCAST bit), and records the message types it received.
/// </summary>
internal sealed class TestDhcpServer : IAsyncDisposable
{
    public static readonly Ipv4Address ServerAddress = Ipv4Address.Parse("198.51.100.1");
    public static readonly Ipv4Address Offered = Ipv4Address.Parse("198.51.100.50");

    private readonly AsyncUdpSocket _socket;
    private readonly Task _loop;
    private readonly List<DhcpMessageType> _received = [];

    private TestDhcpServer(AsyncUdpSocket socket)
    {
        _socket = socket;
        _loop = Task.Run(ServeAsync);
    }

    public IReadOnlyList<DhcpMessageType> Received
    {
        get
        {
            lock (_received) return [.. _received];
        }
    }

    public static async Task<TestDhcpServer> StartAsync(IpStack stack) =>
        new(await stack.BindUdpAsync(new IPEndPoint(IPAddress.Any, 67)));

    private async Task ServeAsync()
    {
        var answer = new byte[600];
        await foreach (var m in _socket.ReceiveAllAsync(1500))
        {
            var (type, n) = Answer(m.Data, answer);
            lock (_received) _received.Add(type);
            if (n > 0) await _socket.SendToAsync(answer.AsMemory(0, n), new IPEndPoint(IPAddress.Broadcast, 68));
        }
    }

    private static (DhcpMessageType, int) Answer(byte[] request, byte[] answer)
    {
        if (!DhcpPacket.TryParse(request, out var p, out _)) return (DhcpMessageType.None, 0);
        var reply = p.MessageType switch
        {
            DhcpMessageType.Discover => DhcpMessageType.Offer,
            DhcpMessageType.Request => DhcpMessageType.Ack,
            _ => DhcpMessageType.None,
        };
        if (reply == DhcpMessageType.None) return (p.MessageType, 0);
        var repr = new DhcpRepr
        {
            Op = BootpOp.Reply,
            MessageType = reply,
            TransactionId = p.TransactionId,
            Broadcast = p.IsBroadcast,
            YourAddress = Offered,
            ClientMac = p.ClientMac,
            SubnetMask = Ipv4Address.Parse("255.255.255.0"),
            Routers = [ServerAddress],
            DnsServers = [ServerAddress],
            InterfaceMtu = 1400,
            LeaseTime = 3600,
            ServerIdentifier = ServerAddress,
        };
        return (p.MessageType, repr.Write(answer));
    }

    public async ValueTask DisposeAsync()
    {
        await _socket.DisposeAsync();
        await _loop;
    }
}
