/* tap_bench: the C reference for NetStack's TAP benchmark (bench/tap/run.sh).
 *
 *   tap_bench tx    IFNAME SIZE SECONDS   attach to TAP IFNAME, write SIZE-byte frames as fast as possible
 *   tap_bench rx    IFNAME SECONDS        attach to TAP IFNAME, poll() + read() until EAGAIN, count frames
 *   tap_bench blast IFNAME SIZE SECONDS   kernel side: send SIZE-byte frames out of IFNAME through an
 *                                         AF_PACKET socket (qdisc bypassed), so they arrive at the TAP's reader
 *
 * tx and rx print one line "fps=<frames per wall-clock second> cpufps=<frames per CPU-second of this
 * process>" over the measured window, after a 0.5 s warm-up
 * (the same warm-up as the C# harness). Frames are broadcast with the IEEE local experimental EtherType
 * 0x88B5, which the kernel drops after the protocol lookup.
 * Build: cc -O2 -o tap_bench tap_bench.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 0.5

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system) this process has used: frames per CPU-second is steady on a shared machine. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int open_tap(const char *name)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) { perror("open /dev/net/tun"); exit(1); }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); exit(1); }
    return fd;
}

static void fill_frame(unsigned char *f, int size)
{
    memset(f, 0, size);
    memset(f, 0xff, 6);                                        /* broadcast */
    unsigned char src[6] = {0x02, 0x00, 0x5e, 0x00, 0x53, 0x42};
    memcpy(f + 6, src, 6);
    f[12] = 0x88; f[13] = 0xb5;                                /* local experimental EtherType */
}

static int tx(const char *name, int size, double seconds)
{
    int fd = open_tap(name);
    unsigned char frame[2048];
    fill_frame(frame, size);
    long frames = 0, drops = 0;
    double start = now_s(), measure_from = start + WARMUP, end = measure_from + seconds, t0 = 0, c0 = 0;
    int measuring = 0;
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (write(fd, frame, size) == size) frames++; else drops++;
        }
        double t = now_s();
        if (!measuring && t >= measure_from) { measuring = 1; frames = 0; drops = 0; t0 = t; c0 = cpu_s(); }
        if (t >= end) { printf("fps=%.0f cpufps=%.0f drops=%ld\n", frames / (t - t0), frames / (cpu_s() - c0), drops); break; }
    }
    close(fd);
    return 0;
}

static int rx(const char *name, double seconds)
{
    int fd = open_tap(name);
    unsigned char buf[65536];
    struct pollfd p = { .fd = fd, .events = POLLIN };
    long frames = 0;
    double measure_from = 0, end = 0, t0 = 0, t = 0, c0 = 0;
    int state = 0; /* 0: waiting for the first frame, 1: warm-up, 2: measuring */
    for (;;) {
        if (poll(&p, 1, 100) < 0 && errno != EINTR) { perror("poll"); return 1; }
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) frames++;
        t = now_s();
        if (state == 0 && frames > 0) { state = 1; measure_from = t + WARMUP; }
        else if (state == 1 && t >= measure_from) { state = 2; frames = 0; t0 = t; c0 = cpu_s(); end = t + seconds; }
        else if (state == 2 && t >= end) break;
    }
    printf("fps=%.0f cpufps=%.0f\n", frames / (t - t0), frames / (cpu_s() - c0));
    close(fd);
    return 0;
}

static int blast(const char *name, int size, double seconds)
{
    int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (s < 0) { perror("socket AF_PACKET"); return 1; }
    int one = 1;
    setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) { perror("SIOCGIFINDEX"); return 1; }
    sll.sll_ifindex = ifr.ifr_ifindex;
    sll.sll_protocol = htons(0x88b5);
    if (sll.sll_ifindex == 0 || bind(s, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("bind"); return 1; }
    unsigned char frame[2048];
    fill_frame(frame, size);
    struct iovec iov = { frame, (size_t)size };
    struct mmsghdr msgs[64];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < 64; i++) { msgs[i].msg_hdr.msg_iov = &iov; msgs[i].msg_hdr.msg_iovlen = 1; }
    double end = now_s() + seconds;
    long sent = 0;
    while (now_s() < end) {
        int r = sendmmsg(s, msgs, 64, 0);
        if (r > 0) sent += r; else usleep(10); /* ENETDOWN before the reader attaches, ENOBUFS: retry */
    }
    fprintf(stderr, "blast: sent %ld\n", sent);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "tx")) return tx(argv[2], atoi(argv[3]), atof(argv[4]));
    if (argc == 4 && !strcmp(argv[1], "rx")) return rx(argv[2], atof(argv[3]));
    if (argc == 5 && !strcmp(argv[1], "blast")) return blast(argv[2], atoi(argv[3]), atof(argv[4]));
    fprintf(stderr, "usage: tap_bench tx IFNAME SIZE SECONDS | rx IFNAME SECONDS | blast IFNAME SIZE SECONDS\n");
    return 2;
}
