/* A libquorum + libvotequorum client for capture-services.py, so that the IPC shim logs what
 * Debian's unmodified libraries send and receive for the calls the corosync tools do not make.
 *
 *   quorum-client quorum      model V1: getquorate, trackstart(CURRENT|CHANGES), wait for the
 *                             V1 nodelist and quorum notifications, trackstop, finalize;
 *                             then model V0 (quorum_initialize): trackstart(CURRENT), wait for
 *                             the V0 notification, trackstop, finalize
 *   quorum-client votequorum  getinfo(0), getinfo(2), getinfo(99) (NOT_EXIST),
 *                             trackstart(context 0x1122334455667788, CURRENT|CHANGES), wait for
 *                             the nodelist and quorum notifications, setexpected(3) and wait for
 *                             the expected-votes notification, the qdevice calls (register
 *                             "TestDev", poll with the ring id of the nodelist notification,
 *                             master_wins, update to "TestDev2", unregister), trackstop, a
 *                             second trackstop (NOT_EXIST), finalize
 *
 * Every wait is bounded (10 s). Exit status 0 when every step answered as expected. */
#include <corosync/quorum.h>
#include <corosync/votequorum.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int v1_nodelist_seen, v1_quorum_seen, v0_seen;
static int vq_quorum_seen, vq_nodelist_seen, vq_expected_seen;
static votequorum_ring_id_t vq_ring;

static void v0_notify(quorum_handle_t h, uint32_t quorate, uint64_t seq, uint32_t n,
                      uint32_t *view) {
    (void)h;
    (void)view;
    printf("quorum V0 notification quorate=%u seq=%llu n=%u\n", quorate, (unsigned long long)seq,
           n);
    v0_seen = 1;
}

static void v1_quorum(quorum_handle_t h, uint32_t quorate, struct quorum_ring_id ring,
                      uint32_t n, const uint32_t *m) {
    (void)h;
    (void)m;
    printf("quorum V1 quorum notification quorate=%u ring=%u.%llu n=%u\n", quorate, ring.nodeid,
           (unsigned long long)ring.seq, n);
    v1_quorum_seen = 1;
}

static void v1_nodelist(quorum_handle_t h, struct quorum_ring_id ring, uint32_t nm,
                        const uint32_t *m, uint32_t nj, const uint32_t *j, uint32_t nl,
                        const uint32_t *l) {
    (void)h;
    (void)m;
    (void)j;
    (void)l;
    printf("quorum V1 nodelist ring=%u.%llu members=%u joined=%u left=%u\n", ring.nodeid,
           (unsigned long long)ring.seq, nm, nj, nl);
    v1_nodelist_seen = 1;
}

static void vq_quorum(votequorum_handle_t h, uint64_t ctx, uint32_t quorate, uint32_t n,
                      votequorum_node_t nodes[]) {
    (void)h;
    (void)nodes;
    printf("votequorum quorum ctx=%llx quorate=%u n=%u\n", (unsigned long long)ctx, quorate, n);
    vq_quorum_seen = 1;
}

static void vq_nodelist(votequorum_handle_t h, uint64_t ctx, votequorum_ring_id_t ring,
                        uint32_t n, uint32_t nodes[]) {
    (void)h;
    (void)nodes;
    printf("votequorum nodelist ctx=%llx ring=%u.%llu n=%u\n", (unsigned long long)ctx,
           ring.nodeid, (unsigned long long)ring.seq, n);
    vq_ring = ring;
    vq_nodelist_seen = 1;
}

static void vq_expected(votequorum_handle_t h, uint64_t ctx, uint32_t expected) {
    (void)h;
    printf("votequorum expected ctx=%llx expected=%u\n", (unsigned long long)ctx, expected);
    vq_expected_seen = 1;
}

static int wait_quorum(quorum_handle_t h, int *flag) {
    int fd;
    if (quorum_fd_get(h, &fd) != CS_OK) return 0;
    for (time_t end = time(NULL) + 10; !*flag && time(NULL) < end;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) > 0) quorum_dispatch(h, CS_DISPATCH_ALL);
    }
    return *flag;
}

