namespace NetStack.Tap.Native;

/// <summary>Linux errno values the runtime tells apart.</summary>
internal static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int ENXIO = 6;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int EMSGSIZE = 90;
    public const int ENOBUFS = 105;
    public const int EBADFD = 77;
}
