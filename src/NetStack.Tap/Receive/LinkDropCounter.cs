using Microsoft.Win32.SafeHandles;
using NetStack.Tap.Native;

namespace NetStack.Tap.Receive;

/// <summary>
/// Reads one interface's kernel TX "dropped" counter (<c>tx_dropped</c>, the "drop" column of the transmit side of
/// <c>/proc/net/dev</c>) wherever the interface is: a TAP may have been moved to another network namespace after it was
/// opened, and <c>/proc/net</c> shows the namespace of the thread that opens it. So the file is opened once on a thread of
/// its own that first enters the TAP's namespace (TUNGETDEVNETNS, then setns; that needs CAP_SYS_ADMIN, and without it the
/// file of our own namespace is used), and read again from the start each time: an open <c>/proc/net</c> file stays bound
/// to the namespace it was opened in.
/// </summary>
internal sealed class LinkDropCounter : IDisposable
{
    private readonly SafeFileHandle _file;
    private readonly string _name;
    private byte[] _buffer = new byte[8192];

    private LinkDropCounter(SafeFileHandle file, string name) => (_file, _name) = (file, name);

    /// <summary>The counter of <paramref name="tun"/>'s interface, or null when it cannot be read.</summary>
    public static LinkDropCounter? Open(TunTapDevice tun)
    {
        SafeFileHandle? file = null;
        var opener = new Thread(() =>
        {
            try
            {
                int ns = TunNamespace(tun.FileDescriptor);
                if (ns >= 0)
                {
                    LibC.SetNs(ns, LibC.CLONE_NEWNET); // on failure: our own namespace's file (the TAP may well be in it)
                    LibC.Close(ns);
                }
                file = File.OpenHandle("/proc/thread-self/net/dev");
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }) { IsBackground = true, Name = "NetStack netns counter" };
        opener.Start();
        opener.Join(); // the thread ends in whatever namespace it entered: nothing else runs on it
        if (file is null) return null;
        var counter = new LinkDropCounter(file, tun.Name);
        if (counter.Read() is null) { counter.Dispose(); return null; }
        return counter;
    }

    private static unsafe int TunNamespace(int fd) => fd < 0 ? -1 : LibC.Ioctl(fd, TunIoctl.TUNGETDEVNETNS, null);

    /// <summary>The interface's tx_dropped now, or null when it is not listed (gone, renamed) or the file cannot be read.</summary>
    public long? Read()
    {
        try
        {
            int length = 0;
            while (true)
            {
                if (length == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
                int n = RandomAccess.Read(_file, _buffer.AsSpan(length), length);
                if (n <= 0) break;
                length += n;
            }
            return TryParseTransmitDropped(_buffer.AsSpan(0, length), _name, out long dropped) ? dropped : null;
        }
        catch (IOException) { return null; }
        catch (ObjectDisposedException) { return null; }
    }

    /// <summary>
    /// The transmit "drop" column of <paramref name="name"/>'s line in the text of <c>/proc/net/dev</c>
    /// (<c>name: rx bytes packets errs drop fifo frame compressed multicast tx bytes packets errs drop ...</c>).
    /// </summary>
    public static bool TryParseTransmitDropped(ReadOnlySpan<byte> text, string name, out long dropped)
    {
        dropped = 0;
        foreach (var range in text.Split((byte)'\n'))
        {
            var line = text[range];
            int colon = line.IndexOf((byte)':');
            if (colon < 0) continue;
            var label = line[..colon].Trim((byte)' ');
            if (label.Length != name.Length) continue;
            bool same = true;
            for (int i = 0; i < label.Length && same; i++) same = label[i] == name[i];
            if (!same) continue;
            int field = 0;
            foreach (var f in line[(colon + 1)..].Split((byte)' '))
            {
                var token = line[(colon + 1)..][f];
                if (token.IsEmpty) continue;
                if (field++ != 11) continue; // 8 receive columns, then tx bytes, packets, errs, drop
                return System.Buffers.Text.Utf8Parser.TryParse(token, out dropped, out int used) && used == token.Length;
            }
            return false;
        }
        return false;
    }

    public void Dispose() => _file.Dispose();
}
