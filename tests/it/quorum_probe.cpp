// totem-quorum-probe: a client of Debian's libquorum (model V1, as Pacemaker uses it) and
// libvotequorum (every callback), for tests/it/test_quorum.py: it prints each callback as one
// line, the ones of each library to its own stream (the two connections are independent, so
// only the order within each is defined):
//
//   q  quorum quorate=<0|1> ring=<rep>.* view=<ids>           V1 quorum notification
//   q  nodelist ring=<rep>.* members=<ids> joined=<ids> left=<ids>
//   vq quorum context=<n> quorate=<0|1> nodes=<id:state,...>  (list order as sent)
//   vq nodelist context=<n> ring=<rep>.* nodes=<ids>
//   vq expected context=<n> expected_votes=<n>
//
// Ring sequence numbers are not printed (they differ between runs). Runs until SIGTERM or
// --seconds; stdout is flushed after every line.
#include <corosync/quorum.h>
#include <corosync/votequorum.h>
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

volatile sig_atomic_t g_stop = 0;

std::string ids(const uint32_t* l, size_t n) {
    std::string s = "[";
    for (size_t i = 0; i < n; ++i)
        s += (i ? "," : "") + std::to_string(l[i]);
    return s + "]";
}

void line(const std::string& s) {
    std::fputs((s + "\n").c_str(), stdout);
    std::fflush(stdout);
}

void q_quorum(quorum_handle_t, uint32_t quorate, struct quorum_ring_id ring, uint32_t n,
              const uint32_t* view) {
    line("q  quorum quorate=" + std::to_string(quorate) + " ring=" + std::to_string(ring.nodeid) +
         ".* view=" + ids(view, n));
}

void q_nodelist(quorum_handle_t, struct quorum_ring_id ring, uint32_t m, const uint32_t* members,
                uint32_t j, const uint32_t* joined, uint32_t l, const uint32_t* left) {
    line("q  nodelist ring=" + std::to_string(ring.nodeid) + ".* members=" + ids(members, m) +
         " joined=" + ids(joined, j) + " left=" + ids(left, l));
}

void vq_quorum(votequorum_handle_t, uint64_t context, uint32_t quorate, uint32_t n,
               votequorum_node_t nodes[]) {
    std::string s;
    for (uint32_t i = 0; i < n; ++i)
        s +=
            (i ? "," : "") + std::to_string(nodes[i].nodeid) + ":" + std::to_string(nodes[i].state);
    line("vq quorum context=" + std::to_string(context) + " quorate=" + std::to_string(quorate) +
         " nodes=[" + s + "]");
}

void vq_nodelist(votequorum_handle_t, uint64_t context, votequorum_ring_id_t ring, uint32_t n,
                 uint32_t nodes[]) {
    line("vq nodelist context=" + std::to_string(context) + " ring=" + std::to_string(ring.nodeid) +
         ".* nodes=" + ids(nodes, n));
}

void vq_expected(votequorum_handle_t, uint64_t context, uint32_t expected) {
    line("vq expected context=" + std::to_string(context) +
         " expected_votes=" + std::to_string(expected));
}

}  // namespace

int main(int argc, char** argv) {
    int seconds = 600;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--seconds") == 0)
            seconds = std::atoi(argv[i + 1]);
    signal(SIGTERM, [](int) { g_stop = 1; });
    signal(SIGINT, [](int) { g_stop = 1; });

    quorum_model_v1_data_t model{};
    model.model = QUORUM_MODEL_V1;
    model.quorum_notify_fn = q_quorum;
    model.nodelist_notify_fn = q_nodelist;
    quorum_handle_t q = 0;
    uint32_t qtype = 0;
    cs_error_t e = quorum_model_initialize(
        &q, QUORUM_MODEL_V1, reinterpret_cast<quorum_model_data_t*>(&model), &qtype, nullptr);
    if (e != CS_OK) {
        std::fprintf(stderr, "quorum_model_initialize: %d\n", e);
        return 1;
    }
    line("q  type=" + std::to_string(qtype));
    if ((e = quorum_trackstart(q, CS_TRACK_CHANGES)) != CS_OK) {
        std::fprintf(stderr, "quorum_trackstart: %d\n", e);
        return 1;
    }
    votequorum_callbacks_t cb{};
    cb.votequorum_quorum_notify_fn = vq_quorum;
    cb.votequorum_expectedvotes_notify_fn = vq_expected;
    cb.votequorum_nodelist_notify_fn = vq_nodelist;
    votequorum_handle_t v = 0;
    if ((e = votequorum_initialize(&v, &cb)) != CS_OK) {
        std::fprintf(stderr, "votequorum_initialize: %d\n", e);
        return 1;
    }
    if ((e = votequorum_trackstart(v, 42, CS_TRACK_CHANGES)) != CS_OK) {
        std::fprintf(stderr, "votequorum_trackstart: %d\n", e);
        return 1;
    }
    int qfd = -1, vfd = -1;
    quorum_fd_get(q, &qfd);
    votequorum_fd_get(v, &vfd);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!g_stop && std::chrono::steady_clock::now() < end) {
        pollfd fds[2] = {{qfd, POLLIN, 0}, {vfd, POLLIN, 0}};
        if (poll(fds, 2, 200) < 0)
            continue;
        if ((fds[0].revents & POLLIN) && quorum_dispatch(q, CS_DISPATCH_ALL) != CS_OK)
            break;
        if ((fds[1].revents & POLLIN) && votequorum_dispatch(v, CS_DISPATCH_ALL) != CS_OK)
            break;
        if ((fds[0].revents | fds[1].revents) & (POLLHUP | POLLERR))
            break;
    }
    votequorum_finalize(v);
    quorum_finalize(q);
    return 0;
}