static int wait_vq(votequorum_handle_t h, int *flag) {
    int fd;
    if (votequorum_fd_get(h, &fd) != CS_OK) return 0;
    for (time_t end = time(NULL) + 10; !*flag && time(NULL) < end;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) > 0) votequorum_dispatch(h, CS_DISPATCH_ALL);
    }
    return *flag;
}

#define STEP(expr, want)                                           \
    do {                                                           \
        cs_error_t e_ = (expr);                                    \
        printf("%s = %d\n", #expr, e_);                            \
        if (e_ != (want)) ok = 0;                                  \
    } while (0)

static int do_quorum(void) {
    int ok = 1;
    quorum_handle_t h;
    uint32_t type = 0;
    quorum_model_v1_data_t v1 = {QUORUM_MODEL_V1, v1_quorum, v1_nodelist};
    STEP(quorum_model_initialize(&h, QUORUM_MODEL_V1, (quorum_model_data_t *)&v1, &type, NULL),
         CS_OK);
    printf("quorum type %u\n", type);
    int quorate = -1;
    STEP(quorum_getquorate(h, &quorate), CS_OK);
    STEP(quorum_trackstart(h, CS_TRACK_CURRENT | CS_TRACK_CHANGES), CS_OK);
    ok &= wait_quorum(h, &v1_nodelist_seen);
    ok &= wait_quorum(h, &v1_quorum_seen);
    STEP(quorum_trackstop(h), CS_OK);
    STEP(quorum_finalize(h), CS_OK);

    quorum_callbacks_t cb = {v0_notify};
    STEP(quorum_initialize(&h, &cb, &type), CS_OK);
    STEP(quorum_trackstart(h, CS_TRACK_CURRENT), CS_OK);
    ok &= wait_quorum(h, &v0_seen);
    STEP(quorum_trackstop(h), CS_OK);
    STEP(quorum_finalize(h), CS_OK);
    printf("quorum-client quorum: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}

static int do_votequorum(void) {
    int ok = 1;
    votequorum_handle_t h;
    votequorum_callbacks_t cb = {vq_quorum, vq_expected, vq_nodelist};
    STEP(votequorum_initialize(&h, &cb), CS_OK);
    struct votequorum_info info;
    STEP(votequorum_getinfo(h, 0, &info), CS_OK);
    STEP(votequorum_getinfo(h, 2, &info), CS_OK);
    STEP(votequorum_getinfo(h, 99, &info), CS_ERR_NOT_EXIST);
    STEP(votequorum_trackstart(h, 0x1122334455667788ULL, CS_TRACK_CURRENT | CS_TRACK_CHANGES),
         CS_OK);
    ok &= wait_vq(h, &vq_nodelist_seen);
    ok &= wait_vq(h, &vq_quorum_seen);
    STEP(votequorum_setexpected(h, 3), CS_OK);
    ok &= wait_vq(h, &vq_expected_seen);
    STEP(votequorum_qdevice_register(h, "TestDev"), CS_OK);
    STEP(votequorum_qdevice_poll(h, "TestDev", 1, vq_ring), CS_OK);
    STEP(votequorum_qdevice_master_wins(h, "TestDev", 1), CS_OK);
    STEP(votequorum_getinfo(h, 0, &info), CS_OK);
    STEP(votequorum_qdevice_update(h, "TestDev", "TestDev2"), CS_OK);
    usleep(500000); /* the new name takes effect when the exec message comes back */
    STEP(votequorum_qdevice_unregister(h, "TestDev2"), CS_OK);
    STEP(votequorum_trackstop(h), CS_OK);
    STEP(votequorum_trackstop(h), CS_ERR_NOT_EXIST);
    STEP(votequorum_finalize(h), CS_OK);
    printf("quorum-client votequorum: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "quorum") == 0) return do_quorum();
    if (argc == 2 && strcmp(argv[1], "votequorum") == 0) return do_votequorum();
    fprintf(stderr, "usage: quorum-client quorum | votequorum\n");
    return 2;
}
