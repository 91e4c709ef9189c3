// flooder: hostile frames from spoofed on-link sources, written into ONE interface through an AF_PACKET socket bound
// to it (run it inside the test's network namespace, on the kernel side of the TAP the stack under test reads).
// Used by tests/NetStack.Interop.Tests/Flood and bench/flood/*.sh (issue 13, "Floods" and "Neighbour caches").
//
//   flooder IFNAME DSTMAC MODE DST SRCPREFIX RATE SECONDS [PORT]
//     MODE  syn4   TCP SYNs to DST:PORT (IPv4) from SRCPREFIX.H, H random in 16..254 except 1..15 (the test's hosts)
//           syn6   TCP SYNs to [DST]:PORT from SRCPREFIX::/64 with random interface identifiers (IPv6)
//           echo4  ICMP echo requests to DST from SRCPREFIX.H (every source needs an ARP resolution to answer)
//           echo6  ICMPv6 echo requests to DST from SRCPREFIX::/64, random identifiers (each needs an NDP resolution)
//           ra     ONE Router Advertisement to ff02::1 from fe80::bad with Retrans Timer 0xFFFFFFFF and router lifetime 0
//                  (RATE, SECONDS ignored)
//     SRCPREFIX  IPv4: three octets "198.51.100", or several /24s separated by commas ("198.51.100,192.0.2,203.0.113":
//                sources are drawn from all of them); IPv6: the /64 as four groups "2001:db8:1:0"
//     RATE   frames per second (0: as fast as the socket takes them); SECONDS: how long
//   Prints "sent N frames in S s = R/s (F refused by the socket)": N the device queued, F it dropped (its queue was full
//   or its socket filter refused them; at RATE 0 the flooder does not back off for those, and a second line gives the
//   offered rate, sent + refused).
//
// Network safety: the socket is bound to IFNAME only; source MACs are random locally administered unicast addresses;
// the caller passes documentation addresses (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) only.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static uint64_t rng = 88172645463325252ull;
static uint64_t next_random(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) s += (uint32_t)(p[n - 1] << 8);
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }

static int parse_mac(const char *s, uint8_t *mac)
{
    unsigned m[6];
    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) return -1;
    for (int i = 0; i < 6; i++) mac[i] = (uint8_t)m[i];
    return 0;
}

// Ethernet header with a random locally administered unicast source MAC.
static void ether(uint8_t *f, const uint8_t *dst, uint16_t type)
{
    memcpy(f, dst, 6);
    uint64_t r = next_random();
    for (int i = 0; i < 6; i++) f[6 + i] = (uint8_t)(r >> (8 * i));
    f[6] = (uint8_t)((f[6] & 0xfc) | 0x02);
    put16(f + 12, type);
}

// A TCP SYN header with options, as Linux sends it (MSS, SACK permitted, timestamps, window scale 7), from a random
// port and with a random sequence number; the checksum is left zero.
static void syn(uint8_t *l4, uint16_t port, uint16_t window, uint16_t mss)
{
    uint64_t r = next_random();
    put16(l4, (uint16_t)(1024 + (r % 60000)));
    put16(l4 + 2, port);
    memcpy(l4 + 4, &r, 4);
    l4[12] = 10 << 4;
    l4[13] = 0x02;
    put16(l4 + 14, window);
    static const uint8_t opts[] = { 2, 4, 0, 0, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7 };
    memcpy(l4 + 20, opts, sizeof opts);
    put16(l4 + 22, mss);
}

// An ICMP or ICMPv6 echo request (TYPE) of LEN bytes: random identifier, sequence 1, a counting pattern; checksum zero.
static void echo(uint8_t *l4, uint8_t type, size_t len)
{
    l4[0] = type;
    put16(l4 + 4, (uint16_t)next_random());
    put16(l4 + 6, 1);
    for (int i = 8; i < (int)len; i++) l4[i] = (uint8_t)i;
}

// IPv4 + TCP SYN (MSS 1460, SACK permitted, timestamps, window scale 7, as Linux sends) or ICMP echo request.
static size_t frame4(uint8_t *f, const uint8_t *dmac, int icmp, const uint8_t *src, const uint8_t *dst, uint16_t port)
{
    ether(f, dmac, 0x0800);
    uint8_t *ip = f + 14;
    size_t l4len = icmp ? 8 + 32 : 40;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + l4len));
    put16(ip + 4, (uint16_t)next_random());
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = icmp ? 1 : 6;
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    put16(ip + 10, fold(sum16(ip, 20, 0)));
    uint8_t *l4 = ip + 20;
    memset(l4, 0, l4len);
    if (icmp)
    {
        echo(l4, 8, l4len);
        put16(l4 + 2, fold(sum16(l4, l4len, 0)));
    }
    else
    {
        syn(l4, port, 64240, 1460);
        uint8_t pseudo[12];
        memcpy(pseudo, src, 4);
        memcpy(pseudo + 4, dst, 4);
        pseudo[8] = 0;
        pseudo[9] = 6;
        put16(pseudo + 10, (uint16_t)l4len);
        put16(l4 + 16, fold(sum16(l4, l4len, sum16(pseudo, 12, 0))));
    }
    return 14 + 20 + l4len;
}

