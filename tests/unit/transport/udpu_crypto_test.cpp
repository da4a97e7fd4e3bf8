// UdpuCrypto alone: seal/open, tampering, replay window, sessions, config digest
// (docs/protocol/udpu-crypto.md).
#include "transport/udpu_crypto.hpp"

#include <catch2/catch.hpp>

#include "tests/unit/transport/test_util.hpp"

using namespace totem;
using totem::test::key_bytes;
using totem::test::loopback_config;

namespace {
TransportConfig cfg_for(NodeId me, std::uint8_t key_seed = 1) {
    auto c = loopback_config(TransportKind::udpu, 3, me, 5405);
    c.crypto_cipher = "aes256";
    c.crypto_hash = "sha256";
    c.key = key_bytes(key_seed);
    return c;
}
Bytes text(const char* s) {
    return Bytes(s, s + std::strlen(s));
}
}  // namespace

TEST_CASE("udpu crypto: a sealed packet opens at every member, with its sender", "[udpu-crypto]") {
    UdpuCrypto a(cfg_for(1), 1000);
    UdpuCrypto b(cfg_for(2), 2000);
    Bytes p = a.seal(text("hello"));
    REQUIRE(p.size() == 5 + kUdpuCryptoOverhead);
    auto r = b.open(p);
    REQUIRE(r.ok());
    CHECK(r->sender == 1);
    CHECK(r->plaintext == text("hello"));
    auto self = a.open(a.seal(text("to myself")));
    REQUIRE(self.ok());
    CHECK(self->plaintext == text("to myself"));
    auto empty = b.open(a.seal({}));
    REQUIRE(empty.ok());
    CHECK(empty->plaintext.empty());
}

TEST_CASE("udpu crypto: tampering anywhere fails authentication", "[udpu-crypto]") {
    UdpuCrypto a(cfg_for(1), 1000);
    Bytes p = a.seal(text("payload bytes"));
    // Header bytes other than sender/digest/counter, ciphertext, tag: each flip is refused.
    for (std::size_t i : {std::size_t{16}, std::size_t{20}, std::size_t{33}, p.size() - 1}) {
        UdpuCrypto b(cfg_for(2), 2000);
        Bytes t = p;
        t[i] ^= 0x01;
        auto r = b.open(t);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error() == UdpuDrop::auth);
    }
    UdpuCrypto b(cfg_for(2), 2000);
    Bytes t = p;
    t[4] = 9;  // sender nodeid not in the nodelist
    CHECK(b.open(t).error() == UdpuDrop::unknown_sender);
    t = p;
    t[4] = 3;  // another member claims it: the key and associated data differ
    CHECK(b.open(t).error() == UdpuDrop::auth);
    t = p;
    t[0] = 'X';
    CHECK(b.open(t).error() == UdpuDrop::malformed);
    CHECK(b.open(ByteView(p.data(), 20)).error() == UdpuDrop::malformed);
}

TEST_CASE("udpu crypto: another key or cluster configuration is refused", "[udpu-crypto]") {
    UdpuCrypto a(cfg_for(1), 1000);
    UdpuCrypto wrong_key(cfg_for(2, 99), 2000);
    CHECK(wrong_key.open(a.seal(text("x"))).error() == UdpuDrop::auth);
    auto other = cfg_for(2);
    other.cluster_name = "another";
    UdpuCrypto wrong_name(other, 2000);
    CHECK(wrong_name.open(a.seal(text("x"))).error() == UdpuDrop::config_mismatch);
    CHECK(udpu_config_digest(cfg_for(1)) == udpu_config_digest(cfg_for(3)));
    CHECK(udpu_config_digest(cfg_for(1)) != udpu_config_digest(other));
}

TEST_CASE("udpu crypto: replays are refused, reordering within the window is not",
          "[udpu-crypto]") {
    UdpuCrypto a(cfg_for(1), 1000);
    UdpuCrypto b(cfg_for(2), 2000);
    std::vector<Bytes> ps;
    for (int i = 0; i < 10; ++i)
        ps.push_back(a.seal(text("m")));
    REQUIRE(b.open(ps[5]).ok());
    CHECK(b.open(ps[5]).error() == UdpuDrop::replay);
    REQUIRE(b.open(ps[2]).ok());  // older, unseen: accepted
    CHECK(b.open(ps[2]).error() == UdpuDrop::replay);
    REQUIRE(b.open(ps[9]).ok());
    REQUIRE(b.open(ps[0]).ok());
    CHECK(b.open(ps[9]).error() == UdpuDrop::replay);
    // Beyond the window: too old.
    Bytes old = a.seal(text("old"));
    for (std::size_t i = 0; i < kUdpuReplayWindow + 5; ++i)
        (void)a.seal(text("skip"));
    REQUIRE(b.open(a.seal(text("new"))).ok());
    CHECK(b.open(old).error() == UdpuDrop::replay);
}

TEST_CASE("udpu crypto: a restarted sender's newer session supersedes the old one",
          "[udpu-crypto]") {
    UdpuCrypto b(cfg_for(2), 2000);
    UdpuCrypto first(cfg_for(1), 1000);
    Bytes from_first = first.seal(text("1"));
    REQUIRE(b.open(from_first).ok());
    UdpuCrypto restarted(cfg_for(1), 5000);  // counter starts again at 1, new session
    REQUIRE(b.open(restarted.seal(text("2"))).ok());
    CHECK(b.open(first.seal(text("3"))).error() == UdpuDrop::replay);  // superseded session
}

TEST_CASE("udpu crypto: a reloaded nodelist changes the digest and keeps staying peers' windows",
          "[udpu-crypto]") {
    auto two = [](NodeId me) {
        auto c = cfg_for(me);
        c.nodes.pop_back();
        return c;
    };
    UdpuCrypto a(two(1), 1000);
    UdpuCrypto b(two(2), 2000);
    UdpuCrypto c(cfg_for(3), 3000);  // already has the three-node nodelist
    Bytes first = a.seal(text("before"));
    REQUIRE(b.open(first).ok());
    CHECK(b.open(c.seal(text("x"))).error() == UdpuDrop::unknown_sender);

    b.set_nodelist(cfg_for(2));
    CHECK(b.open(c.seal(text("from 3"))).ok());  // a new member
    CHECK(b.open(a.seal(text("old list"))).error() == UdpuDrop::config_mismatch);
    a.set_nodelist(cfg_for(1));
    Bytes second = a.seal(text("new list"));  // a's session and counter went on
    auto r = b.open(second);
    REQUIRE(r.ok());
    CHECK(r->plaintext == text("new list"));

    // Node 3 leaves and comes back: node 1's replay window survived both reloads.
    b.set_nodelist(two(2));
    CHECK(b.open(c.seal(text("gone"))).error() == UdpuDrop::unknown_sender);
    CHECK(b.open(first).error() == UdpuDrop::replay);  // the two-node digest again: seen
    b.set_nodelist(cfg_for(2));
    CHECK(b.open(second).error() == UdpuDrop::replay);
    CHECK(b.open(first).error() == UdpuDrop::config_mismatch);
}
