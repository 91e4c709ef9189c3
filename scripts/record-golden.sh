#!/usr/bin/env bash
# Records the kernel golden captures pcaps/golden/kernel-<case>.pcap: real conversations with the Linux kernel that
# the replay tests (tests/NetStack.Tests/Replay/) compare our stack against.
#
# For each case the script makes two fresh network namespaces joined by a veth pair:
#   kernel side  ngk-PID  veth ngkPID  MAC 00:00:5e:00:53:01, 192.0.2.1/24, 2001:db8::1/64 (documentation addresses,
#                                      RFC 5737 / RFC 3849; MAC from the RFC 7042 documentation block)
#   peer side    ngp-PID  veth ngpPID  MAC 00:00:5e:00:53:02, no addresses, IPv6 disabled, ARP off: a silent wire
# tcpdump runs in the kernel namespace on the kernel's veth end; a small scapy program in the peer namespace writes
# fixed request frames (every byte fixed: addresses, ports, IDs, sequence numbers, payloads) onto the wire, step by
# step with fixed pauses; the capture holds the requests and the kernel's answers. Each capture ends with a marker
# frame (EtherType 0x88b5, IEEE local experimental) that the kernel ignores: the replay tests stop there, so the
# capture window is explicit.
#
# Run as root:  scripts/record-golden.sh [case ...]     (default: every case)
# Needs: iproute2, tcpdump, python3 with scapy (Debian: python3-scapy; set PYTHON if it is not /usr/bin/python3).
# Idempotent: every run makes its own uniquely named namespaces, removes them on exit (also on error or Ctrl-C),
# and overwrites the capture files. Nothing outside the namespaces it creates is touched.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=pcaps/golden
PYTHON=${PYTHON:-/usr/bin/python3}
ALL_CASES=(arp icmp-echo icmp-echo-frag udp-closed udp-closed-big tcp-closed tcp-open
           ndp-ns icmpv6-echo icmpv6-echo-frag udp6-closed udp6-closed-big tcp6-closed tcp6-open)

KMAC=00:00:5e:00:53:01
PMAC=00:00:5e:00:53:02
TCP_OPEN_PORT=8080

if [ "$(id -u)" -ne 0 ]; then echo "record-golden.sh: needs root (network namespaces)" >&2; exit 1; fi
for tool in ip tcpdump; do
  command -v "$tool" >/dev/null || { echo "record-golden.sh: $tool is not installed" >&2; exit 1; }
done
"$PYTHON" -c 'import scapy' 2>/dev/null || { echo "record-golden.sh: $PYTHON has no scapy (apt-get install python3-scapy)" >&2; exit 1; }

cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=("${ALL_CASES[@]}")
for c in "${cases[@]}"; do
  [[ " ${ALL_CASES[*]} " == *" $c "* ]] || { echo "record-golden.sh: unknown case '$c' (cases: ${ALL_CASES[*]})" >&2; exit 1; }
done

NSK="ngk-$$"; NSP="ngp-$$"; VK="ngk$$"; VP="ngp$$"
WORK=$(mktemp -d)
PIDS=()

teardown() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  PIDS=()
  ip netns del "$NSK" 2>/dev/null || true   # deleting a namespace deletes the veth pair with it
  ip netns del "$NSP" 2>/dev/null || true
}
cleanup() { teardown; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Turns off transmit checksum offload on a device (ETHTOOL_STXCSUM through SIOCETHTOOL; this machine has no ethtool):
# a veth otherwise hands TCP/UDP segments on with only the pseudo-header sum, and tcpdump records that.
cat >"$WORK/txcsum_off.py" <<'EOF'
import ctypes, fcntl, socket, struct, sys
value = ctypes.create_string_buffer(struct.pack("II", 0x17, 0), 8)  # struct ethtool_value { ETHTOOL_STXCSUM, 0 }
ifreq = struct.pack("16sP", sys.argv[1].encode(), ctypes.addressof(value))
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    fcntl.ioctl(s.fileno(), 0x8946, ifreq)  # SIOCETHTOOL
EOF

# The request frames of every case, and the pauses between them.
cat >"$WORK/inject.py" <<'EOF'
import logging, sys, time
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)  # no warnings about the namespace's unconfigured lo
from scapy.all import (ARP, Ether, ICMP, IP, IPv6, ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS,
                       ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, IPv6ExtHdrFragment, Raw, TCP, UDP, conf,
                       fragment, fragment6)

case, iface = sys.argv[1], sys.argv[2]
KMAC, PMAC = "00:00:5e:00:53:01", "00:00:5e:00:53:02"
K4, P4, K6, P6 = "192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2"
SNM_K6, SNM_K6_MAC = "ff02::1:ff00:1", "33:33:ff:00:00:01"   # solicited-node group of 2001:db8::1
ECHO_DATA = bytes((0x10 + i) & 0xFF for i in range(56))      # 56 bytes, as ping sends by default

