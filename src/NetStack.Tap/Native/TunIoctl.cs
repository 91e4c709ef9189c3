namespace NetStack.Tap.Native;

/// <summary>Request numbers and flags of the tun driver and of the socket interface ioctls (linux/if_tun.h, linux/sockios.h).</summary>
internal static class TunIoctl
{
    public const uint TUNSETIFF = 0x400454ca;
    public const uint TUNGETIFF = 0x800454d2;
    public const uint TUNSETOFFLOAD = 0x400454d0;
    public const uint TUNGETFEATURES = 0x800454cf;
    public const uint TUNGETVNETHDRSZ = 0x800454d7;
    public const uint TUNSETVNETHDRSZ = 0x400454d8;
    public const uint TUNATTACHFILTER = 0x401054d5; // _IOW('T', 213, struct sock_fprog)
    public const uint TUNDETACHFILTER = 0x401054d6; // _IOW('T', 214, struct sock_fprog)
    public const uint TUNGETDEVNETNS = 0x54e3;      // _IO('T', 227): a descriptor of the device's network namespace (Linux 5.2)

    // TUNSETOFFLOAD flags (linux/if_tun.h): what the kernel may hand us.
    public const uint TUN_F_CSUM = 0x01;
    public const uint TUN_F_TSO4 = 0x02;
    public const uint TUN_F_TSO6 = 0x04;
    public const uint TUN_F_TSO_ECN = 0x08;
    public const uint TUN_F_UFO = 0x10;
    public const uint TUN_F_USO4 = 0x20;
    public const uint TUN_F_USO6 = 0x40;

    public const short IFF_TUN = 0x0001;
    public const short IFF_TAP = 0x0002;
    public const short IFF_MULTI_QUEUE = 0x0100;
    public const short IFF_NO_PI = 0x1000;
    public const short IFF_VNET_HDR = 0x4000;

    public const uint SIOCGIFFLAGS = 0x8913;
    public const uint SIOCSIFFLAGS = 0x8914;
    public const uint SIOCGIFMTU = 0x8921;
    public const uint SIOCSIFMTU = 0x8922;
    public const uint SIOCGIFTXQLEN = 0x8942;
    public const uint SIOCSIFTXQLEN = 0x8943;

    /// <summary>Interface flag IFF_UP (net/if.h), not to be confused with the tun flags above.</summary>
    public const short IFF_UP = 0x1;
}
