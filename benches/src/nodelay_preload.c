/*
 * Experiment helper for BENCHMARKS.md, not part of any build: an LD_PRELOAD
 * shim that sets TCP_NODELAY on every socket a process accepts, to measure
 * what the signaling server's relay latency would be with Nagle's algorithm
 * off, without changing the server.
 *
 *   gcc -O2 -shared -fPIC -o /tmp/libnodelay.so benches/src/nodelay_preload.c -ldl
 *   LD_PRELOAD=/tmp/libnodelay.so target/release/signaling-load --sessions 9950
 *
 * (The load generator's own sockets already set TCP_NODELAY; they connect, so
 * the shim only affects the server it starts.)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void nodelay(int fd) {
    int one = 1;
    if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int accept4(int s, struct sockaddr *a, socklen_t *l, int flags) {
    static int (*real)(int, struct sockaddr *, socklen_t *, int);
    if (!real) real = (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
    int fd = real(s, a, l, flags);
    nodelay(fd);
    return fd;
}

int accept(int s, struct sockaddr *a, socklen_t *l) {
    static int (*real)(int, struct sockaddr *, socklen_t *);
    if (!real) real = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
    int fd = real(s, a, l);
    nodelay(fd);
    return fd;
}