def eth4(ip): return bytes(Ether(src=PMAC, dst=KMAC) / ip)
def eth6(ip): return bytes(Ether(src=PMAC, dst=KMAC) / ip)

arp_request = bytes(Ether(src=PMAC, dst="ff:ff:ff:ff:ff:ff") /
                    ARP(op=1, hwsrc=PMAC, psrc=P4, hwdst="00:00:00:00:00:00", pdst=K4))
arp_reply = bytes(Ether(src=PMAC, dst=KMAC) / ARP(op=2, hwsrc=PMAC, psrc=P4, hwdst=KMAC, pdst=K4))
ns = bytes(Ether(src=PMAC, dst=SNM_K6_MAC) / IPv6(src=P6, dst=SNM_K6, hlim=255) /
           ICMPv6ND_NS(tgt=K6) / ICMPv6NDOptSrcLLAddr(lladdr=PMAC))
na = bytes(Ether(src=PMAC, dst=KMAC) / IPv6(src=P6, dst=K6, hlim=255) /
           ICMPv6ND_NA(R=0, S=1, O=1, tgt=P6) / ICMPv6NDOptDstLLAddr(lladdr=PMAC))
echo4 = eth4(IP(src=P4, dst=K4, id=0x0101, flags="DF", ttl=64) / ICMP(type=8, id=0x4E53, seq=1) / Raw(ECHO_DATA))
big = IP(src=P4, dst=K4, id=0x0102, ttl=64) / ICMP(type=8, id=0x4E53, seq=2) / Raw(bytes(i & 0xFF for i in range(3000)))
echo4_frags = [eth4(f) for f in fragment(big, fragsize=1480)]
UDP_DATA = b"netstack golden udp probe\n"
BIG_UDP_DATA = bytes(i & 0xFF for i in range(1400))   # longer than an ICMP error may quote (576 / 1280 bytes)
udp4 = eth4(IP(src=P4, dst=K4, id=0x0103, flags="DF", ttl=64) / UDP(sport=40001, dport=9999) / Raw(UDP_DATA))
udp4_big = eth4(IP(src=P4, dst=K4, id=0x0106, flags="DF", ttl=64) / UDP(sport=40001, dport=9999) / Raw(BIG_UDP_DATA))
SYN_OPTIONS = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (12345, 0)), ("NOP", None), ("WScale", 7)]
def syn(dport): return eth4(IP(src=P4, dst=K4, id=0x0104, flags="DF", ttl=64) /
                            TCP(sport=40002, dport=dport, seq=1000, flags="S", window=64240, options=SYN_OPTIONS))
rst_after_syn = eth4(IP(src=P4, dst=K4, id=0x0105, flags="DF", ttl=64) /
                     TCP(sport=40002, dport=8080, seq=1001, flags="R", window=0))
SYN6_OPTIONS = [("MSS", 1440), ("SAckOK", b""), ("Timestamp", (12345, 0)), ("NOP", None), ("WScale", 7)]
def syn6(dport): return eth6(IPv6(src=P6, dst=K6, hlim=64) /
                             TCP(sport=40002, dport=dport, seq=1000, flags="S", window=64800, options=SYN6_OPTIONS))
rst6_after_syn = eth6(IPv6(src=P6, dst=K6, hlim=64) / TCP(sport=40002, dport=8080, seq=1001, flags="R", window=0))
echo6 = eth6(IPv6(src=P6, dst=K6, hlim=64) / ICMPv6EchoRequest(id=0x4E53, seq=1, data=ECHO_DATA))
big6 = (IPv6(src=P6, dst=K6, hlim=64) / IPv6ExtHdrFragment(id=0x4E530001) /
        ICMPv6EchoRequest(id=0x4E53, seq=2, data=bytes(i & 0xFF for i in range(3000))))
echo6_frags = [eth6(f) for f in fragment6(big6, 1500)]
udp6 = eth6(IPv6(src=P6, dst=K6, hlim=64) / UDP(sport=40001, dport=9999) / Raw(UDP_DATA))
udp6_big = eth6(IPv6(src=P6, dst=K6, hlim=64) / UDP(sport=40001, dport=9999) / Raw(BIG_UDP_DATA))
marker = bytes(Ether(src=PMAC, dst=KMAC, type=0x88B5) / Raw(b"netstack golden capture end".ljust(46, b"\0")))

