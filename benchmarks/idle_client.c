/* The load side of idle_many.py: opens COUNT WebSocket connections and holds them, answering
 * the server's pings, in one thread with epoll (cheap: the server is what is measured).
 *
 *     idle_client HOST PORT PATH COUNT FIRST_ADDRESS PER_ADDRESS INFLIGHT HOLD PERIOD
 *
 * Connection i binds the source address 127.a.b.c numbered FIRST_ADDRESS + i / PER_ADDRESS
 * (1 is 127.0.0.1; the kernel picks the port at connect, IP_BIND_ADDRESS_NO_PORT), so that
 * more than the ~28k ephemeral ports of one address pair can be open. At most INFLIGHT
 * handshakes are under way at once. Once every connection is open (or failed) it prints
 *     open OPENED FAILED SECONDS
 * then holds them until its standard input ends (or HOLD seconds pass), answering each ping with a pong (masked, as a client must), and
 * prints
 *     held PINGS CLOSED          (PINGS: since a line came on standard input, if one did)
 *     late BUCKET COUNT          (one line per non-empty 0.1 ms bucket)
 * where a ping's lateness is the time since the connection's previous ping minus PERIOD (the
 * server's ping_interval, or its ping_timeout when that is longer: one ping is out at a time), and
 * exits (closing every connection at once).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define BUCKETS 100000 /* 0.1 ms each: up to 10 s */
#define STDIN_MARK (~0UL)

enum { CONNECTING, SENT, OPEN, DEAD };

struct conn {
    int fd;
    unsigned char state;
    unsigned char fill; /* bytes of an unfinished frame in buf */
    unsigned char buf[14];
    double last_ping;
};

static struct conn *conns;
static long histogram[BUCKETS];
static char request[512];
static size_t request_len;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int start(int epfd, long i, struct sockaddr_in *server, long first, long per_address) {
    struct conn *c = &conns[i];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    long n = first + i / per_address;
    struct sockaddr_in source = {.sin_family = AF_INET};
    source.sin_addr.s_addr = htonl((127UL << 24) | (unsigned long)(n & 0xffffff));
    if (bind(fd, (struct sockaddr *)&source, sizeof source) < 0) {
        close(fd);
        return -1;
    }
    if (connect(fd, (struct sockaddr *)server, sizeof *server) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->state = CONNECTING;
    c->fill = 0;
    c->last_ping = 0;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u64 = (unsigned long)i};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static long pings, closed_count;
static double period;

/* Read what the server sent on an open connection: answer pings, note closes. */
static void on_readable(int epfd, struct conn *c, double t) {
    unsigned char pong[6 + 8];
    ssize_t got = read(c->fd, c->buf + c->fill, sizeof c->buf - c->fill);
    if (got <= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        c->state = DEAD;
        closed_count++;
        return;
    }
    c->fill += (unsigned char)got;
    while (c->fill >= 2) {
        unsigned opcode = c->buf[0] & 0x0f, length = c->buf[1] & 0x7f;
        if (length > 8 || c->fill < 2 + length) return; /* pings here carry 4 bytes */
        if (opcode == 0x9) {
            pong[0] = 0x8a;
            pong[1] = (unsigned char)(0x80 | length);
            memset(pong + 2, 0, 4); /* a zero mask: the payload goes as it came */
            memcpy(pong + 6, c->buf + 2, length);
            if (write(c->fd, pong, 6 + length) < 0) return;
            pings++;
            if (c->last_ping > 0) {
                double late = (t - c->last_ping) - period;
                long bucket = late <= 0 ? 0 : (long)(late * 1e4);
                histogram[bucket < BUCKETS ? bucket : BUCKETS - 1]++;
            }
            c->last_ping = t;
        } else if (opcode == 0x8) {
            epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
            c->state = DEAD;
            closed_count++;
            return;
        }
        memmove(c->buf, c->buf + 2 + length, c->fill - 2 - length);
        c->fill -= (unsigned char)(2 + length);
    }
}

int main(int argc, char **argv) {
    if (argc != 10) {
        fprintf(stderr, "usage: %s HOST PORT PATH COUNT FIRST PER_ADDRESS INFLIGHT HOLD PERIOD\n",
                argv[0]);
        return 2;
    }
    long count = atol(argv[4]), first = atol(argv[5]), per_address = atol(argv[6]);
    long inflight_max = atol(argv[7]);
    double hold = atof(argv[8]);
    period = atof(argv[9]);
    struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &server.sin_addr);
    request_len = (size_t)snprintf(
        request, sizeof request,
        "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        argv[3], argv[1], argv[2]);
    conns = calloc((size_t)count, sizeof *conns);
    int epfd = epoll_create1(0);
    struct epoll_event events[512];
    long next = 0, inflight = 0, opened = 0, failed = 0;
    double began = now();
    char response[1024];
    while (opened + failed < count) {
        while (inflight < inflight_max && next < count) {
            if (start(epfd, next, &server, first, per_address) == 0)
                inflight++;
            else {
                conns[next].state = DEAD;
                failed++;
            }
            next++;
        }
        int ready = epoll_wait(epfd, events, 512, 1000);
        for (int k = 0; k < ready; k++) {
            struct conn *c = &conns[events[k].data.u64];
            if (c->state == CONNECTING && (events[k].events & EPOLLOUT)) {
                if (write(c->fd, request, request_len) != (ssize_t)request_len) goto fail;
                c->state = SENT;
                struct epoll_event ev = {.events = EPOLLIN, .data.u64 = events[k].data.u64};
                epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
                continue;
            }
            if (c->state == SENT && (events[k].events & EPOLLIN)) {
                /* the 101 comes in one segment on loopback; nothing follows it unasked */
                ssize_t got = read(c->fd, response, sizeof response - 1);
                if (got <= 0) goto fail;
                response[got] = 0;
                if (strncmp(response, "HTTP/1.1 101", 12) != 0 || !strstr(response, "\r\n\r\n"))
                    goto fail;
                c->state = OPEN;
                opened++;
                inflight--;
                continue;
            }
            if (c->state == OPEN && (events[k].events & EPOLLIN)) {
                on_readable(epfd, c, now()); /* pinged while the others open */
                continue;
            }
            if (c->state == CONNECTING || c->state == SENT) {
            fail:
                if (c->state != DEAD) {
                    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
                    close(c->fd);
                    c->state = DEAD;
                    failed++;
                    inflight--;
                }
            }
        }
    }
    printf("open %ld %ld %.3f\n", opened, failed, now() - began);
    fflush(stdout);

    struct epoll_event input = {.events = EPOLLIN, .data.u64 = STDIN_MARK};
    epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &input);
    double end = now() + hold;
    int holding = 1;
    while (holding && now() < end) {
        int ready = epoll_wait(epfd, events, 512, 200);
        double t = now();
        for (int k = 0; k < ready; k++) {
            if (events[k].data.u64 == STDIN_MARK) {
                char ignored[64];
                ssize_t got = read(0, ignored, sizeof ignored);
                if (got <= 0)
                    holding = 0; /* the driver is done */
                else
                    pings = 0; /* the driver's window starts: count from here */
                continue;
            }
            struct conn *c = &conns[events[k].data.u64];
            if (c->state != OPEN) continue;
            on_readable(epfd, c, t);
        }
    }
    printf("held %ld %ld\n", pings, closed_count);
    for (long b = 0; b < BUCKETS; b++)
        if (histogram[b]) printf("late %ld %ld\n", b, histogram[b]);
    fflush(stdout);
    return 0;
}
