using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using NetStack.Wire;

namespace NetStack.Network;

/// <summary>
/// The options of an IPv4 header as raw bytes (RFC 791 §3.1), held inline: at most 40 bytes, so a value carries its own
/// copy and neither allocates nor depends on the lifetime of a packet buffer. A received datagram's options travel
/// with its <see cref="IpPacketInfo"/> (to transports, ICMP, sockets: Linux <c>IP_RECVOPTS</c>), an application's
/// options with its <see cref="IpSendOptions"/> (Linux <c>IP_OPTIONS</c>).
/// <para>Always well formed: a value comes from a validated header or from <see cref="Create"/>, which validates.
/// Received options are the header's options area with its trailing NOP / End-of-List padding cut off, and empty
/// when the area holds nothing but NOP and End-of-List (RFC 1122 §3.2.1.8: "All IP options (except NOP or
/// END-OF-LIST) received in datagrams MUST be passed to the transport layer").</para>
/// </summary>
public readonly struct IpHeaderOptions : IEquatable<IpHeaderOptions>
{
    [InlineArray(Ipv4Options.MaxLength)]
    private struct Storage
    {
        private byte _first;
    }

    private readonly Storage _bytes;
    private readonly byte _length;

    private IpHeaderOptions(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_bytes);
        _length = (byte)bytes.Length;
    }

    /// <summary>No options.</summary>
    public static IpHeaderOptions None => default;

    /// <summary>Bytes of options (before padding to 32 bits).</summary>
    public int Length => _length;

    /// <summary>True when no option bytes are held.</summary>
    public bool IsEmpty => _length == 0;

    /// <summary>The option bytes (valid while this value is: copy a local's, or use <see cref="CopyTo"/> / <see cref="ToArray"/>).</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> Span => ((ReadOnlySpan<byte>)_bytes)[.._length];

    /// <summary>The options one by one (RFC 791 §3.1 type / length / data).</summary>
    [UnscopedRef]
    public Ipv4OptionEnumerator GetEnumerator() => new(Span);

    /// <summary>Copies the option bytes into <paramref name="destination"/> and returns how many.</summary>
    public int CopyTo(Span<byte> destination)
    {
        ReadOnlySpan<byte> bytes = _bytes;
        bytes[.._length].CopyTo(destination);
        return _length;
    }

    /// <summary>A new array with the option bytes (empty when there are none).</summary>
    public byte[] ToArray()
    {
        ReadOnlySpan<byte> bytes = _bytes;
        return bytes[.._length].ToArray();
    }

    /// <summary>
    /// Options an application wants sent (raw bytes, as Linux <c>setsockopt(IP_OPTIONS)</c> takes them; padding is
    /// added on the wire). Throws <see cref="ArgumentException"/> when longer than 40 bytes, when an option is malformed
    /// (RFC 791 §3.1 lengths, RFC 2113 Router Alert is 4 bytes), or for source routes, which this stack neither sends nor
    /// accepts (as Linux with accept_source_route=0 drops them on receipt).
    /// </summary>
    public static IpHeaderOptions Create(ReadOnlySpan<byte> options) =>
        TryCreate(options, out var value, out var problem) ? value : throw new ArgumentException(problem, nameof(options));

    /// <summary>As <see cref="Create"/>, without throwing: <paramref name="problem"/> says what is wrong.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> options, out IpHeaderOptions value, [NotNullWhen(false)] out string? problem)
    {
        value = default;
        // RFC 791 §3.1: IHL is 4 bits, so at most 60 - 20 = 40 bytes of options.
        if (options.Length > Ipv4Options.MaxLength)
        {
            problem = $"IPv4 options are at most {Ipv4Options.MaxLength} bytes; got {options.Length}.";
            return false;
        }
        if (Ipv4Options.Validate(options) != WireError.None)
        {
            problem = "Malformed IPv4 option (RFC 791 §3.1 type/length/data).";
            return false;
        }
        foreach (var option in new Ipv4OptionEnumerator(options))
        {
            if (option.Type is Ipv4OptionType.LooseSourceRoute or Ipv4OptionType.StrictSourceRoute)
            {
                problem = "Source route options are not supported.";
                return false;
            }
        }
        value = new IpHeaderOptions(options);
        problem = null;
        return true;
    }

    /// <summary>
    /// The options of a validated header's options area: up to the end of its last option other than NOP, nothing when
    /// there is none (RFC 1122 §3.2.1.8 excepts NOP and END-OF-LIST; what follows End-of-List is padding).
    /// </summary>
    internal static IpHeaderOptions FromHeader(ReadOnlySpan<byte> area)
    {
        if (area.IsEmpty) return default;
        int offset = 0, end = 0;
        foreach (var option in new Ipv4OptionEnumerator(area))
        {
            offset += option.Length;
            if (option.Type != Ipv4OptionType.NoOperation) end = offset;
        }
        return end == 0 ? default : new IpHeaderOptions(area[..end]);
    }

    /// <summary>True when both hold the same option bytes.</summary>
    public bool Equals(IpHeaderOptions other) => Span.SequenceEqual(other.Span);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is IpHeaderOptions other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(Span);
        return hash.ToHashCode();
    }

    /// <summary>True when both hold the same option bytes.</summary>
    public static bool operator ==(IpHeaderOptions left, IpHeaderOptions right) => left.Equals(right);

    /// <summary>True when the option bytes differ.</summary>
    public static bool operator !=(IpHeaderOptions left, IpHeaderOptions right) => !left.Equals(right);

    /// <summary>Hex bytes, for logs and test output.</summary>
    public override string ToString() => IsEmpty ? "(none)" : Convert.ToHexString(Span);
}
