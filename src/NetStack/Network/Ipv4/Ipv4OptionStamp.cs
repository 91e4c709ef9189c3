using System.Buffers.Binary;
using NetStack.Wire;

namespace NetStack.Network.Ipv4;

/// <summary>
/// The IPv4 options this stack interprets as it sends a datagram (RFC 1122 §3.2.1.8: "The IP and transport layer MUST each
/// interpret those IP options that they understand and silently ignore the others"): Record Route gets our address and
/// Timestamp our time (RFC 791 §3.1), in place, in a well-formed options area. Pure; a bogus pointer leaves an option
/// untouched, a full one is left as it is (Record Route) or has its overflow count raised (Timestamp).
/// </summary>
internal static class Ipv4OptionStamp
{
    /// <summary>
    /// The timestamp we record: RFC 791 §3.1 wants milliseconds since midnight UT, and "if the time is not available in
    /// milliseconds or cannot be provided with respect to midnight UT then any time may be inserted as a timestamp
    /// provided the high order bit of the timestamp field is set". The core has no wall clock: the stack's clock, flagged.
    /// </summary>
    public static uint Timestamp(Instant now) => 0x8000_0000u | (uint)(now.Milliseconds & 0x7FFF_FFFF);

    /// <summary>Records <paramref name="self"/> (and <paramref name="timestamp"/>) in every Record Route and Timestamp option.</summary>
    public static void Stamp(Span<byte> options, Ipv4Address self, uint timestamp)
    {
        int i = 0;
        while (i < options.Length)
        {
            var type = (Ipv4OptionType)options[i];
            if (type == Ipv4OptionType.EndOfList) return;
            if (type == Ipv4OptionType.NoOperation) { i++; continue; }
            if (i + 1 >= options.Length) return;
            int length = options[i + 1];
            if (length < 2 || i + length > options.Length) return;
            var option = options.Slice(i, length);
            if (type == Ipv4OptionType.RecordRoute) RecordRoute(option, self);
            else if (type == Ipv4OptionType.Timestamp) RecordTimestamp(option, self, timestamp);
            i += length;
        }
    }

    /// <summary>
    /// Copies the Record Route and Timestamp options of a received echo request into <paramref name="destination"/> and
    /// returns their length: RFC 1122 §3.2.2.6 "If a Record Route and/or Time Stamp option is received in an ICMP Echo
    /// Request, this option (these options) SHOULD be updated to include the current host and included in the IP header
    /// of the Echo Reply message, without 'truncation'" (the update is <see cref="Stamp"/>, as the reply is sent).
    /// </summary>
    public static int EchoOptions(ReadOnlySpan<byte> received, Span<byte> destination)
    {
        int length = 0;
        foreach (var option in new Ipv4OptionEnumerator(received))
        {
            if (option.Type is not (Ipv4OptionType.RecordRoute or Ipv4OptionType.Timestamp)) continue;
            length += Ipv4Options.Write(destination[length..], option.Type, option.Data);
        }
        return length;
    }

    private static void RecordRoute(Span<byte> option, Ipv4Address self)
    {
        // RFC 791 §3.1: "The pointer is relative to this option, and the smallest legal value for the pointer is 4";
        // "If the route data area is already full (the pointer exceeds the length) the datagram is forwarded without
        // inserting the address into the recorded route."
        if (option.Length < 3) return;
        int pointer = option[2];
        if (pointer < 4 || pointer + 3 > option.Length) return;
        self.Write(option[(pointer - 1)..]);
        option[2] = (byte)(pointer + 4);
    }

    private static void RecordTimestamp(Span<byte> option, Ipv4Address self, uint timestamp)
    {
        // RFC 791 §3.1 Internet Timestamp: pointer (smallest legal value 5), then overflow (4 bits) and flag (4 bits).
        if (option.Length < 4) return;
        int pointer = option[2];
        int overflow = option[3] >> 4, flag = option[3] & 0x0F;
        if (pointer < 5) return;
        int slot = flag switch { 0 => 4, 1 or 3 => 8, _ => 0 };
        if (slot == 0) return; // an unknown flag: not an option we understand, left alone
        if (pointer + slot - 1 > option.Length)
        {
            // "If the timestamp data area is already full (the pointer exceeds the length) the datagram is forwarded
            // without inserting the timestamp, but the overflow count is incremented by one." (saturating here)
            if (overflow < 15) option[3] = (byte)(((overflow + 1) << 4) | flag);
            return;
        }
        var at = option[(pointer - 1)..];
        switch (flag)
        {
            case 0: // time stamps only
                BinaryPrimitives.WriteUInt32BigEndian(at, timestamp);
                break;
            case 1: // each timestamp preceded by the address of the registering entity
                self.Write(at);
                BinaryPrimitives.WriteUInt32BigEndian(at[4..], timestamp);
                break;
            case 3: // prespecified addresses: "registers its timestamp only if it matches its own address"
                if (Ipv4Address.Read(at) != self) return;
                BinaryPrimitives.WriteUInt32BigEndian(at[4..], timestamp);
                break;
        }
        option[2] = (byte)(pointer + slot);
    }
}
