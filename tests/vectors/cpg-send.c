/* A tiny CPG client for capture-corosync.sh: joins group "tw", sends COUNT messages of SIZE
 * bytes, GAP_MS apart, then leaves. Usage: cpg-send COUNT SIZE GAP_MS */
#include <corosync/cpg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: cpg-send COUNT SIZE GAP_MS\n");
        return 2;
    }
    long count = atol(argv[1]), size = atol(argv[2]), gap_ms = atol(argv[3]);
    if (count < 0 || count > 1000000 || size < 1 || size > 100000) return 2;
    cpg_handle_t h;
    cpg_callbacks_t cb;
    memset(&cb, 0, sizeof cb);
    if (cpg_initialize(&h, &cb) != CS_OK) {
        fprintf(stderr, "cpg_initialize failed\n");
        return 1;
    }
    struct cpg_name group;
    strcpy(group.value, "tw");
    group.length = 2;
    cs_error_t err = cpg_join(h, &group);
    for (int tries = 0; err == CS_ERR_TRY_AGAIN && tries < 100; ++tries) {
        sleep_ms(50);
        err = cpg_join(h, &group);
    }
    if (err != CS_OK) {
        fprintf(stderr, "cpg_join failed: %d\n", err);
        return 1;
    }
    char *buf = malloc(size);
    long sent = 0;
    for (long i = 0; i < count; ++i) {
        memset(buf, 'a' + (int)(i % 26), size);
        struct iovec iov = {buf, (size_t)size};
        err = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1);
        for (int tries = 0; err == CS_ERR_TRY_AGAIN && tries < 200; ++tries) {
            sleep_ms(5);
            err = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1);
        }
        if (err != CS_OK) break;
        ++sent;
        if (gap_ms > 0) sleep_ms(gap_ms);
    }
    printf("cpg-send: sent %ld of %ld\n", sent, count);
    free(buf);
    cpg_leave(h, &group);
    cpg_finalize(h);
    return 0;
}