# (pause before, frames): the pauses leave the kernel time to answer; the last pause covers retransmissions.
steps = {
    "arp":            [(0, [arp_request])],
    "icmp-echo":      [(0, [echo4]), (0.2, [arp_reply])],        # the kernel resolves us first (RFC 1122 §2.3.2.2)
    "icmp-echo-frag": [(0, [arp_request]), (0.2, echo4_frags)],
    "udp-closed":     [(0, [arp_request]), (0.2, [udp4])],
    "udp-closed-big": [(0, [arp_request]), (0.2, [udp4_big])],
    "tcp-closed":     [(0, [arp_request]), (0.2, [syn(8081)])],
    "tcp-open":       [(0, [arp_request]), (0.2, [syn(8080)]), (0.2, [rst_after_syn])],
    "ndp-ns":         [(0, [ns])],
    "icmpv6-echo":    [(0, [echo6]), (0.2, [na])],                # the kernel resolves us first (RFC 4861 §7.2.2)
    "icmpv6-echo-frag": [(0, [ns]), (0.2, echo6_frags)],
    "udp6-closed":    [(0, [ns]), (0.2, [udp6])],
    "udp6-closed-big": [(0, [ns]), (0.2, [udp6_big])],
    "tcp6-closed":    [(0, [ns]), (0.2, [syn6(8081)])],
    "tcp6-open":      [(0, [ns]), (0.2, [syn6(8080)]), (0.2, [rst6_after_syn])],
}[case]
tail = 1.5 if case in ("tcp-open", "tcp6-open") else 0.5   # tcp-open: past the kernel's 1 s SYN-ACK retransmission timer

sock = conf.L2socket(iface=iface)
for pause, frames in steps:
    time.sleep(pause)
    for f in frames:
        sock.send(f)
time.sleep(tail)
sock.send(marker)
time.sleep(0.2)
sock.close()
EOF

setup() {
  ip netns add "$NSK"
  ip netns add "$NSP"
  ip -n "$NSK" link set lo up
  ip link add "$VK" netns "$NSK" type veth peer name "$VP" netns "$NSP"
  # Kernel side: no DAD, no router solicitations, MLD reports done quickly (all before the capture starts).
  ip netns exec "$NSK" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
    "net.ipv6.conf.$VK.accept_dad=0" "net.ipv6.conf.$VK.dad_transmits=0" "net.ipv6.conf.$VK.accept_ra=0" \
    "net.ipv6.conf.$VK.router_solicitations=0" "net.ipv6.conf.$VK.mldv2_unsolicited_report_interval=10" \
    "net.ipv6.conf.$VK.mldv1_unsolicited_report_interval=10"
  ip -n "$NSK" link set "$VK" address "$KMAC"
  ip -n "$NSK" addr add 192.0.2.1/24 dev "$VK"
  ip -n "$NSK" addr add 2001:db8::1/64 dev "$VK" nodad
  ip netns exec "$NSK" "$PYTHON" "$WORK/txcsum_off.py" "$VK"
  # Peer side: a silent wire end (no addresses, no IPv6, no ARP); frames come only from inject.py.
  ip netns exec "$NSP" sysctl -qw "net.ipv6.conf.$VP.disable_ipv6=1"
  ip -n "$NSP" link set "$VP" address "$PMAC" arp off
  ip -n "$NSK" link set "$VK" up
  ip -n "$NSP" link set "$VP" up
}

# Waits (up to 10 s) until a command succeeds.
wait_for() {
  local i
  for i in $(seq 100); do "$@" && return 0; sleep 0.1; done
  echo "record-golden.sh: timed out waiting for: $*" >&2
  return 1
}

record() {
  local case=$1 out="$OUT/kernel-$1.pcap"
  setup
  if [ "$case" = tcp-open ] || [ "$case" = tcp6-open ]; then
    local family=AF_INET address=192.0.2.1
    [ "$case" = tcp6-open ] && family=AF_INET6 address=2001:db8::1
    ip netns exec "$NSK" "$PYTHON" -c "
import socket, time
s = socket.socket(socket.$family, socket.SOCK_STREAM)
s.bind(('$address', $TCP_OPEN_PORT))
s.listen(8)
time.sleep(600)" &
    PIDS+=($!)
    wait_for sh -c "ip netns exec $NSK ss -Hltn 'sport = :$TCP_OPEN_PORT' | grep -q LISTEN"
  fi
  sleep 2 # let the kernel's own start-up traffic (MLD reports) finish before the capture starts
  ip netns exec "$NSK" tcpdump -Z root -i "$VK" -n -s 0 -U --immediate-mode -w "$WORK/$case.pcap" 2>"$WORK/tcpdump.err" &
  local tcpdump=$!
  PIDS+=("$tcpdump")
  wait_for grep -q "listening on" "$WORK/tcpdump.err"
  ip netns exec "$NSP" "$PYTHON" "$WORK/inject.py" "$case" "$VP"
  sleep 0.3
  kill -INT "$tcpdump"
  wait "$tcpdump" || true
  teardown
  mv "$WORK/$case.pcap" "$out"
  echo "$out: $(tcpdump -n -r "$out" 2>/dev/null | grep -c '^[0-9]') frames"
}

mkdir -p "$OUT"
for c in "${cases[@]}"; do record "$c"; done
