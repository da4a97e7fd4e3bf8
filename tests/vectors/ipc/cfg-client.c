/* A libcfg client for capture-services.py, so that the IPC shim logs what Debian's unmodified
 * libcfg sends and receives for the calls corosync-cfgtool does not make.
 *
 *   cfg-client misc               ring_status_get, local_get, get_node_addrs(1) and (99),
 *                                 node_status_get(2) and (99), kill_node(99) (NOT_EXIST),
 *                                 trackstart, trackstop, replyto_shutdown with no shutdown
 *                                 pending (the reply's error is ignored by the library)
 *   cfg-client tracker yes|no S   trackstart, then dispatch for at most S seconds; on a
 *                                 TESTSHUTDOWN event answer replyto_shutdown(yes|no)
 */
#include <corosync/cfg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static corosync_cfg_handle_t handle;
static int reply_yes, asked;

static void on_shutdown(corosync_cfg_handle_t h, corosync_cfg_shutdown_flags_t flags) {
    printf("shutdown callback flags=%d\n", flags);
    cs_error_t e = corosync_cfg_replyto_shutdown(
        h, reply_yes ? COROSYNC_CFG_SHUTDOWN_FLAG_YES : COROSYNC_CFG_SHUTDOWN_FLAG_NO);
    printf("replyto_shutdown(%s) = %d\n", reply_yes ? "yes" : "no", e);
    asked = 1;
}

#define STEP(expr, want)                \
    do {                                \
        cs_error_t e_ = (expr);         \
        printf("%s = %d\n", #expr, e_); \
        if (e_ != (want)) ok = 0;       \
    } while (0)

static int misc(void) {
    int ok = 1;
    STEP(corosync_cfg_initialize(&handle, NULL), CS_OK);
    char **names = NULL, **status = NULL;
    unsigned int count = 0;
    STEP(corosync_cfg_ring_status_get(handle, &names, &status, &count), CS_OK);
    for (unsigned int i = 0; i < count; ++i) {
        printf("  %s: %s\n", names[i], status[i]);
        free(names[i]);
        free(status[i]);
    }
    free(names);
    free(status);
    unsigned int local = 0;
    STEP(corosync_cfg_local_get(handle, &local), CS_OK);
    corosync_cfg_node_address_t addrs[8];
    int n = 0;
    STEP(corosync_cfg_get_node_addrs(handle, 1, 8, &n, addrs), CS_OK);
    STEP(corosync_cfg_get_node_addrs(handle, 99, 8, &n, addrs), CS_ERR_NOT_EXIST);
    struct corosync_cfg_node_status_v1 st;
    STEP(corosync_cfg_node_status_get(handle, 2, CFG_NODE_STATUS_V1, &st), CS_OK);
    cs_error_t e = corosync_cfg_node_status_get(handle, 99, CFG_NODE_STATUS_V1, &st);
    printf("node_status_get(99) = %d\n", e);
    STEP(corosync_cfg_kill_node(handle, 99, "not a member"), CS_ERR_NOT_EXIST);
    STEP(corosync_cfg_trackstart(handle, 0), CS_OK);
    STEP(corosync_cfg_trackstop(handle), CS_OK);
    e = corosync_cfg_replyto_shutdown(handle, COROSYNC_CFG_SHUTDOWN_FLAG_YES);
    printf("replyto_shutdown without a pending shutdown = %d\n", e);
    STEP(corosync_cfg_finalize(handle), CS_OK);
    printf("cfg-client misc: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}

static int tracker(int seconds) {
    corosync_cfg_callbacks_t cb = {on_shutdown};
    if (corosync_cfg_initialize(&handle, &cb) != CS_OK) return 1;
    if (corosync_cfg_trackstart(handle, 0) != CS_OK) return 1;
    int fd;
    corosync_cfg_fd_get(handle, &fd);
    printf("tracking\n");
    for (time_t end = time(NULL) + seconds; time(NULL) < end;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) > 0 && corosync_cfg_dispatch(handle, CS_DISPATCH_ALL) != CS_OK)
            break;
    }
    printf("cfg-client tracker: %s\n", asked ? "asked" : "never asked");
    corosync_cfg_finalize(handle);
    return asked ? 0 : 1;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "misc") == 0) return misc();
    if (argc == 4 && strcmp(argv[1], "tracker") == 0) {
        reply_yes = strcmp(argv[2], "yes") == 0;
        return tracker(atoi(argv[3]));
    }
    fprintf(stderr, "usage: cfg-client misc | tracker yes|no SECONDS\n");
    return 2;
}
