// The knet transport: three libknet handles on 127.0.0.11-13 in one process, one io_context,
// with corosync's default crypto (nss, aes256/sha256). Needs root (privileged knet sockets).
#include "transport/knet.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <boost/asio/ip/udp.hpp>

#include "tests/unit/transport/test_util.hpp"

using namespace totem;
using namespace totem::test;
namespace asio = boost::asio;

namespace {

TransportConfig knet_cfg(NodeId me, std::uint16_t port, std::uint8_t key_seed = 1) {
    auto c = loopback_config(TransportKind::knet, 3, me, port);
    c.crypto_model = "nss";
    c.crypto_cipher = "aes256";
    c.crypto_hash = "sha256";
    c.key = key_bytes(key_seed);
    return c;
}

bool all_reachable(const Transport& t, std::size_t n) {
    auto st = t.status();
    std::size_t up = 0;
    for (const auto& s : st)
        up += s.reachable ? 1 : 0;
    return up == n;
}

struct Knet3 {
    // Declared before the transports: they log (and need the loop) until they are destroyed.
    asio::io_context io;
    Inbox inbox;
    std::vector<std::string> logs;
    std::vector<std::unique_ptr<Transport>> t;

    explicit Knet3(int salt, std::uint8_t key3 = 1) {
        std::uint16_t port = test_port(salt);
        for (NodeId id = 1; id <= 3; ++id) {
            auto c = knet_cfg(id, port, id == 3 ? key3 : 1);
            c.log = [this, id](LogLevel, std::string_view sub, std::string_view m) {
                logs.push_back(fmt::format("n{} [{}] {}", id, sub, m));
            };
            auto r = make_knet_transport(io, c);
            if (!r)
                FAIL(r.error());
            r.value()->set_receiver(inbox.for_node(id));
            t.push_back(std::move(r.value()));
        }
    }
    Transport& node(NodeId id) { return *t[id - 1]; }
};

}  // namespace

TEST_CASE("knet: ping timers are derived from the token as corosync does", "[knet]") {
    auto c = knet_cfg(1, 5405);
    c.token_ms = 3650;  // 3 nodes, default token (totem-wire §7.6)
    auto t = knet_ping_timers(c, 0);
    CHECK(t.timeout_ms == 1825);
    CHECK(t.interval_ms == 912);
    CHECK(t.precision == 2048);
    CHECK(t.pong_count == 2);
}

TEST_CASE("knet: crypto, self-delivery, broadcast, and the destination filter", "[knet]") {
    if (::geteuid() != 0) {
        WARN("knet handles need root; skipped");
        return;
    }
    Knet3 n(11);
    REQUIRE(run_until(
        n.io,
        [&] {
            return all_reachable(n.node(1), 3) && all_reachable(n.node(2), 3) &&
                   all_reachable(n.node(3), 3);
        },
        std::chrono::seconds(15)));

    REQUIRE(n.node(1).send(0, totem_datagram(1, "broadcast from 1")));
    REQUIRE(n.node(1).send(2, totem_datagram(1, "unicast 1->2")));
    REQUIRE(n.node(1).send(1, totem_datagram(1, "unicast 1->self")));
    REQUIRE(n.node(1).send(0, totem_datagram(1, "fence")));
    REQUIRE(run_until(n.io, [&] {
        return n.inbox.has(1, "fence") && n.inbox.has(2, "fence") && n.inbox.has(3, "fence") &&
               n.inbox.has(2, "unicast 1->2") && n.inbox.has(1, "unicast 1->self");
    }));
    for (NodeId id = 1; id <= 3; ++id)
        CHECK(n.inbox.has(id, "broadcast from 1"));
    CHECK_FALSE(n.inbox.has(3, "unicast 1->2"));  // filtered: target_nodeid = 2
    CHECK_FALSE(n.inbox.has(1, "unicast 1->2"));
    CHECK_FALSE(n.inbox.has(2, "unicast 1->self"));
    CHECK_FALSE(n.inbox.has(3, "unicast 1->self"));

    // The filter reads target_nodeid at offset 9, whatever the caller put there.
    Bytes d = totem_datagram(2, "2->3 over a stale target field");
    d[kTargetNodeidOffset] = 1;
    REQUIRE(n.node(2).send(3, d));
    REQUIRE(run_until(n.io, [&] { return n.inbox.has(3, "2->3 over a stale target field"); }));
    CHECK_FALSE(n.inbox.has(1, "2->3 over a stale target field"));

    auto st = n.node(1).status();
    REQUIRE(st.size() == 3);
    const auto& l2 = st[1].links.at(0);
    CHECK(l2.connected);
    CHECK(l2.tx_data_packets >= 3);
    CHECK(n.node(1).counters().tx_datagrams == 4);
    CHECK_FALSE(n.node(1).send(0, Bytes{1, 2, 3}));  // not a Totem message
    for (auto& t : n.t)
        t->stop();
}

