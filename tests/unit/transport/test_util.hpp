// Helpers for the transport tests: loopback cluster configs and bounded io_context runs.
#pragma once

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "transport/config.hpp"
#include "transport/transport.hpp"

namespace totem::test {

// A port range private to this process, so parallel test binaries do not collide.
inline std::uint16_t test_port(int salt) {
    return static_cast<std::uint16_t>(20000 + (::getpid() * 7 + salt * 97) % 30000);
}

// n nodes, node i on 127.0.0.(10 + i).
inline TransportConfig loopback_config(TransportKind kind, int n, NodeId me, std::uint16_t port) {
    TransportConfig c;
    c.kind = kind;
    c.my_nodeid = me;
    c.cluster_name = "transport-test";
    c.token_ms = 1000;
    for (int i = 1; i <= n; ++i) {
        TransportNode node;
        node.nodeid = static_cast<NodeId>(i);
        node.addrs[0] = "127.0.0." + std::to_string(10 + i);
        c.nodes.push_back(node);
    }
    c.links[0].port = port;
    return c;
}

inline Bytes key_bytes(std::uint8_t seed, std::size_t n = 256) {
    Bytes k(n);
    for (std::size_t i = 0; i < n; ++i)
        k[i] = static_cast<std::uint8_t>(seed * 31 + i * 7);
    return k;
}

// A Totem-shaped datagram: a 13-byte header (magic, version, type, encapsulated, nodeid,
// target_nodeid) and a text payload.
inline Bytes totem_datagram(NodeId from, const std::string& text) {
    Bytes b(13 + text.size(), 0);
    b[0] = 0x70;
    b[1] = 0xc0;
    b[2] = 2;
    b[3] = 1;
    b[5] = static_cast<std::uint8_t>(from);
    for (std::size_t i = 0; i < text.size(); ++i)
        b[13 + i] = static_cast<std::uint8_t>(text[i]);
    return b;
}
inline std::string payload_of(ByteView d) {
    return d.size() < 13 ? std::string() : std::string(d.begin() + 13, d.end());
}

// Runs the loop until pred() holds or `limit` passes; returns pred().
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& pred,
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return pred();
        io.restart();
        io.run_for(std::chrono::milliseconds(10));
    }
    return true;
}

// Collects what each node receives.
struct Inbox {
    std::map<NodeId, std::vector<std::string>> got;
    Transport::ReceiveFn for_node(NodeId id) {
        return [this, id](ByteView d) { got[id].push_back(payload_of(d)); };
    }
    bool has(NodeId id, const std::string& s) const {
        auto it = got.find(id);
        if (it == got.end())
            return false;
        for (const auto& x : it->second) {
            if (x == s)
                return true;
        }
        return false;
    }
};

}  // namespace totem::test
