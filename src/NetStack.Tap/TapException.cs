namespace NetStack.Tap;

/// <summary>Why a TAP/TUN device could not be opened or configured.</summary>
public enum TapErrorKind
{
    /// <summary>The process lacks CAP_NET_ADMIN.</summary>
    NotPermitted,
    /// <summary><c>/dev/net/tun</c> does not exist or the tun module is not loaded.</summary>
    DriverMissing,
    /// <summary>The interface is already attached to another file descriptor (EBUSY).</summary>
    Busy,
    /// <summary>Attach-only was asked and no interface has that name.</summary>
    NotFound,
    /// <summary>Create-only was asked and an interface with that name exists.</summary>
    AlreadyExists,
    /// <summary>The interface name is empty, too long (over 15 bytes) or has forbidden characters.</summary>
    InvalidName,
    /// <summary>An interface with that name exists but is not a TAP/TUN of the requested kind and flags.</summary>
    WrongType,
    /// <summary>Any other system error; <see cref="TapException.Errno"/> says which.</summary>
    SystemError,
}

/// <summary>
/// A TAP/TUN device could not be opened or configured. The message is one line a user can act on
/// ("opening TAP 'tap0' needs CAP_NET_ADMIN (run as root)"), meant to be printed without a stack trace.
/// </summary>
public sealed class TapException : IOException
{
    /// <summary>A failure of kind <paramref name="kind"/> with the errno <paramref name="errno"/> of the failing call.</summary>
    public TapException(TapErrorKind kind, string message, int errno = 0) : base(message)
    {
        Kind = kind;
        Errno = errno;
    }

    /// <summary>A TAP/TUN failure without details.</summary>
    public TapException() : this(TapErrorKind.SystemError, "TAP/TUN error") { }
    /// <summary>A TAP/TUN failure described by <paramref name="message"/>.</summary>
    public TapException(string message) : this(TapErrorKind.SystemError, message) { }
    /// <summary>A TAP/TUN failure described by <paramref name="message"/>, caused by <paramref name="innerException"/>.</summary>
    public TapException(string message, Exception innerException) : base(message, innerException) { Kind = TapErrorKind.SystemError; }

    /// <summary>What failed.</summary>
    public TapErrorKind Kind { get; }

    /// <summary>The Linux errno behind the failure, 0 when the check was ours.</summary>
    public int Errno { get; }
}
