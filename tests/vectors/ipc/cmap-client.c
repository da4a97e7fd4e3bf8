/* A libcmap client for capture-services.py, for the cmap calls corosync-cmapctl does not make:
 * cmap_initialize alone (no SET_CURRENT_MAP), a u32 key set, cmap_inc and cmap_dec
 * (ADJUST_INT +1 / -1), ADJUST_INT on a string (INVALID_PARAM) and on a missing key
 * (NOT_EXIST), an exact-key track with cmap_track_add that sees the inc (MODIFY), then
 * cmap_track_delete, and a delete of the key.
 * Every wait is bounded (10 s). Exit status 0 when every step answered as expected. */
#include <corosync/cmap.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int modified;

static void notify(cmap_handle_t h, cmap_track_handle_t t, int32_t event, const char *key,
                   struct cmap_notify_value nv, struct cmap_notify_value ov, void *user) {
    (void)h;
    (void)t;
    (void)nv;
    (void)ov;
    (void)user;
    printf("notify event=%d key=%s\n", event, key);
    if (event == CMAP_TRACK_MODIFY) modified = 1;
}

#define STEP(expr, want)                \
    do {                                \
        cs_error_t e_ = (expr);         \
        printf("%s = %d\n", #expr, e_); \
        if (e_ != (want)) ok = 0;       \
    } while (0)

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int ok = 1;
    cmap_handle_t h;
    STEP(cmap_initialize(&h), CS_OK);
    STEP(cmap_set_uint32(h, "proto.counter", 41), CS_OK);
    cmap_track_handle_t track;
    STEP(cmap_track_add(h, "proto.counter", CMAP_TRACK_MODIFY, notify, NULL, &track), CS_OK);
    STEP(cmap_inc(h, "proto.counter"), CS_OK);
    int fd;
    cmap_fd_get(h, &fd);
    for (time_t end = time(NULL) + 10; !modified && time(NULL) < end;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) > 0) cmap_dispatch(h, CS_DISPATCH_ALL);
    }
    ok &= modified;
    STEP(cmap_track_delete(h, track), CS_OK);
    STEP(cmap_dec(h, "proto.counter"), CS_OK);
    STEP(cmap_dec(h, "proto.counter"), CS_OK);
    uint32_t v = 0;
    STEP(cmap_get_uint32(h, "proto.counter", &v), CS_OK);
    printf("proto.counter = %u\n", v);
    ok &= v == 40;
    STEP(cmap_set_string(h, "proto.text", "abc"), CS_OK);
    STEP(cmap_inc(h, "proto.text"), CS_ERR_INVALID_PARAM);
    STEP(cmap_inc(h, "proto.missing"), CS_ERR_NOT_EXIST);
    STEP(cmap_delete(h, "proto.counter"), CS_OK);
    STEP(cmap_delete(h, "proto.text"), CS_OK);
    STEP(cmap_finalize(h), CS_OK);
    printf("cmap-client: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
