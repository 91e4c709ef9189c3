namespace NetStack.Interop.Tests.Traceroute;

/// <summary>
/// A hop that answers what a kernel router never sends: a Python script (raw sockets, standard library only) in the
/// lab's namespace X behind R2, reading every IPv4 probe to 203.0.113.40/30 off its link (AF_PACKET) and answering it
/// itself; an nftables rule in X drops the probes before X's kernel sees them. A probe that arrives with TTL 1 (hop 3)
/// gets a time-exceeded from X (192.0.2.26); a later one gets the answer of its target (to .41 an echo request gets its echo reply):
/// <list type="bullet">
/// <item><see cref="ExtensionTarget"/>: hop 3's time-exceeded carries an RFC 4884 extension structure with one
/// non-MPLS object (class 2, c-type 14, data 0000000c c0000201); the target answers port unreachable.</item>
/// <item><see cref="Code16Target"/>: the target answers destination unreachable with code 16 (no such code, RFC 792 and
/// its successors define 0-15).</item>
/// <item><see cref="FragNeededTarget"/>: the target answers "fragmentation needed" (MTU 1400, RFC 1191) to every probe,
/// whether or not it was sent with DF.</item>
/// </list>
/// In IPv6 (probes to 2001:db8:99::40/126, X at 2001:db8:26::26) it crafts the extension case only:
/// <see cref="ExtensionTargetV6"/>'s hop 3 answers time-exceeded with the same extension (RFC 4884 §4.3: the length in
/// 64-bit words), its target port unreachable or the echo reply.
/// </summary>
internal static class CraftingResponder
{
    public const string ExtensionTarget = "203.0.113.41";
    public const string Code16Target = "203.0.113.42";
    public const string FragNeededTarget = "203.0.113.43";
    public const string HopAddress = "192.0.2.26";
    public const string ExtensionTargetV6 = "2001:db8:99::41";
    public const string HopAddressV6 = "2001:db8:26::26";

    /// <summary>argv: interface name, ready file (written once the socket is bound).</summary>
    public const string Script = """
import socket, struct, sys

IFACE, READY = sys.argv[1], sys.argv[2]
HOP = socket.inet_aton("192.0.2.26")
EXT, CODE16, FRAG = (socket.inet_aton(a) for a in ("203.0.113.41", "203.0.113.42", "203.0.113.43"))

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def icmp(typ, code, rest, payload):
    h = struct.pack("!BBH", typ, code, 0) + rest
    c = csum(h + payload)
    return struct.pack("!BBH", typ, code, c) + rest + payload

def ip(src, dst, body):
    # RFC 791 header; the kernel fills in the checksum and the identification (IP_HDRINCL).
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0, 64, 1, 0, src, dst) + body

HOP6 = socket.inet_pton(socket.AF_INET6, "2001:db8:26::26")
EXT6 = socket.inet_pton(socket.AF_INET6, "2001:db8:99::41")

def extension():
    # RFC 4884 §7: version 2, a checksum over the structure, one object (length 12, class 2, c-type 14).
    obj = struct.pack("!HBB", 12, 2, 14) + bytes.fromhex("0000000cc0000201")
    ext = struct.pack("!BBH", 0x20, 0, 0) + obj
    return ext[:2] + struct.pack("!H", csum(ext)) + ext[4:]

def icmp6(src, dst, typ, code, rest, payload):
    body = struct.pack("!BBH", typ, code, 0) + rest + payload
    pseudo = src + dst + struct.pack("!I3xB", len(body), 58)
    c = csum(pseudo + body)
    body = body[:2] + struct.pack("!H", c) + body[4:]
    return struct.pack("!IHBB16s16s", 6 << 28, len(body), 58, 64, src, dst) + body

def answer6(pkt):
    if len(pkt) < 40: return
    nh, hlim, src, dst = pkt[6], pkt[7], pkt[8:24], pkt[24:40]
    if dst != EXT6: return
    if hlim <= 1:
        # RFC 4884 §4.3 (ICMPv6 time exceeded): the original datagram padded to 128 bytes, its length in 64-bit words
        # in the first byte of the unused field.
        quoted = pkt[:128].ljust(128, b"\0")
        out = icmp6(HOP6, src, 3, 0, struct.pack("!BBH", len(quoted) // 8, 0, 0), quoted + extension())
    elif nh == 58 and len(pkt) >= 48 and pkt[40] == 128:
        out = icmp6(dst, src, 129, 0, pkt[44:48], pkt[48:])
    else:
        out = icmp6(dst, src, 1, 4, b"\0\0\0\0", pkt[:1232])
    tx6.sendto(out, (socket.inet_ntop(socket.AF_INET6, src), 0))

rx = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))
rx.bind((IFACE, 3))
tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
# An IPv6 raw socket of protocol IPPROTO_RAW sends the header it is given (as IPV6_HDRINCL).
tx6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
open(READY, "w").close()
while True:
    pkt, addr = rx.recvfrom(65535)
    if addr[2] == socket.PACKET_OUTGOING or len(pkt) < 20: continue
    if addr[1] == 0x86DD and pkt[0] >> 4 == 6:
        answer6(pkt)
        continue
    if addr[1] != 0x0800 or pkt[0] >> 4 != 4: continue
    ihl = (pkt[0] & 15) * 4
    ttl, src, dst = pkt[8], pkt[12:16], pkt[16:20]
    if dst not in (EXT, CODE16, FRAG): continue
    if ttl <= 1:
        if dst == EXT:
            # RFC 4884 §4.2: the original datagram padded to 128 bytes, its length in 32-bit words in the second byte
            # of the unused field; then the extension structure (version 2, checksum) with one object (RFC 4884 §7).
            quoted = pkt[:128].ljust(128, b"\0")
            msg = icmp(11, 0, struct.pack("!BBH", 0, len(quoted) // 4, 0), quoted + extension())
        else:
            msg = icmp(11, 0, b"\0\0\0\0", pkt[:ihl + 8])
        tx.sendto(ip(HOP, src, msg), (socket.inet_ntoa(src), 0))
        continue
    if dst == EXT and pkt[9] == 1 and len(pkt) >= ihl + 8 and pkt[ihl] == 8:
        # An echo request (traceroute -I) reaching its target: the echo reply (RFC 792), from the target.
        msg = icmp(0, 0, pkt[ihl + 4:ihl + 8], pkt[ihl + 8:])
        tx.sendto(ip(dst, src, msg), (socket.inet_ntoa(src), 0))
        continue
    if dst == EXT: msg = icmp(3, 3, b"\0\0\0\0", pkt[:ihl + 8])
    elif dst == CODE16: msg = icmp(3, 16, b"\0\0\0\0", pkt[:ihl + 8])
    else: msg = icmp(3, 4, struct.pack("!HH", 0, 1400), pkt[:ihl + 8])
    tx.sendto(ip(dst, src, msg), (socket.inet_ntoa(src), 0))
""";
}
