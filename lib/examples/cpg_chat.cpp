// Joins a CPG group, sends the given messages, and prints what the group delivers:
//   totem-example-cpg_chat GROUP [--expect N] [--timeout SECONDS] [MESSAGE...]
// Exits 0 once N messages were delivered (default: as many as it sent), 1 on a timeout.
#include <poll.h>
#include <totem/client.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using totem::client::Cpg;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s GROUP [--expect N] [--timeout S] [MESSAGE...]\n", argv[0]);
        return 2;
    }
    const std::string group = argv[1];
    std::vector<std::string> messages;
    long expect = -1;
    long timeout_s = 10;
    for (int i = 2; i < argc; ++i) {
        if (std::strcmp(argv[i], "--expect") == 0 && i + 1 < argc)
            expect = std::strtol(argv[++i], nullptr, 10);
        else if (std::strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
            timeout_s = std::strtol(argv[++i], nullptr, 10);
        else
            messages.emplace_back(argv[i]);
    }
    if (expect < 0)
        expect = static_cast<long>(messages.size());

    auto cpg = Cpg::connect();
    if (!cpg) {
        std::fprintf(stderr, "cpg: %s\n", cpg.error().message().c_str());
        return 1;
    }
    long delivered = 0;
    cpg->on_deliver([&](const Cpg::Message& m) {
        ++delivered;
        std::printf("deliver %u/%u: %.*s\n", m.nodeid, m.pid, static_cast<int>(m.data.size()),
                    reinterpret_cast<const char*>(m.data.data()));
        std::fflush(stdout);
    });
    cpg->on_confchg([](const Cpg::ConfChg& c) {
        std::printf("confchg %s: %zu members, %zu joined, %zu left\n", c.group.c_str(),
                    c.members.size(), c.joined.size(), c.left.size());
        std::fflush(stdout);
    });
    if (auto s = cpg->join(group); !s) {
        std::fprintf(stderr, "join: %s\n", s.error().message().c_str());
        return 1;
    }
    for (const auto& m : messages)
        if (auto s = cpg->mcast(m); !s) {
            std::fprintf(stderr, "mcast: %s\n", s.error().message().c_str());
            return 1;
        }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (delivered < expect) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return 1;
        pollfd p{cpg->fd(), POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) > 0)
            if (auto r = cpg->dispatch(); !r) {
                std::fprintf(stderr, "dispatch: %s\n", r.error().message().c_str());
                return 1;
            }
    }
    return 0;
}