// IPv6 + TCP SYN / ICMPv6 echo request / Router Advertisement.
static size_t frame6(uint8_t *f, const uint8_t *dmac, int kind, const uint8_t *src, const uint8_t *dst, uint16_t port)
{
    ether(f, dmac, 0x86dd);
    uint8_t *ip = f + 14;
    size_t l4len = kind == 0 ? 40 : kind == 1 ? 8 + 32 : 16;
    memset(ip, 0, 40);
    ip[0] = 0x60;
    put16(ip + 4, (uint16_t)l4len);
    ip[6] = kind == 0 ? 6 : 58;
    ip[7] = kind == 2 ? 255 : 64;
    memcpy(ip + 8, src, 16);
    memcpy(ip + 24, dst, 16);
    uint8_t *l4 = ip + 40;
    memset(l4, 0, l4len);
    int csum_at;
    if (kind == 0)
    {
        syn(l4, port, 64800, 1440);
        csum_at = 16;
    }
    else if (kind == 1)
    {
        echo(l4, 128, l4len);
        csum_at = 2;
    }
    else
    {
        // RFC 4861 §4.2: type 134, code 0, cur hop limit 64, flags 0, router lifetime 0 (not a default router),
        // reachable time 0 (unspecified), retrans timer 0xFFFFFFFF ms (the rogue value: 49 days).
        l4[0] = 134;
        l4[4] = 64;
        l4[12] = l4[13] = l4[14] = l4[15] = 0xff;
        csum_at = 2;
    }
    uint8_t pseudo[40];
    memcpy(pseudo, src, 16);
    memcpy(pseudo + 16, dst, 16);
    memset(pseudo + 32, 0, 8);
    put16(pseudo + 34, (uint16_t)l4len);
    pseudo[39] = ip[6];
    put16(l4 + csum_at, fold(sum16(l4, l4len, sum16(pseudo, 40, 0))));
    return 14 + 40 + l4len;
}

