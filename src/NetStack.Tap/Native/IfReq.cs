using System.Text;

namespace NetStack.Tap.Native;

/// <summary>
/// <c>struct ifreq</c> (40 bytes on Linux): the interface name (IFNAMSIZ = 16, NUL included) at 0,
/// then a union at 16 of which we use <c>short ifr_flags</c>, <c>int ifr_mtu</c> and <c>int ifr_qlen</c>.
/// </summary>
internal unsafe struct IfReq
{
    public const int Size = 40;
    /// <summary>IFNAMSIZ minus the terminating NUL.</summary>
    public const int MaxNameLength = 15;

    private fixed byte _bytes[Size];

    public static IfReq ForName(string? name)
    {
        var r = default(IfReq);
        if (!string.IsNullOrEmpty(name))
        {
            Encoding.ASCII.GetBytes(name, new Span<byte>(r._bytes, MaxNameLength));
        }
        return r;
    }

    public string Name
    {
        get
        {
            fixed (byte* p = _bytes)
            {
                var s = new ReadOnlySpan<byte>(p, 16);
                int n = s.IndexOf((byte)0);
                return Encoding.ASCII.GetString(n < 0 ? s : s[..n]);
            }
        }
    }

    public short Flags
    {
        get { fixed (byte* p = _bytes) return *(short*)(p + 16); }
        set { fixed (byte* p = _bytes) *(short*)(p + 16) = value; }
    }

    public int Mtu
    {
        get { fixed (byte* p = _bytes) return *(int*)(p + 16); }
        set { fixed (byte* p = _bytes) *(int*)(p + 16) = value; }
    }

    public int QueueLength
    {
        get { fixed (byte* p = _bytes) return *(int*)(p + 16); }
        set { fixed (byte* p = _bytes) *(int*)(p + 16) = value; }
    }
}
