/* A libcpg client for capture-services.py: drives every CPG request once so that the IPC shim
 * (qb-ipc-shim.c) logs the requests, responses and events of Debian's unmodified libcpg.
 *
 *   cpg-client exercise GROUP   model V1 with the initial totem confchg flag: join, wait for
 *                               our join (CONFCHG + TOTEM_CONFCHG), membership_get, local_get,
 *                               iteration ALL / ONE_GROUP / NAME_ONLY, a small mcast, a
 *                               1 047 552 + 1000 byte mcast (PARTIAL_MCAST, 2 fragments), wait
 *                               until both come back, a zero-copy mcast (ZC_ALLOC, ZC_EXECUTE,
 *                               ZC_FREE), leave, wait for our leave, finalize
 *   cpg-client listen GROUP S   plain cpg_initialize, join, dispatch for S seconds (or until
 *                               SIGTERM), then exit WITHOUT leaving (the server sends PROCLEAVE
 *                               with reason PROCDOWN)
 *
 * Payloads: the small message is the text "hello from cpg-client"; the large one is the
 * pattern byte k = k % 251, which the extractor recognises so that vectors need not hold it.
 * Every wait is bounded (10 s); exit status 0 only when every step gave what was expected. */
#include <corosync/cpg.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BIG_LEN (1047552 + 1000)

#define ZC_TEXT "zero-copy hello"

static int joined_seen, left_seen, totem_seen, small_seen, big_seen, zc_seen;
static unsigned int my_nodeid;
static volatile sig_atomic_t stop;

static void on_term(int sig) {
    (void)sig;
    stop = 1;
}

static void deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid,
                    void *msg, size_t len) {
    (void)h;
    printf("deliver group=%.*s from %u/%u len=%zu\n", (int)g->length, g->value, nodeid, pid, len);
    if (pid != (uint32_t)getpid()) return;
    if (len == strlen("hello from cpg-client") && memcmp(msg, "hello from cpg-client", len) == 0)
        small_seen = 1;
    if (len == strlen(ZC_TEXT) && memcmp(msg, ZC_TEXT, len) == 0)
        zc_seen = 1;
    if (len == BIG_LEN) {
        const unsigned char *p = msg;
        int ok = 1;
        for (size_t k = 0; k < len; ++k)
            if (p[k] != (unsigned char)(k % 251)) ok = 0;
        big_seen = ok ? 1 : -1;
    }
}

static void confchg(cpg_handle_t h, const struct cpg_name *g, const struct cpg_address *m,
                    size_t nm, const struct cpg_address *l, size_t nl, const struct cpg_address *j,
                    size_t nj) {
    (void)h;
    (void)m;
    printf("confchg group=%.*s members=%zu left=%zu joined=%zu\n", (int)g->length, g->value, nm,
           nl, nj);
    for (size_t i = 0; i < nj; ++i)
        if (j[i].pid == (uint32_t)getpid()) joined_seen = 1;
    for (size_t i = 0; i < nl; ++i)
        if (l[i].pid == (uint32_t)getpid()) left_seen = 1;
}

static void totem_confchg(cpg_handle_t h, struct cpg_ring_id ring, uint32_t n,
                          const uint32_t *members) {
    (void)h;
    (void)members;
    printf("totem_confchg ring=%u.%llu members=%u\n", ring.nodeid, (unsigned long long)ring.seq,
           n);
    totem_seen = 1;
}

/* Dispatches until *flag is set or 10 s have passed. */
static int wait_for(cpg_handle_t h, int *flag) {
    int fd;
    if (cpg_fd_get(h, &fd) != CS_OK) return 0;
    time_t end = time(NULL) + 10;
    while (!*flag && time(NULL) < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) > 0) cpg_dispatch(h, CS_DISPATCH_ALL);
    }
    return *flag;
}

static cs_error_t retry_join(cpg_handle_t h, const struct cpg_name *g) {
    cs_error_t err = cpg_join(h, g);
    for (int i = 0; err == CS_ERR_TRY_AGAIN && i < 100; ++i) {
        usleep(50000);
        err = cpg_join(h, g);
    }
    return err;
}

static cs_error_t retry_mcast(cpg_handle_t h, struct iovec *iov) {
    cs_error_t err = cpg_mcast_joined(h, CPG_TYPE_AGREED, iov, 1);
    for (int i = 0; err == CS_ERR_TRY_AGAIN && i < 200; ++i) {
        usleep(10000);
        err = cpg_mcast_joined(h, CPG_TYPE_AGREED, iov, 1);
    }
    return err;
}

