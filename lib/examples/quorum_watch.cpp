// Prints whether the partition is quorate and its members, then every change for a while:
//   totem-example-quorum_watch [SECONDS]     (default 0: the current state only)
#include <poll.h>
#include <totem/client.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

using namespace totem::client;

int main(int argc, char** argv) {
    const long watch_s = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 0;
    auto q = Quorum::connect();
    if (!q) {
        std::fprintf(stderr, "quorum: %s\n", q.error().message().c_str());
        return 1;
    }
    bool seen = false;
    q->on_notify([&](const Quorum::Notification& n) {
        seen = true;
        std::printf("ring %x.%llx %s, members:", n.ring_id.nodeid,
                    static_cast<unsigned long long>(n.ring_id.seq),
                    n.quorate ? "quorate" : "not quorate");
        for (auto m : n.members)
            std::printf(" %u", m);
        std::printf("\n");
        std::fflush(stdout);
    });
    const std::uint32_t flags = watch_s > 0 ? track_current | track_changes : track_current;
    if (auto s = q->track_start(flags); !s) {
        std::fprintf(stderr, "track_start: %s\n", s.error().message().c_str());
        return 1;
    }
    while (!seen)
        if (auto r = q->dispatch(Dispatch::one); !r)
            return 1;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(watch_s);
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{q->fd(), POLLIN, 0};
        if (poll(&p, 1, 200) > 0 && !q->dispatch())
            return 1;
    }
    return 0;
}
