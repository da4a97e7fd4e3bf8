// totem-cfg-veto: a libcfg client that tracks shutdown requests (corosync_cfg_trackstart) and
// answers each with corosync_cfg_replyto_shutdown(NO), or YES with --yes: the daemon that says
// no to `corosync-cfgtool -H` (tests/it/test_services.py, issue 15 acceptance point 2). Debian's
// tools hold no such client; pacemakerd is the real one.
//
//   totem-cfg-veto [--yes]
//
// Prints "tracking" once tracking started, then per shutdown callback
// "shutdown flags=<corosync_cfg_shutdown_flags_t> reply=<no|yes> rc=<cs_error_t>"; exits 0 when
// stdin closes, 1 when the daemon goes away (dispatch error), 3 when it cannot start.
#include <corosync/cfg.h>
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace {

constexpr unsigned max_lifetime_s = 300;
corosync_cfg_handle_t handle;
bool say_yes = false;

void on_shutdown(corosync_cfg_handle_t h, corosync_cfg_shutdown_flags_t flags) {
    const corosync_cfg_shutdown_reply_flags_t reply =
        say_yes ? COROSYNC_CFG_SHUTDOWN_FLAG_YES : COROSYNC_CFG_SHUTDOWN_FLAG_NO;
    const cs_error_t rc = corosync_cfg_replyto_shutdown(h, reply);
    std::printf("shutdown flags=%d reply=%s rc=%d\n", static_cast<int>(flags),
                say_yes ? "yes" : "no", static_cast<int>(rc));
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--yes") == 0) {
            say_yes = true;
        } else {
            std::fprintf(stderr, "usage: totem-cfg-veto [--yes]\n");
            return 2;
        }
    }
    alarm(max_lifetime_s);  // bounded even if the test never closes stdin
    corosync_cfg_callbacks_t callbacks{};
    callbacks.corosync_cfg_shutdown_callback = on_shutdown;
    cs_error_t rc = corosync_cfg_initialize(&handle, &callbacks);
    if (rc != CS_OK) {
        std::printf("corosync_cfg_initialize failed rc=%d\n", static_cast<int>(rc));
        return 3;
    }
    rc = corosync_cfg_trackstart(handle, 0);
    if (rc != CS_OK) {
        std::printf("corosync_cfg_trackstart failed rc=%d\n", static_cast<int>(rc));
        return 3;
    }
    int fd = -1;
    corosync_cfg_fd_get(handle, &fd);
    std::printf("tracking\n");
    std::fflush(stdout);
    pollfd pfd[2] = {{fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    for (;;) {
        if (poll(pfd, 2, -1) < 0)
            continue;
        if (pfd[1].revents & (POLLIN | POLLHUP)) {
            char buf[64];
            if (read(STDIN_FILENO, buf, sizeof buf) <= 0)
                break;
        }
        if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            rc = corosync_cfg_dispatch(handle, CS_DISPATCH_ALL);
            if (rc != CS_OK) {
                std::printf("dispatch error rc=%d\n", static_cast<int>(rc));
                return 1;
            }
        }
    }
    corosync_cfg_trackstop(handle);
    corosync_cfg_finalize(handle);
    return 0;
}
