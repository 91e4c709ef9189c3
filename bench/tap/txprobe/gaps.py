#!/usr/bin/env python3
"""gaps.py CAPTURE [GAP_MS] — reads a txprobe.sh capture (IPv4, chargen on port 19) and prints per connection: its
duration, data frames (super-frames) and their mean size, ACKs, the silences longer than GAP_MS (default 4) with
which side spoke last, and the bytes not yet acknowledged by the kernel at each data frame (median, p90, max)."""
import statistics
import struct
import sys


def frames(path):
    with open(path, 'rb') as f:
        header = f.read(24)
        nano = struct.unpack('<I', header[:4])[0] == 0xa1b23c4d
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            sec, frac, incl, _ = struct.unpack('<IIII', h)
            d = f.read(incl)
            if d[12:14] != b'\x08\x00':
                continue  # IPv4 only
            ihl = (d[14] & 15) * 4
            tcp = 14 + ihl
            sport, dport, seq, ack = struct.unpack('>HHII', d[tcp:tcp + 12])
            doff = (d[tcp + 12] >> 4) * 4
            payload = struct.unpack('>H', d[16:18])[0] - ihl - doff
            yield sec + frac / (1e9 if nano else 1e6), sport == 19, dport if sport == 19 else sport, seq, ack, payload, d[tcp + 13]


def main():
    gap = (float(sys.argv[2]) if len(sys.argv) > 2 else 4) / 1000
    conns = {}
    for fr in frames(sys.argv[1]):
        conns.setdefault(fr[2], []).append(fr)
    for port, fs in conns.items():
        data = [f for f in fs if f[1] and f[5] > 0]
        acks = [f for f in fs if not f[1]]
        silences = [(b[0] - a[0], 'netstackd' if a[1] else 'kernel') for a, b in zip(fs, fs[1:]) if b[0] - a[0] > gap]
        nxt = una = None
        unacked = []
        for t, ours, _, seq, ack, payload, flags in fs:
            if ours and payload > 0:
                end = (seq + payload) & 0xffffffff
                if nxt is None or ((end - nxt) & 0xffffffff) < 2**31:
                    nxt = end
                if una is not None and ((nxt - una) & 0xffffffff) < 2**31:
                    unacked.append((nxt - una) & 0xffffffff)
            elif not ours and not flags & 4:
                una = ack
        size = sum(f[5] for f in data) / max(1, len(data))
        last = {}
        for _, who in silences:
            last[who] = last.get(who, 0) + 1
        print(f"conn {port}: {fs[-1][0] - fs[0][0]:.3f} s, {len(data)} data frames of {size:.0f} B on average, {len(acks)} ACKs; "
              f"{len(silences)} silences > {gap * 1e3:.0f} ms totalling {sum(s for s, _ in silences):.3f} s (last to speak: {last})")
        if unacked:
            unacked.sort()
            print(f"    un-ACKed at each data frame: median {statistics.median(unacked) / 1e3:.0f} KB, "
                  f"p90 {unacked[int(len(unacked) * 0.9)] / 1e3:.0f} KB, max {unacked[-1] / 1e3:.0f} KB")


if __name__ == '__main__':
    main()