TEST_CASE("knet: a node with another authkey never becomes reachable", "[knet]") {
    if (::geteuid() != 0)
        return;
    Knet3 n(12, /*key3=*/55);
    REQUIRE(run_until(
        n.io, [&] { return all_reachable(n.node(1), 2) && all_reachable(n.node(2), 2); },
        std::chrono::seconds(15)));
    // Give node 3 a few ping intervals (250 ms) to (not) come up.
    run_until(
        n.io, [] { return false; }, std::chrono::milliseconds(1500));
    auto st = n.node(1).status();
    CHECK_FALSE(st[2].reachable);
    n.node(1).send(0, totem_datagram(1, "secret"));
    REQUIRE(run_until(n.io, [&] { return n.inbox.has(2, "secret"); }));
    run_until(
        n.io, [] { return false; }, std::chrono::milliseconds(300));
    CHECK_FALSE(n.inbox.has(3, "secret"));
}

TEST_CASE("knet: two links, passive mode: both come up, traffic flows", "[knet]") {
    if (::geteuid() != 0)
        return;
    asio::io_context io;
    std::uint16_t port = test_port(14);
    Inbox inbox;
    std::vector<std::unique_ptr<Transport>> t;
    for (NodeId id = 1; id <= 2; ++id) {
        auto c = knet_cfg(id, port);
        c.nodes.pop_back();  // two nodes
        for (auto& n : c.nodes)
            n.addrs[1] = "127.0.1." + std::to_string(10 + n.nodeid);
        c.links[1].port = static_cast<std::uint16_t>(port + 1);
        c.links[1].priority = 2;  // passive: link 1 carries the data
        auto r = make_knet_transport(io, c);
        REQUIRE(r.ok());
        r.value()->set_receiver(inbox.for_node(id));
        t.push_back(std::move(r.value()));
    }
    // knet discards data from a host it does not yet see as reachable, so both ends must see
    // both links up before the first datagram (one end's view alone raced on a loaded machine).
    auto both_links_up = [&](const Transport& tr, NodeId peer) {
        for (const auto& s : tr.status()) {
            if (s.nodeid != peer)
                continue;
            std::size_t up = 0;
            for (const auto& l : s.links)
                up += l.connected ? 1 : 0;
            return s.reachable && up == 2;
        }
        return false;
    };
    REQUIRE(run_until(
        io, [&] { return both_links_up(*t[0], 2) && both_links_up(*t[1], 1); },
        std::chrono::seconds(15)));
    REQUIRE(t[0]->send(2, totem_datagram(1, "over link 1")));
    REQUIRE(run_until(io, [&] { return inbox.has(2, "over link 1"); }));
    for (const auto& s : t[0]->status()) {
        if (s.nodeid != 2)
            continue;
        for (const auto& l : s.links) {
            INFO("link " << int(l.link) << " tx_data_packets " << l.tx_data_packets);
            if (l.link == 1)
                CHECK(l.tx_data_packets >= 1);
            if (l.link == 0)
                CHECK(l.tx_data_packets == 0);
        }
    }
}

TEST_CASE("knet: start-up errors are one clear line", "[knet]") {
    if (::geteuid() != 0)
        return;
    asio::io_context io;
    std::uint16_t port = test_port(13);

    auto c = knet_cfg(1, port);
    c.nodes[0].addrs[0] = "192.0.2.1";  // not local
    c.nodes[1].addrs[0] = "192.0.2.2";
    c.nodes[2].addrs[0] = "192.0.2.3";
    auto r = make_knet_transport(io, c);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("Cannot bind to 192.0.2.1"));

    {
        asio::ip::udp::socket busy(
            io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.11"), port));
        auto b = make_knet_transport(io, knet_cfg(1, port));
        REQUIRE_FALSE(b.ok());
        CHECK_THAT(b.error(), Catch::Contains("Cannot bind to 127.0.0.11"));
    }

    auto short_key = knet_cfg(1, port);
    short_key.key.resize(64);
    auto k = make_knet_transport(io, short_key);
    REQUIRE_FALSE(k.ok());
    CHECK_THAT(k.error(), Catch::Contains("at least 128"));

    auto model = knet_cfg(1, port);
    model.crypto_model = "gnutls";
    auto m = make_knet_transport(io, model);
    REQUIRE_FALSE(m.ok());
    CHECK_THAT(m.error(), Catch::Contains("crypto_model 'gnutls'"));

    auto sctp = knet_cfg(1, port);
    sctp.links[0].knet_transport = "sctp";
    auto s = make_knet_transport(io, sctp);
    if (!s.ok()) {
        CHECK_THAT(s.error(), Catch::Contains("SCTP"));
    }

    auto big = knet_cfg(1, port);
    big.nodes[2].nodeid = 70000;
    auto bg = make_knet_transport(io, big);
    REQUIRE_FALSE(bg.ok());
    CHECK_THAT(bg.error(), Catch::Contains("1..65535"));
}
