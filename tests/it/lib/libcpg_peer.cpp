/* totem-libcpg-peer (C-style C++ on corosync's C library): the other end of libtotem's CPG
 * tests, written with corosync's own libcpg
 * (Debian's libcpg-dev), so that libtotem's split of a large message is reassembled by libcpg
 * and libcpg's by libtotem. The output lines are those of totem-lib-probe.
 *
 *   listen GROUP COUNT SECONDS      join, print each delivery, exit after COUNT of them
 *   send GROUP SIZE...              join, wait for the own join, send each size, exit
 */
#include <corosync/cpg.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static long delivered;
static int joined;

static uint64_t fnv1a(const unsigned char* d, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; ++i) {
        h ^= d[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void deliver(cpg_handle_t h, const struct cpg_name* g, uint32_t nodeid, uint32_t pid,
                    void* msg, size_t len) {
    (void)h;
    delivered++;
    printf(
        "{\"event\":\"deliver\",\"group\":\"%.*s\",\"nodeid\":%u,\"pid\":%u,\"size\":%zu,"
        "\"fnv\":\"%llu\"}\n",
        (int)g->length, g->value, nodeid, pid, len,
        (unsigned long long)fnv1a((const unsigned char*)msg, len));
    fflush(stdout);
}

static void confchg(cpg_handle_t h, const struct cpg_name* g, const struct cpg_address* m,
                    size_t nm, const struct cpg_address* l, size_t nl, const struct cpg_address* j,
                    size_t nj) {
    (void)h;
    (void)g;
    (void)m;
    (void)l;
    (void)nl;
    printf("{\"event\":\"confchg\",\"members\":%zu}\n", nm);
    for (size_t i = 0; i < nj; ++i)
        if (j[i].pid == (uint32_t)getpid())
            joined = 1;
    fflush(stdout);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int pump(cpg_handle_t h, double seconds, long want, int* flag) {
    int fd;
    cpg_fd_get(h, &fd);
    double end = now_s() + seconds;
    while ((flag ? !*flag : delivered < want) && now_s() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) > 0 && cpg_dispatch(h, CS_DISPATCH_ALL) != CS_OK)
            return 0;
    }
    return flag ? *flag : delivered >= want;
}

int main(int argc, char** argv) {
    if (argc < 3)
        return 2;
    cpg_callbacks_t cb{};
    cb.cpg_deliver_fn = deliver;
    cb.cpg_confchg_fn = confchg;
    cpg_handle_t h;
    cs_error_t e = cpg_initialize(&h, &cb);
    if (e != CS_OK) {
        fprintf(stderr, "cpg_initialize: %d\n", e);
        return 1;
    }
    struct cpg_name name;
    name.length = (uint32_t)strlen(argv[2]);
    memcpy(name.value, argv[2], name.length);
    while ((e = cpg_join(h, &name)) == CS_ERR_TRY_AGAIN)
        usleep(10000);
    if (e != CS_OK) {
        fprintf(stderr, "cpg_join: %d\n", e);
        return 1;
    }
    printf("{\"event\":\"ready\",\"pid\":%u}\n", (unsigned)getpid());
    fflush(stdout);
    if (strcmp(argv[1], "listen") == 0 && argc == 5)
        return pump(h, atof(argv[4]), atol(argv[3]), NULL) ? 0 : 1;
    if (strcmp(argv[1], "send") == 0) {
        if (!pump(h, 10, 0, &joined))
            return 1;
        for (int i = 3; i < argc; ++i) {
            size_t size = strtoul(argv[i], NULL, 10);
            unsigned char* b = static_cast<unsigned char*>(malloc(size ? size : 1));
            for (size_t k = 0; k < size; ++k)
                b[k] = (unsigned char)((k * 31 + size + (uint32_t)(i - 3) * 7) & 0xff);
            struct iovec iov = {b, size};
            while ((e = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1)) == CS_ERR_TRY_AGAIN)
                usleep(10000);
            printf("{\"event\":\"sent\",\"size\":%zu,\"fnv\":\"%llu\",\"ok\":%s}\n", size,
                   (unsigned long long)fnv1a(b, size), e == CS_OK ? "true" : "false");
            fflush(stdout);
            free(b);
            if (e != CS_OK)
                return 1;
        }
        return pump(h, 20, argc - 3, NULL) ? 0 : 1;
    }
    return 2;
}