int main(int argc, char **argv)
{
    if (argc < 8)
    {
        fprintf(stderr, "usage: flooder IFNAME DSTMAC syn4|syn6|echo4|echo6|ra DST SRCPREFIX RATE SECONDS [PORT]\n");
        return 2;
    }
    const char *ifname = argv[1], *mode = argv[3];
    uint8_t dmac[6];
    if (parse_mac(argv[2], dmac)) { fprintf(stderr, "bad MAC %s\n", argv[2]); return 2; }
    double rate = atof(argv[6]), seconds = atof(argv[7]);
    uint16_t port = argc > 8 ? (uint16_t)atoi(argv[8]) : 80;
    int v6 = strcmp(mode, "syn6") == 0 || strcmp(mode, "echo6") == 0 || strcmp(mode, "ra") == 0;
    int kind = (strcmp(mode, "syn4") == 0 || strcmp(mode, "syn6") == 0) ? 0 : strcmp(mode, "ra") == 0 ? 2 : 1;
    if (!v6 && strcmp(mode, "syn4") != 0 && strcmp(mode, "echo4") != 0) { fprintf(stderr, "bad mode %s\n", mode); return 2; }

    uint8_t dst4[4], dst6[16], pre4[8][4] = { { 0 } }, pre6[16] = { 0 };
    int npre4 = 0;
    if (v6)
    {
        if (inet_pton(AF_INET6, argv[4], dst6) != 1) { fprintf(stderr, "bad IPv6 %s\n", argv[4]); return 2; }
        char buf[64];
        snprintf(buf, sizeof buf, "%s::", argv[5]);
        if (inet_pton(AF_INET6, buf, pre6) != 1) { fprintf(stderr, "bad prefix %s\n", argv[5]); return 2; }
        // Documentation or unique-local space only (2001:db8::/32, fd00::/8).
        if (!((pre6[0] == 0x20 && pre6[1] == 0x01 && pre6[2] == 0x0d && pre6[3] == 0xb8) || pre6[0] == 0xfd)) { fprintf(stderr, "prefix not 2001:db8::/32 or fd00::/8\n"); return 2; }
    }
    else
    {
        if (inet_pton(AF_INET, argv[4], dst4) != 1) { fprintf(stderr, "bad IPv4 %s\n", argv[4]); return 2; }
        char list[256];
        snprintf(list, sizeof list, "%s", argv[5]);
        for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok != NULL && npre4 < 8; tok = strtok_r(NULL, ",", &save))
        {
            char buf[32];
            uint8_t *pre = pre4[npre4++];
            snprintf(buf, sizeof buf, "%s.0", tok);
            if (inet_pton(AF_INET, buf, pre) != 1) { fprintf(stderr, "bad prefix %s\n", tok); return 2; }
            int doc = (pre[0] == 192 && pre[1] == 0 && pre[2] == 2) || (pre[0] == 198 && pre[1] == 51 && pre[2] == 100)
                      || (pre[0] == 203 && pre[1] == 0 && pre[2] == 113);
            if (!doc) { fprintf(stderr, "prefix %s is not a documentation /24\n", tok); return 2; }
        }
        if (npre4 == 0) { fprintf(stderr, "no prefix\n"); return 2; }
    }

    int fd = socket(AF_PACKET, SOCK_RAW, 0); // protocol 0: send only, receive nothing
    if (fd < 0) { perror("socket"); return 1; }
    struct sockaddr_ll sll = { 0 };
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = (int)if_nametoindex(ifname);
    if (sll.sll_ifindex == 0) { perror("if_nametoindex"); return 1; }
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("bind"); return 1; }
    int one = 1;
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    rng ^= (uint64_t)getpid() << 20 ^ (uint64_t)(now_s() * 1e6);

    static uint8_t frames[BATCH][128];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    memset(msgs, 0, sizeof msgs);

    if (kind == 2)
    {
        static const uint8_t allnodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
        uint8_t src[16] = { 0xfe, 0x80 }, all[16] = { 0xff, 0x02 };
        src[14] = 0x0b; src[15] = 0xad;
        all[15] = 1;
        (void)dmac;
        size_t n = frame6(frames[0], allnodes_mac, 2, src, all, 0);
        if (send(fd, frames[0], n, 0) < 0) { perror("send"); return 1; }
        printf("sent 1 frames in 0 s = 0/s\n");
        return 0;
    }

    double start = now_s(), end = start + seconds;
    unsigned long long sent = 0, failed = 0;
    double forgiven = 0;
    for (;;)
    {
        double t = now_s();
        if (t >= end) break;
        int n = BATCH;
        if (rate > 0)
        {
            // Paced: never ahead of RATE; sleep while ahead. A debt of more than 10 ms (the flooder was descheduled, or
            // the TAP refused frames) is forgiven rather than sent as one burst: the offered rate stays smooth.
            double due = (t - start) * rate - (double)sent - forgiven;
            if (due > rate * 0.01 + BATCH) { forgiven += due - BATCH; due = BATCH; }
            if (due < 1) { struct timespec ts = { 0, 200000 }; nanosleep(&ts, NULL); continue; }
            if (due < n) n = (int)due;
        }
        for (int i = 0; i < n; i++)
        {
            size_t len;
            if (v6)
            {
                uint8_t src[16];
                memcpy(src, pre6, 8);
                uint64_t r = next_random();
                memcpy(src + 8, &r, 8);
                src[8] &= 0xfd; // not the stack's or the kernel's ::1 / ::3 in practice (random 64 bits)
                len = frame6(frames[i], dmac, kind, src, dst6, port);
            }
            else
            {
                uint64_t r = next_random();
                const uint8_t *pre = pre4[r % (uint64_t)npre4];
                uint8_t src[4] = { pre[0], pre[1], pre[2], (uint8_t)(16 + (r >> 8) % 239) };
                len = frame4(frames[i], dmac, kind == 1, src, dst4, port);
            }
            iov[i].iov_base = frames[i];
            iov[i].iov_len = len;
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        for (int off = 0; off < n;)
        {
            int r = sendmmsg(fd, msgs + off, (unsigned)(n - off), 0);
            if (r >= 0) { sent += (unsigned)r; off += r; continue; }
            if (errno != ENOBUFS && errno != EAGAIN) { perror("sendmmsg"); return 1; }
            // The device dropped this frame (tun_net_xmit: its queue was full, or its socket filter refused the frame).
            failed++;
            off++;
            if (rate > 0)
            {
                // Paced: the rest of the batch is owed (and offered again on time). Yield briefly rather than spin,
                // which would take the CPU the reader needs on a small machine.
                failed += (unsigned)(n - off);
                struct timespec ts = { 0, 50000 };
                nanosleep(&ts, NULL);
                break;
            }
            // As fast as it goes: an attacker does not back off; the rest of the batch is offered at once.
        }
    }
    double took = now_s() - start;
    printf("sent %llu frames in %.2f s = %.0f/s (%llu refused by the socket)\n", sent, took, sent / took, failed);
    if (rate == 0) printf("offered %llu frames = %.0f/s (sent + refused: every frame reached the device)\n", sent + failed, (sent + failed) / took);
    return 0;
}
