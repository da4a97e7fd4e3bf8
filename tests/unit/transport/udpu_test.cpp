// The udpu transport: three nodes on 127.0.0.11-13 in one process on one io_context.
#include "transport/udpu.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/ip/udp.hpp>
#include <optional>

#include "tests/unit/transport/test_util.hpp"
#include "transport/udpu_crypto.hpp"

using namespace totem;
using namespace totem::test;
namespace asio = boost::asio;

namespace {

struct Trio {
    asio::io_context io;
    Inbox inbox;
    std::vector<std::unique_ptr<Transport>> t;  // index = nodeid - 1
    std::uint16_t port;

    explicit Trio(bool crypto, int salt, std::uint8_t key3 = 1) : port(test_port(salt)) {
        for (NodeId id = 1; id <= 3; ++id) {
            auto c = loopback_config(TransportKind::udpu, 3, id, port);
            if (crypto) {
                c.crypto_cipher = "aes256";
                c.crypto_hash = "sha256";
                c.key = key_bytes(id == 3 ? key3 : 1);
            }
            auto r = make_udpu_transport(io, c);
            if (!r)
                FAIL(r.error());
            r.value()->set_receiver(inbox.for_node(id));
            t.push_back(std::move(r.value()));
        }
    }
    Transport& node(NodeId id) { return *t[id - 1]; }
};

void exchange_and_check(Trio& n) {
    REQUIRE(n.node(1).send(2, totem_datagram(1, "unicast 1->2")));
    REQUIRE(n.node(2).send(2, totem_datagram(2, "unicast 2->self")));
    REQUIRE(n.node(3).send(0, totem_datagram(3, "broadcast from 3")));
    REQUIRE(run_until(n.io, [&] {
        return n.inbox.has(2, "unicast 1->2") && n.inbox.has(2, "unicast 2->self") &&
               n.inbox.has(1, "broadcast from 3") && n.inbox.has(2, "broadcast from 3") &&
               n.inbox.has(3, "broadcast from 3");
    }));
    CHECK_FALSE(n.inbox.has(1, "unicast 1->2"));
    CHECK_FALSE(n.inbox.has(3, "unicast 1->2"));
    CHECK(n.node(3).counters().tx_datagrams == 3);  // one per member, self included
    CHECK(n.node(2).counters().rx_datagrams == 3);
}

}  // namespace

TEST_CASE("udpu: unicast, broadcast and self-delivery without crypto", "[udpu]") {
    Trio n(false, 1);
    exchange_and_check(n);
    auto st = n.node(1).status();
    REQUIRE(st.size() == 3);
    CHECK(st[1].links.at(0).dst_addr == "127.0.0.12:" + std::to_string(n.port));
    CHECK(st[1].links.at(0).tx_data_packets == 1);
}

TEST_CASE("udpu: unicast, broadcast and self-delivery with AES-256-GCM", "[udpu]") {
    Trio n(true, 2);
    exchange_and_check(n);
    CHECK(n.node(2).counters().rx_dropped_auth == 0);
    CHECK(n.node(1).max_datagram() == 65507 - kUdpuCryptoOverhead);
}

TEST_CASE("udpu: a node with another key cannot talk, and its drops are counted", "[udpu]") {
    Trio n(true, 3, /*key3=*/77);
    REQUIRE(n.node(1).send(0, totem_datagram(1, "from 1")));
    REQUIRE(n.node(3).send(0, totem_datagram(3, "from 3")));
    REQUIRE(run_until(n.io, [&] {
        return n.inbox.has(2, "from 1") && n.node(3).counters().rx_dropped_auth == 1 &&
               n.node(1).counters().rx_dropped_auth == 1 &&
               n.node(2).counters().rx_dropped_auth == 1;
    }));
    CHECK(n.inbox.has(3, "from 3"));  // its own key still works for itself
    CHECK_FALSE(n.inbox.has(3, "from 1"));
    CHECK_FALSE(n.inbox.has(1, "from 3"));
}

