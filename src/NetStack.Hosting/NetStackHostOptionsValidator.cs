using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using NetStack.Network;
using NetStack.Tap;
using NetStack.Wire;

namespace NetStack.Hosting;

/// <summary>The device kinds of <see cref="NetStackDeviceOptions.Kind"/>.</summary>
public enum NetStackDeviceKind
{
    /// <summary>A TAP (Ethernet) device.</summary>
    Tap,
    /// <summary>A TUN (raw IP) device.</summary>
    Tun,
    /// <summary>A libpcap live device.</summary>
    Pcap,
    /// <summary>An in-memory link (<see cref="IpStackLink"/>).</summary>
    Simulated,
    /// <summary>A device made by the factory given to <c>AddNetStack</c>.</summary>
    Custom,
}

/// <summary>
/// Checks a <see cref="NetStackHostOptions"/> when the host starts (<c>ValidateOnStart</c>) and reports every wrong
/// setting by its configuration path (<c>NetStack:Ipv4:Addresses:0</c>), in one <see cref="OptionsValidationException"/>.
/// </summary>
public sealed class NetStackHostOptionsValidator : IValidateOptions<NetStackHostOptions>
{
    private readonly string _section;
    private readonly bool _hasDeviceFactory;

    /// <summary>A validator naming settings under <paramref name="sectionPath"/> (<c>NetStack</c>).</summary>
    public NetStackHostOptionsValidator(string sectionPath, bool hasDeviceFactory = false)
    {
        _section = sectionPath;
        _hasDeviceFactory = hasDeviceFactory;
    }

    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, NetStackHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        _ = Parse(options, _section, _hasDeviceFactory, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>The settings as the stack takes them; <paramref name="errors"/> gets one line per wrong setting.</summary>
    internal static ParsedSettings Parse(NetStackHostOptions o, string section, bool hasDeviceFactory, List<string> errors)
    {
        string S(string key) => section.Length == 0 ? key : $"{section}:{key}";
        void Error(string key, string message) => errors.Add($"{S(key)}: {message}");

        // Device.
        NetStackDeviceKind kind = default;
        var d = o.Device ?? new NetStackDeviceOptions();
        string kinds = string.Join(", ", Enum.GetNames<NetStackDeviceKind>());
        if (string.IsNullOrWhiteSpace(d.Kind)) Error("Device:Kind", $"missing: say which device the stack runs on ({kinds})");
        else if (!Enum.TryParse(d.Kind.Trim(), ignoreCase: true, out kind) || !Enum.IsDefined(kind))
            Error("Device:Kind", $"'{d.Kind}' is not a device kind ({kinds})");
        else
        {
            if (kind is NetStackDeviceKind.Tap or NetStackDeviceKind.Tun or NetStackDeviceKind.Pcap && string.IsNullOrWhiteSpace(d.Name))
                Error("Device:Name", $"missing: a {kind} device needs the name of the interface to open");
            if (kind is NetStackDeviceKind.Tap or NetStackDeviceKind.Tun && d.Name is { Length: > 15 })
                Error("Device:Name", $"'{d.Name}' is longer than 15 characters (Linux IFNAMSIZ)");
            if (kind == NetStackDeviceKind.Custom && !hasDeviceFactory)
                Error("Device:Kind", "Custom needs a device factory, given in code to AddNetStack");
        }
        TunTapOpenMode openMode = TunTapOpenMode.AttachOrCreate;
        if (!string.IsNullOrWhiteSpace(d.OpenMode) && (!Enum.TryParse(d.OpenMode.Trim(), ignoreCase: true, out openMode) || !Enum.IsDefined(openMode)))
            Error("Device:OpenMode", $"'{d.OpenMode}' is not an open mode ({string.Join(", ", Enum.GetNames<TunTapOpenMode>())})");

        var v4 = o.Ipv4 ?? new NetStackIpv4Options();
        var v6 = o.Ipv6 ?? new NetStackIpv6Options();
        if (!v4.Enabled && !v6.Enabled) Error("Ipv4:Enabled", $"both IPv4 and IPv6 ({S("Ipv6:Enabled")}) are off");

        // IPv4.
        var v4Addresses = new List<Ipv4Cidr>();
        for (int i = 0; i < v4.Addresses.Count; i++)
            if (ParseCidr(v4.Addresses[i], AddressFamily.InterNetwork, $"Ipv4:Addresses:{i}") is { } c) v4Addresses.Add(new Ipv4Cidr(Ipv4Address.FromIPAddress(c.Address), c.Prefix));
        Ipv4Address? gw4 = null;
        if (!string.IsNullOrWhiteSpace(v4.Gateway) && ParseAddress(v4.Gateway, AddressFamily.InterNetwork, "Ipv4:Gateway") is { } g4)
        {
            gw4 = Ipv4Address.FromIPAddress(g4);
            // (Checked against the addresses only when every one of them parsed: one wrong setting, one message.)
            if (!v4.Dhcp && v4Addresses.Count > 0 && v4Addresses.Count == v4.Addresses.Count && !v4Addresses.Any(a => a.PrefixLength < 32 && a.Contains(gw4.Value)))
                Error("Ipv4:Gateway", $"{g4} is on none of the subnets of {S("Ipv4:Addresses")} ({string.Join(", ", v4Addresses)})");
            if (!v4.Dhcp && v4.Addresses.Count == 0) Error("Ipv4:Gateway", $"{g4} is given but there is no IPv4 address ({S("Ipv4:Addresses")} or {S("Ipv4:Dhcp")})");
        }
        if (!v4.Enabled && (v4.Addresses.Count > 0 || v4.Dhcp || gw4 is not null))
            Error("Ipv4:Enabled", "IPv4 is off but IPv4 addresses, a gateway or DHCP are configured");

        // IPv6.
        var v6Addresses = new List<Ipv6Cidr>();
        for (int i = 0; i < v6.Addresses.Count; i++)
            if (ParseCidr(v6.Addresses[i], AddressFamily.InterNetworkV6, $"Ipv6:Addresses:{i}") is { } c) v6Addresses.Add(new Ipv6Cidr(Ipv6Address.FromIPAddress(c.Address), c.Prefix));
        Ipv6Address? gw6 = null;
        if (!string.IsNullOrWhiteSpace(v6.Gateway) && ParseAddress(v6.Gateway, AddressFamily.InterNetworkV6, "Ipv6:Gateway") is { } g6)
            gw6 = Ipv6Address.FromIPAddress(g6);
        if (!v6.Enabled && (v6.Addresses.Count > 0 || gw6 is not null))
            Error("Ipv6:Enabled", "IPv6 is off but IPv6 addresses or a gateway are configured");
        var readiness = o.Readiness ?? new NetStackReadinessOptions();
        if (readiness.RequireIpv6Router && (!v6.Enabled || !v6.Slaac))
            Error("Readiness:RequireIpv6Router", $"waits for a router advertisement, but {(v6.Enabled ? S("Ipv6:Slaac") : S("Ipv6:Enabled"))} is false");
        if (readiness.Timeout <= TimeSpan.Zero) Error("Readiness:Timeout", $"{readiness.Timeout} is not a positive time span");

        // The rest.
        var dns = new List<IPAddress>();
        for (int i = 0; i < o.DnsServers.Count; i++)
            if (ParseAddress(o.DnsServers[i], null, $"DnsServers:{i}") is { } a) dns.Add(a);
        if (o.Mtu is { } mtu)
        {
            if (mtu is < 68 or > 65535) Error("Mtu", $"{mtu} is out of range (68-65535)");
            else if (v6.Enabled && mtu < 1280) Error("Mtu", $"{mtu} is below IPv6's minimum link MTU of 1280 (RFC 8200 §5); raise it or set {S("Ipv6:Enabled")} to false");
        }
        MacAddress? mac = null;
        if (!string.IsNullOrWhiteSpace(o.MacAddress))
        {
            if (Wire.MacAddress.TryParse(o.MacAddress.Trim(), out var m)) mac = m;
            else Error("MacAddress", $"'{o.MacAddress}' is not a MAC address (02:00:00:00:00:01)");
        }
        if (string.IsNullOrWhiteSpace(o.Name)) Error("Name", "missing: the stack needs a name");

        var config = new InterfaceConfig
        {
            Name = d.Name,
            HardwareAddress = mac,
            Mtu = o.Mtu,
            EnableIpv4 = v4.Enabled,
            Ipv4Addresses = v4Addresses,
            Ipv4Gateway = gw4,
            Dhcpv4 = v4.Dhcp,
            EnableIpv6 = v6.Enabled,
            Ipv6Addresses = v6Addresses,
            Ipv6Gateway = gw6,
            Slaac = v6.Slaac,
        };
        return new ParsedSettings(kind, openMode, config, dns);

        (IPAddress Address, int Prefix)? ParseCidr(string? text, AddressFamily family, string key)
        {
            if (string.IsNullOrWhiteSpace(text)) { Error(key, "empty"); return null; }
            var t = text.Trim();
            int slash = t.IndexOf('/', StringComparison.Ordinal);
            if (!IPAddress.TryParse(slash < 0 ? t : t[..slash], out var ip) || ip.ToString().Contains('%', StringComparison.Ordinal))
            {
                Error(key, $"'{text}' is not an address in CIDR notation ({(family == AddressFamily.InterNetwork ? "192.0.2.2/24" : "2001:db8::2/64")})");
                return null;
            }
            if (ip.AddressFamily != family)
            {
                Error(key, $"'{text}' is an {Family(ip.AddressFamily)} address, not an {Family(family)} one");
                return null;
            }
            int max = family == AddressFamily.InterNetwork ? 32 : 128;
            int prefix = max;
            if (slash >= 0 && (!int.TryParse(t[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > max))
            {
                Error(key, $"prefix length '{t[(slash + 1)..]}' of '{text}' is out of range for {Family(family)} (0-{max})");
                return null;
            }
            return (ip, prefix);
        }

        IPAddress? ParseAddress(string? text, AddressFamily? family, string key)
        {
            if (string.IsNullOrWhiteSpace(text) || !IPAddress.TryParse(text.Trim(), out var ip) || text.Contains('/', StringComparison.Ordinal))
            {
                Error(key, $"'{text}' is not an IP address");
                return null;
            }
            if (family is { } f && ip.AddressFamily != f)
            {
                Error(key, $"'{text}' is an {Family(ip.AddressFamily)} address, not an {Family(f)} one");
                return null;
            }
            return ip;
        }
    }

    private static string Family(AddressFamily f) => f == AddressFamily.InterNetwork ? "IPv4" : "IPv6";
}

/// <summary>The settings parsed for the stack.</summary>
internal sealed record ParsedSettings(NetStackDeviceKind Kind, TunTapOpenMode OpenMode, InterfaceConfig Config, IReadOnlyList<IPAddress> DnsServers);
