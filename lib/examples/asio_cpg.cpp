// libtotem on a Boost.Asio io_context: the CPG handle's fd is watched with a
// posix::stream_descriptor, each readiness runs dispatch(); a timer bounds the run.
//   totem-example-asio_cpg GROUP [SECONDS]
// Joins GROUP, multicasts "hello from <pid>" once its own join is seen, and exits 0 when that
// message comes back (1 on the timeout).
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <totem/client.hpp>

using totem::client::Cpg;
namespace asio = boost::asio;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s GROUP [SECONDS]\n", argv[0]);
        return 2;
    }
    const std::string group = argv[1];
    const long seconds = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 10;

    auto cpg = Cpg::connect();
    if (!cpg) {
        std::fprintf(stderr, "cpg: %s\n", cpg.error().message().c_str());
        return 1;
    }
    asio::io_context io;
    asio::posix::stream_descriptor fd(io, cpg->fd());
    asio::steady_timer timer(io, std::chrono::seconds(seconds));
    const std::string hello = "hello from " + std::to_string(getpid());
    int rc = 1;
    bool sent = false;

    cpg->on_confchg([&](const Cpg::ConfChg& c) {
        for (const auto& j : c.joined)
            if (j.pid == static_cast<std::uint32_t>(getpid()) && !sent) {
                sent = true;
                if (!cpg->mcast(hello))
                    io.stop();
            }
    });
    cpg->on_deliver([&](const Cpg::Message& m) {
        const std::string text(reinterpret_cast<const char*>(m.data.data()), m.data.size());
        std::printf("%s\n", text.c_str());
        if (text == hello) {
            rc = 0;
            io.stop();
        }
    });
    std::function<void()> wait = [&]() {
        fd.async_wait(asio::posix::stream_descriptor::wait_read, [&](boost::system::error_code ec) {
            if (ec)
                return;
            if (!cpg->dispatch()) {
                io.stop();
                return;
            }
            wait();
        });
    };
    timer.async_wait([&](boost::system::error_code) { io.stop(); });
    if (!cpg->join(group)) {
        std::fprintf(stderr, "join failed\n");
        return 1;
    }
    wait();
    io.run();
    fd.release();  // the descriptor belongs to the Cpg handle
    return rc;
}