TEST_CASE("udpu: tampered and replayed packets are counted and dropped", "[udpu]") {
    asio::io_context io;
    std::uint16_t port = test_port(4);
    auto c1 = loopback_config(TransportKind::udpu, 3, 1, port);
    c1.crypto_cipher = "aes256";
    c1.crypto_hash = "sha256";
    c1.key = key_bytes(1);
    auto r = make_udpu_transport(io, c1);
    REQUIRE(r.ok());
    Inbox inbox;
    r.value()->set_receiver(inbox.for_node(1));

    // An attacker on node 2's address (any port: members are known by address, since
    // corosync's udpu sends broadcasts from sockets bound to port 0) replays node 2's packet.
    auto c2 = c1;
    c2.my_nodeid = 2;
    UdpuCrypto node2(c2, 42);
    Bytes good = node2.seal(totem_datagram(2, "genuine"));
    Bytes bad = good;
    bad[bad.size() - 20] ^= 0x40;
    asio::ip::udp::socket s(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.12"), 0));
    asio::ip::udp::endpoint to(asio::ip::make_address("127.0.0.11"), port);
    s.send_to(asio::buffer(bad), to);
    s.send_to(asio::buffer(good), to);
    s.send_to(asio::buffer(good), to);
    s.send_to(asio::buffer(Bytes{1, 2, 3}), to);
    REQUIRE(run_until(io, [&] {
        auto k = r.value()->counters();
        return k.rx_dropped_auth == 1 && k.rx_dropped_replay == 1 && k.rx_dropped_malformed == 1 &&
               k.rx_datagrams == 1;
    }));
    REQUIRE(inbox.got[1].size() == 1);
    CHECK(inbox.got[1][0] == "genuine");
}

TEST_CASE("udpu: datagrams from addresses outside the nodelist are counted and dropped", "[udpu]") {
    asio::io_context io;
    std::uint16_t port = test_port(7);
    auto r = make_udpu_transport(io, loopback_config(TransportKind::udpu, 3, 1, port));
    REQUIRE(r.ok());
    Inbox inbox;
    r.value()->set_receiver(inbox.for_node(1));
    asio::ip::udp::socket s(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.99"), 0));
    asio::ip::udp::socket member(io,
                                 asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.13"), 0));
    asio::ip::udp::endpoint to(asio::ip::make_address("127.0.0.11"), port);
    s.send_to(asio::buffer(totem_datagram(9, "stranger")), to);
    member.send_to(asio::buffer(totem_datagram(3, "member, ephemeral port")), to);
    REQUIRE(run_until(io, [&] {
        return r.value()->counters().rx_dropped_unknown_sender == 1 &&
               inbox.has(1, "member, ephemeral port");
    }));
    CHECK_FALSE(inbox.has(1, "stranger"));
}

TEST_CASE("udpu: start-up errors are one clear line", "[udpu]") {
    asio::io_context io;
    std::uint16_t port = test_port(5);
    auto c = loopback_config(TransportKind::udpu, 3, 1, port);
    c.nodes[0].addrs[0] = "192.0.2.1";  // TEST-NET-1: not an address of this host
    auto r = make_udpu_transport(io, c);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("Cannot bind to 192.0.2.1"));

    auto ok = make_udpu_transport(io, loopback_config(TransportKind::udpu, 3, 1, port));
    REQUIRE(ok.ok());
    auto again = make_udpu_transport(io, loopback_config(TransportKind::udpu, 3, 1, port));
    REQUIRE_FALSE(again.ok());
    CHECK_THAT(again.error(), Catch::Contains("Cannot bind to 127.0.0.11"));

    auto missing = loopback_config(TransportKind::udpu, 3, 7, port);
    auto m = make_udpu_transport(io, missing);
    REQUIRE_FALSE(m.ok());
    CHECK_THAT(m.error(), Catch::Contains("not in the nodelist"));
}

TEST_CASE("udpu: after stop() sends fail and nothing is delivered", "[udpu]") {
    Trio n(false, 6);
    n.node(2).stop();
    CHECK_FALSE(n.node(2).send(1, totem_datagram(2, "late")));
    REQUIRE(n.node(1).send(0, totem_datagram(1, "after stop")));
    REQUIRE(run_until(n.io, [&] { return n.inbox.has(3, "after stop"); }));
    CHECK_FALSE(n.inbox.has(2, "after stop"));
}

namespace {

std::optional<NodeStatus> node_status(const Transport& t, NodeId id) {
    for (auto& s : t.status()) {
        if (s.nodeid == id)
            return s;
    }
    return std::nullopt;
}

// Nodes 1 and 2 start with the nodelist {1, 2}, node 3 with {1, 2, 3}.
struct Growing {
    asio::io_context io;
    Inbox inbox;
    std::vector<std::unique_ptr<Transport>> t;  // index = nodeid - 1
    std::uint16_t port;
    TransportNode n3;

    Growing(bool crypto, int salt) : port(test_port(salt)) {
        for (NodeId id = 1; id <= 3; ++id) {
            auto c = loopback_config(TransportKind::udpu, 3, id, port);
            n3 = c.nodes[2];
            if (id != 3)
                c.nodes.pop_back();
            if (crypto) {
                c.crypto_cipher = "aes256";
                c.crypto_hash = "sha256";
                c.key = key_bytes(1);
            }
            auto r = make_udpu_transport(io, c);
            if (!r)
                FAIL(r.error());
            r.value()->set_receiver(inbox.for_node(id));
            t.push_back(std::move(r.value()));
        }
    }
    Transport& node(NodeId id) { return *t[id - 1]; }
};

void add_and_remove(Growing& n, bool crypto) {
    // Before node 1 knows node 3: 3's datagrams are dropped and counted, 1 cannot send to 3.
    REQUIRE(n.node(3).send(1, totem_datagram(3, "too early")));
    REQUIRE(run_until(n.io, [&] { return n.node(1).counters().rx_dropped_unknown_sender == 1; }));
    CHECK_FALSE(n.node(1).send(3, totem_datagram(1, "to an unknown node")));

    REQUIRE(n.node(1).add_node(n.n3).ok());
    if (crypto) {
        // The config digest covers the nodelist: until node 2 has reloaded too, node 1's
        // packets do not authenticate there.
        REQUIRE(n.node(1).send(2, totem_datagram(1, "half reloaded")));
        REQUIRE(
            run_until(n.io, [&] { return n.node(2).counters().rx_dropped_config_mismatch == 1; }));
        CHECK_FALSE(n.inbox.has(2, "half reloaded"));
    }
    REQUIRE(n.node(2).add_node(n.n3).ok());
    CHECK(n.node(1).add_node(n.n3).ok());  // again: nothing changes
    REQUIRE(n.node(1).status().size() == 3);
    CHECK(node_status(n.node(1), 3)->links.at(0).dst_addr ==
          "127.0.0.13:" + std::to_string(n.port));
    REQUIRE(n.node(3).send(0, totem_datagram(3, "hello from 3")));
    REQUIRE(n.node(1).send(3, totem_datagram(1, "1->3")));
    REQUIRE(n.node(1).send(2, totem_datagram(1, "1->2")));
    REQUIRE(run_until(n.io, [&] {
        return n.inbox.has(1, "hello from 3") && n.inbox.has(2, "hello from 3") &&
               n.inbox.has(3, "hello from 3") && n.inbox.has(3, "1->3") && n.inbox.has(2, "1->2");
    }));
    CHECK_FALSE(n.inbox.has(1, "too early"));

    TransportNode moved = n.n3;
    moved.addrs[0] = "127.0.0.99";
    CHECK_THAT(n.node(1).add_node(moved).error(), Catch::Contains("address changed"));
    TransportNode twin = n.n3;
    twin.nodeid = 4;
    CHECK_THAT(n.node(1).add_node(twin).error(), Catch::Contains("is node 3's"));
    TransportNode none;
    none.nodeid = 5;
    CHECK_THAT(n.node(1).add_node(none).error(), Catch::Contains("no ring0_addr"));
    CHECK(n.node(1).status().size() == 3);

    // The reload that takes node 3 out again, on nodes 1 and 2.
    REQUIRE(n.node(1).remove_node(3).ok());
    REQUIRE(n.node(2).remove_node(3).ok());
    CHECK(n.node(1).status().size() == 2);
    CHECK_FALSE(node_status(n.node(1), 3));
    CHECK_FALSE(n.node(1).send(3, totem_datagram(1, "to a removed node")));
    const auto before1 = n.node(1).counters();
    const auto before2 = n.node(2).counters();
    REQUIRE(n.node(1).send(0, totem_datagram(1, "after removal")));
    CHECK(n.node(1).counters().tx_datagrams == before1.tx_datagrams + 2);  // self and node 2
    REQUIRE(n.node(3).send(0, totem_datagram(3, "from removed 3")));
    REQUIRE(run_until(n.io, [&] {
        return n.node(1).counters().rx_dropped_unknown_sender ==
                   before1.rx_dropped_unknown_sender + 1 &&
               n.node(2).counters().rx_dropped_unknown_sender ==
                   before2.rx_dropped_unknown_sender + 1 &&
               n.inbox.has(1, "after removal") && n.inbox.has(2, "after removal") &&
               n.inbox.has(3, "from removed 3");
    }));
    CHECK_FALSE(n.inbox.has(1, "from removed 3"));
    CHECK_FALSE(n.inbox.has(2, "from removed 3"));
    CHECK_FALSE(n.inbox.has(3, "after removal"));
    CHECK(n.node(2).counters().rx_dropped_config_mismatch == (crypto ? 1 : 0));
    CHECK_THAT(n.node(1).remove_node(3).error(), Catch::Contains("not in the nodelist"));
    CHECK_THAT(n.node(1).remove_node(1).error(), Catch::Contains("this node"));
}

}  // namespace

TEST_CASE("udpu: a node added at run time is heard; a removed one is dropped and counted",
          "[udpu]") {
    Growing n(false, 8);
    add_and_remove(n, false);
}

TEST_CASE("udpu: run-time nodelist changes with AES-256-GCM (the config digest follows)",
          "[udpu]") {
    Growing n(true, 9);
    add_and_remove(n, true);
    CHECK(n.node(1).counters().rx_dropped_auth == 0);
    CHECK(n.node(2).counters().rx_dropped_replay == 0);
}

TEST_CASE("udpu: status() as corosync's udpu reports it, counters, clear_stats()", "[udpu]") {
    Trio n(false, 10);
    exchange_and_check(n);
    auto st = n.node(3).status();
    REQUIRE(st.size() == 3);
    for (const auto& s : st) {
        INFO("node " << s.nodeid);
        CHECK(s.reachable);
        REQUIRE(s.links.size() == 1);
        const LinkStatus& l = s.links[0];
        CHECK(l.nodeid == s.nodeid);
        CHECK(l.link == 0);
        CHECK(l.enabled);
        CHECK(l.connected);
        CHECK(l.mtu == 1500);
        // totemudpu_nodestatus_get: the member's own address in src_ipaddr, no dst_ipaddr.
        CHECK(l.src_ip == "127.0.0." + std::to_string(10 + s.nodeid));
        CHECK(l.dst_ip.empty());
        CHECK(l.src_addr == "127.0.0.13:" + std::to_string(n.port));
        CHECK(l.dst_addr ==
              "127.0.0." + std::to_string(10 + s.nodeid) + ":" + std::to_string(n.port));
        CHECK(l.tx_data_packets == 1);  // node 3's one broadcast
        CHECK(l.tx_total_packets == 1);
        CHECK(l.tx_data_bytes == totem_datagram(3, "broadcast from 3").size());
    }
    CHECK(st[2].links[0].rx_data_packets == 1);  // its own broadcast
    for (const auto& s : n.node(2).status())     // 1->2, 2->self, 3's broadcast
        CHECK(s.links[0].rx_data_packets == 1);
    CHECK_FALSE(n.node(3).handle_stats().valid);
    n.node(3).clear_stats();
    for (const auto& s : n.node(3).status())
        CHECK(s.links[0].tx_data_packets == 0);
    CHECK(n.node(3).counters().tx_datagrams == 3);  // not cleared
    CHECK(n.node(3).reconfigure_links(loopback_config(TransportKind::udpu, 3, 3, n.port)).ok());
    n.node(3).stop();
    CHECK_FALSE(n.node(3).status()[0].links[0].enabled);
    TransportNode four;
    four.nodeid = 4;
    four.addrs[0] = "127.0.0.14";
    CHECK_THAT(n.node(3).add_node(four).error(), Catch::Contains("stopped"));
}
