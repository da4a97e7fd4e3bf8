// The udpu transport: three nodes on 127.0.0.11-13 in one process on one io_context.
#include "transport/udpu.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/ip/udp.hpp>

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
