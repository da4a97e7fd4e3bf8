// totem-transport-probe: one totemd transport (knet or udpu) as a silent member of a cluster,
// for integration tests against real corosync nodes (tests/it/test_transport_wire.py).
//
//   totem-transport-probe --nodeid 3 --node 1=10.201.0.1 --node 2=10.201.0.2 --node 3=10.201.0.3
//       [--transport knet|udpu] [--keyfile F] [--crypto] [--token 1000] [--seconds 10]
//
// It never sends Totem messages (so it does not disturb the ring); it prints, one per line:
//   rx from=<header nodeid> type=<totem type> magic=<hex> size=<n>   (first 200 datagrams)
//   reachable <nodeid> <0|1>                                         (whenever it changes)
//   summary rx=<n> types=<t:count,...> from=<id:count,...> reachable=<ids>
#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>

#include "transport/knet.hpp"
#include "transport/udpu.hpp"

using namespace totem;

namespace {

int usage() {
    std::fprintf(stderr,
                 "usage: totem-transport-probe --nodeid N --node ID=ADDR... [--transport "
                 "knet|udpu] [--keyfile F] [--crypto] [--token MS] [--seconds S] [--port P]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    TransportConfig cfg;
    cfg.cluster_name = "totemd-it";
    int seconds = 10;
    std::string keyfile;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
        if (a == "--nodeid") {
            cfg.my_nodeid = static_cast<NodeId>(std::stoul(next()));
        } else if (a == "--node") {
            std::string v = next();
            auto eq = v.find('=');
            if (eq == std::string::npos)
                return usage();
            TransportNode n;
            n.nodeid = static_cast<NodeId>(std::stoul(v.substr(0, eq)));
            n.addrs[0] = v.substr(eq + 1);
            cfg.nodes.push_back(n);
        } else if (a == "--transport") {
            cfg.kind = next() == "udpu" ? TransportKind::udpu : TransportKind::knet;
        } else if (a == "--keyfile") {
            keyfile = next();
        } else if (a == "--crypto") {
            cfg.crypto_cipher = "aes256";
            cfg.crypto_hash = "sha256";
        } else if (a == "--token") {
            cfg.token_ms = static_cast<std::uint32_t>(std::stoul(next()));
        } else if (a == "--seconds") {
            seconds = std::stoi(next());
        } else if (a == "--port") {
            cfg.links[0].port = static_cast<std::uint16_t>(std::stoul(next()));
        } else if (a == "--cluster-name") {
            cfg.cluster_name = next();
        } else {
            return usage();
        }
    }
    if (!cfg.my_nodeid || cfg.nodes.empty() || seconds < 1 || seconds > 600)
        return usage();
    if (!keyfile.empty()) {
        std::ifstream f(keyfile, std::ios::binary);
        if (!f) {
            std::fprintf(stderr, "cannot read %s\n", keyfile.c_str());
            return 1;
        }
        cfg.key.assign(std::istreambuf_iterator<char>(f), {});
        if (cfg.key.size() > 4096)
            cfg.key.resize(4096);  // as corosync reads a key file
    }
    cfg.log = [](LogLevel l, std::string_view sub, std::string_view m) {
        if (l <= LogLevel::info)
            std::cout << fmt::format("log [{}] {}\n", sub, m) << std::flush;
    };

    boost::asio::io_context io;
    auto t = cfg.kind == TransportKind::knet ? make_knet_transport(io, cfg)
                                             : make_udpu_transport(io, cfg);
    if (!t) {
        std::cerr << "error: " << t.error() << "\n";
        return 1;
    }
    Transport& tr = *t.value();
    std::uint64_t rx = 0;
    std::map<int, std::uint64_t> types;
    std::map<NodeId, std::uint64_t> from;
    tr.set_receiver([&](ByteView d) {
        ++rx;
        int type = d.size() > 3 ? d[3] : -1;
        NodeId id = 0;
        if (d.size() >= 9) {
            bool le = d[0] == 0x70 && d[1] == 0xc0;
            for (int i = 0; i < 4; ++i) {
                id |= NodeId{d[5 + i]} << (le ? 8 * i : 8 * (3 - i));
            }
        }
        ++types[type];
        ++from[id];
        if (rx <= 200) {
            std::cout << fmt::format("rx from={} type={} magic={:02x}{:02x} size={}\n", id, type,
                                     d.size() > 1 ? d[0] : 0, d.size() > 1 ? d[1] : 0, d.size())
                      << std::flush;
        }
    });

    std::map<NodeId, bool> reach;
    boost::asio::steady_timer poll(io);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    std::function<void()> tick = [&] {
        for (const auto& s : tr.status()) {
            auto it = reach.find(s.nodeid);
            if (it == reach.end() || it->second != s.reachable) {
                reach[s.nodeid] = s.reachable;
                std::cout << fmt::format("reachable {} {}\n", s.nodeid, s.reachable ? 1 : 0)
                          << std::flush;
            }
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            io.stop();
            return;
        }
        poll.expires_after(std::chrono::milliseconds(50));
        poll.async_wait([&](const boost::system::error_code& ec) {
            if (!ec)
                tick();
        });
    };
    boost::asio::signal_set sigs(io, SIGINT, SIGTERM);
    sigs.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
    tick();
    io.run();
    tr.stop();

    std::string ts, fs, rs;
    for (auto [k, v] : types)
        ts += fmt::format("{}{}:{}", ts.empty() ? "" : ",", k, v);
    for (auto [k, v] : from)
        fs += fmt::format("{}{}:{}", fs.empty() ? "" : ",", k, v);
    for (auto [k, v] : reach) {
        if (v)
            rs += fmt::format("{}{}", rs.empty() ? "" : ",", k);
    }
    auto c = tr.counters();
    std::cout << fmt::format(
        "summary rx={} types={} from={} reachable={} dropped_auth={} dropped_unknown_sender={}\n",
        rx, ts, fs, rs, c.rx_dropped_auth, c.rx_dropped_unknown_sender);
    return 0;
}
