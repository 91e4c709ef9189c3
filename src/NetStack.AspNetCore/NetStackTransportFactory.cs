using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NetStack.Sockets;
using NetStack.Tap;
using NetStack.Wire;

namespace NetStack.AspNetCore;

/// <summary>
/// Kestrel's transport over a NetStack <see cref="IpStack"/> (what <c>SocketTransportFactory</c> is over the kernel):
/// binds every <see cref="IPEndPoint"/> Kestrel is given to a TCP listener of the stack. Register it with
/// <see cref="Microsoft.AspNetCore.Hosting.NetStackWebHostBuilderExtensions.UseNetStack"/>.
/// <para>
/// Addresses: <see cref="IPAddress.Any"/> and <see cref="IPAddress.IPv6Any"/> listen on every address of both families
/// of the stack (so bind one of them, not both, as with a dual-mode socket); a specific address must be one of the
/// stack's (static, DHCPv4 or SLAAC, tentative included); port 0 picks a free port from 49152-65535. Misconfiguration
/// fails the bind, so Kestrel's start, with one message naming the endpoint: an address the stack does not have, a family
/// the stack has disabled, a port already listened on (<see cref="AddressInUseException"/>, which Kestrel reports as
/// "address already in use").
/// </para>
/// </summary>
public sealed class NetStackTransportFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private const int EphemeralFirst = 49152;
    private const int EphemeralCount = 65536 - EphemeralFirst;

    private readonly IpStack _stack;
    private readonly NetStackTransportOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly IMemoryPoolFactory<byte>? _memoryPoolFactory;

    /// <summary>A transport over <paramref name="stack"/> (which the caller starts and stops).</summary>
    /// <param name="stack">The stack whose TCP serves Kestrel.</param>
    /// <param name="options">Transport options; null: the defaults.</param>
    /// <param name="loggerFactory">For the transport's debug logs (category <c>NetStack.AspNetCore</c>).</param>
    /// <param name="memoryPoolFactory">Kestrel's memory pool factory (from DI); null: <see cref="MemoryPool{T}.Shared"/>.</param>
    public NetStackTransportFactory(IpStack stack, NetStackTransportOptions? options = null, ILoggerFactory? loggerFactory = null,
        IMemoryPoolFactory<byte>? memoryPoolFactory = null)
    {
        ArgumentNullException.ThrowIfNull(stack);
        _stack = stack;
        _options = options ?? new NetStackTransportOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.Backlog, 1, nameof(options));
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _memoryPoolFactory = memoryPoolFactory;
    }

    /// <summary>The stack this transport listens on.</summary>
    public IpStack Stack => _stack;

    /// <summary>True for IP endpoints (others, such as Unix domain sockets, are left to Kestrel's other transports).</summary>
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    /// <inheritdoc/>
    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint is not IPEndPoint ip)
            throw new NotSupportedException($"NetStack '{_stack.Name}' cannot listen on {endpoint}: only IP endpoints (IPEndPoint).");
        if (ip.Address.IsIPv4MappedToIPv6) ip = new IPEndPoint(ip.Address.MapToIPv4(), ip.Port);
        await CheckAddressAsync(ip, cancellationToken).ConfigureAwait(false);
        var socketOptions = _options.EffectiveSocketOptions;
        AsyncTcpListener listener;
        if (ip.Port != 0)
        {
            try
            {
                listener = await _stack.ListenTcpAsync(ip, _options.Backlog, socketOptions, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                throw new AddressInUseException($"NetStack '{_stack.Name}' already listens on {ip} (a wildcard address covers both families).", e);
            }
        }
        else
        {
            listener = await ListenOnFreePortAsync(ip.Address, socketOptions, cancellationToken).ConfigureAwait(false);
        }
        var pool = _memoryPoolFactory?.Create(new MemoryPoolOptions { Owner = "netstack" }) ?? new SharedPool();
        return new NetStackConnectionListener(listener, pool, _options, _loggerFactory.CreateLogger("NetStack.AspNetCore"));
    }

    /// <summary>Port 0: a free port of the dynamic range (RFC 6335 §6), starting at a random one, as an OS picks one.</summary>
    private async Task<AsyncTcpListener> ListenOnFreePortAsync(IPAddress address, TcpSocketOptions socketOptions, CancellationToken cancellationToken)
    {
        int start = Random.Shared.Next(EphemeralCount);
        for (int i = 0; i < EphemeralCount; i++)
        {
            var candidate = new IPEndPoint(address, EphemeralFirst + ((start + i) % EphemeralCount));
            try
            {
                return await _stack.ListenTcpAsync(candidate, _options.Backlog, socketOptions, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
            }
        }
        throw new AddressInUseException($"NetStack '{_stack.Name}' has no free port in {EphemeralFirst}-65535 on {address}.");
    }

    /// <summary>
    /// A specific address must be the stack's (an OS refuses to bind others: EADDRNOTAVAIL); a family the interface has
    /// disabled cannot be listened on at all (EAFNOSUPPORT). Kestrel's <c>ListenAnyIP</c> falls back from
    /// <see cref="IPAddress.IPv6Any"/> to <see cref="IPAddress.Any"/> on such a failure, as on an IPv4-only host.
    /// </summary>
    private async Task CheckAddressAsync(IPEndPoint ip, CancellationToken cancellationToken)
    {
        var config = _stack.Config;
        bool v4 = ip.Address.AddressFamily == AddressFamily.InterNetwork;
        if (v4 ? !config.EnableIpv4 : !config.EnableIpv6)
        {
            throw new SocketException((int)SocketError.AddressFamilyNotSupported,
                $"NetStack '{_stack.Name}' cannot listen on {ip}: IPv{(v4 ? 4 : 6)} is disabled on its interface (addresses: {await DescribeAddressesAsync(cancellationToken).ConfigureAwait(false)}).");
        }
        if (ip.Address.Equals(IPAddress.Any) || ip.Address.Equals(IPAddress.IPv6Any)) return;
        var address = IpAddress.FromIPAddress(ip.Address);
        bool owned = await _stack.InvokeAsync(s =>
        {
            if (s.IsLocalAddress(address)) return true;
            if (address.IsV4) return config.Ipv4Addresses.Any(c => c.Address == address.V4);
            return s.GetIpv6Info(_stack.Interface) is { } info && info.Addresses.Any(a => a.Address == address.V6);
        }, cancellationToken).ConfigureAwait(false);
        if (!owned)
        {
            throw new SocketException((int)SocketError.AddressNotAvailable,
                $"NetStack '{_stack.Name}' cannot listen on {ip}: {ip.Address} is not one of its addresses ({await DescribeAddressesAsync(cancellationToken).ConfigureAwait(false)}).");
        }
    }

    private async Task<string> DescribeAddressesAsync(CancellationToken cancellationToken)
    {
        var config = _stack.Config;
        var list = new List<string>();
        list.AddRange(config.Ipv4Addresses.Select(c => c.ToString()));
        if (_stack.Dhcpv4Lease is { } lease) list.Add($"{lease.Address}/{lease.PrefixLength} (DHCPv4)");
        if (config.EnableIpv6)
        {
            var info = await _stack.InvokeAsync(s => s.GetIpv6Info(_stack.Interface), cancellationToken).ConfigureAwait(false);
            if (info is not null) list.AddRange(info.Addresses.Select(a => $"{a.Address}/{a.PrefixLength}"));
            else list.AddRange(config.Ipv6Addresses.Select(c => c.ToString()));
        }
        return list.Count == 0 ? "none" : string.Join(", ", list.Distinct());
    }

    /// <summary><see cref="MemoryPool{T}.Shared"/> behind a pool the listener may dispose.</summary>
    private sealed class SharedPool : MemoryPool<byte>
    {
        public override int MaxBufferSize => Shared.MaxBufferSize;
        public override IMemoryOwner<byte> Rent(int minBufferSize = -1) => Shared.Rent(minBufferSize);
        protected override void Dispose(bool disposing) { }
    }
}