static void iterate(cpg_handle_t h, cpg_iteration_type_t type, const struct cpg_name *g) {
    cpg_iteration_handle_t it;
    cs_error_t err = cpg_iteration_initialize(h, type, g, &it);
    printf("iteration_initialize(%d) = %d\n", type, err);
    if (err != CS_OK) return;
    struct cpg_iteration_description_t d;
    while ((err = cpg_iteration_next(it, &d)) == CS_OK)
        printf("  %.*s %u/%u\n", (int)d.group.length, d.group.value, d.nodeid, d.pid);
    printf("iteration_next end = %d\n", err);
    printf("iteration_finalize = %d\n", cpg_iteration_finalize(it));
}

static int exercise(const char *name) {
    cpg_model_v1_data_t model = {CPG_MODEL_V1, deliver, confchg, totem_confchg,
                                 CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF};
    cpg_handle_t h;
    if (cpg_model_initialize(&h, CPG_MODEL_V1, (cpg_model_data_t *)&model, NULL) != CS_OK)
        return 1;
    struct cpg_name g;
    memset(&g, 0, sizeof g);
    g.length = strlen(name);
    memcpy(g.value, name, g.length);
    int ok = 1;
    if (retry_join(h, &g) != CS_OK) return 1;
    ok &= wait_for(h, &joined_seen);
    ok &= wait_for(h, &totem_seen);
    struct cpg_address members[CPG_MEMBERS_MAX];
    int n = CPG_MEMBERS_MAX;
    cs_error_t err = cpg_membership_get(h, &g, members, &n);
    printf("membership_get = %d, %d members\n", err, n);
    ok &= err == CS_OK;
    err = cpg_local_get(h, &my_nodeid);
    printf("local_get = %d, nodeid %u\n", err, my_nodeid);
    ok &= err == CS_OK;
    iterate(h, CPG_ITERATION_ALL, NULL);
    iterate(h, CPG_ITERATION_ONE_GROUP, &g);
    iterate(h, CPG_ITERATION_NAME_ONLY, NULL);
    struct iovec iov = {(void *)"hello from cpg-client", strlen("hello from cpg-client")};
    ok &= retry_mcast(h, &iov) == CS_OK;
    ok &= wait_for(h, &small_seen);
    unsigned char *big = malloc(BIG_LEN);
    for (size_t k = 0; k < BIG_LEN; ++k) big[k] = (unsigned char)(k % 251);
    struct iovec big_iov = {big, BIG_LEN};
    err = retry_mcast(h, &big_iov);
    printf("big mcast = %d\n", err);
    ok &= err == CS_OK;
    ok &= wait_for(h, &big_seen) && big_seen == 1;
    free(big);
    void *zc = NULL;
    err = cpg_zcb_alloc(h, 100, &zc);
    printf("zcb_alloc = %d\n", err);
    ok &= err == CS_OK;
    if (err == CS_OK) {
        memcpy(zc, ZC_TEXT, strlen(ZC_TEXT));
        err = cpg_zcb_mcast_joined(h, CPG_TYPE_AGREED, zc, strlen(ZC_TEXT));
        printf("zcb_mcast_joined = %d\n", err);
        ok &= err == CS_OK;
        ok &= wait_for(h, &zc_seen);
        err = cpg_zcb_free(h, zc);
        printf("zcb_free = %d\n", err);
        ok &= err == CS_OK;
    }
    err = cpg_leave(h, &g);
    printf("leave = %d\n", err);
    ok &= err == CS_OK;
    ok &= wait_for(h, &left_seen);
    printf("finalize = %d\n", cpg_finalize(h));
    printf("cpg-client exercise: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}

static int listen_group(const char *name, int seconds) {
    cpg_callbacks_t cb = {deliver, confchg};
    cpg_handle_t h;
    if (cpg_initialize(&h, &cb) != CS_OK) return 1;
    struct cpg_name g;
    memset(&g, 0, sizeof g);
    g.length = strlen(name);
    memcpy(g.value, name, g.length);
    if (retry_join(h, &g) != CS_OK) return 1;
    signal(SIGTERM, on_term);
    int fd;
    cpg_fd_get(h, &fd);
    time_t end = time(NULL) + seconds;
    while (!stop && time(NULL) < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) > 0 && cpg_dispatch(h, CS_DISPATCH_ALL) != CS_OK) break;
        fflush(stdout);
    }
    printf("cpg-client listen: done\n");
    return 0; /* no leave, no finalize: the connection just closes */
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "exercise") == 0) return exercise(argv[2]);
    if (argc == 4 && strcmp(argv[1], "listen") == 0) return listen_group(argv[2], atoi(argv[3]));
    fprintf(stderr, "usage: cpg-client exercise GROUP | listen GROUP SECONDS\n");
    return 2;
}
