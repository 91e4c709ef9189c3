using System.Runtime.InteropServices;
using NetStack.Tap.Native;

namespace NetStack.Tap;

/// <summary>
/// A Linux eventfd used as a wake-up doorbell for a thread blocked in <c>poll()</c>: any thread may
/// <see cref="Signal"/>; the waiting thread sees the descriptor readable and <see cref="Reset"/>s it.
/// </summary>
internal sealed class EventFd : IDisposable
{
    private int _fd;

    public EventFd()
    {
        _fd = LibC.EventFd(0, LibC.EFD_CLOEXEC | LibC.EFD_NONBLOCK);
        if (_fd < 0)
        {
            int e = Marshal.GetLastPInvokeError();
            throw new IOException($"eventfd failed: {LibC.Describe(e)} (errno {e})");
        }
    }

    public int FileDescriptor => _fd;

    public unsafe void Signal()
    {
        ulong one = 1;
        int fd = Volatile.Read(ref _fd);
        if (fd >= 0) LibC.Write(fd, (byte*)&one, sizeof(ulong)); // EAGAIN only if the counter is saturated: already signalled.
    }

    public unsafe void Reset()
    {
        ulong value;
        int fd = Volatile.Read(ref _fd);
        if (fd >= 0) LibC.Read(fd, (byte*)&value, sizeof(ulong));
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) LibC.Close(fd);
    }
}
