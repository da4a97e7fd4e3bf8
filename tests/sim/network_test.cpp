// The simulator's parts that do not need a Totem stack: the event queue's order, the network
// model, the workload payload format.
#include <catch2/catch.hpp>

#include <vector>

#include "tests/sim/event_queue.hpp"
#include "tests/sim/network.hpp"
#include "tests/sim/trace.hpp"

using namespace totem;
using namespace totem::sim;

TEST_CASE("event queue: ordered by time, ties in push order") {
    EventQueue<int> q(100);
    Prng p(7);
    std::vector<std::pair<std::int64_t, int>> pushed;
    for (int i = 0; i < 60; ++i) {
        const auto t = static_cast<std::int64_t>(p.below(10));
        REQUIRE(q.push(t, i));
        pushed.emplace_back(t, i);
    }
    std::stable_sort(pushed.begin(), pushed.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [t, v] : pushed) {
        REQUIRE(!q.empty());
        auto e = q.pop();
        CHECK(e.time_us == t);
        CHECK(e.value == v);
    }
    CHECK(q.empty());
}

TEST_CASE("event queue: bounded") {
    EventQueue<int> q(3);
    CHECK(q.push(1, 1));
    CHECK(q.push(1, 2));
    CHECK(q.push(1, 3));
    CHECK_FALSE(q.push(0, 4));
    CHECK(q.size() == 3);
}

TEST_CASE("network: loss, duplication and latency follow the parameters") {
    NetworkModel net(4);
    net.params.loss_ppm = 250'000;
    net.params.dup_ppm = 100'000;
    net.params.latency_min_us = 100;
    net.params.latency_max_us = 900;
    Prng p(1);
    std::vector<NetworkModel::Copy> out;
    std::size_t self = 0, remote = 0;
    for (int i = 0; i < 10000; ++i) {
        out.clear();
        net.route(p, 0, true, 0, out);
        for (const auto& c : out) {
            if (c.to == 0) {
                ++self;
                CHECK(c.latency_us == net.params.self_latency_us);
            } else {
                ++remote;
                CHECK(c.latency_us >= 100);
                CHECK(c.latency_us <= 900);
            }
        }
    }
    CHECK(self == 10000);  // loopback never loses
    // 30000 remote sends × 0.75 delivered × 1.1 copies ≈ 24750
    CHECK(remote > 23500);
    CHECK(remote < 26000);
    CHECK(net.dropped_loss > 7000);
    CHECK(net.dropped_loss < 8000);
}

TEST_CASE("network: a share of the copies is held back up to stale_max_us") {
    NetworkModel net(3);
    net.params.latency_min_us = 100;
    net.params.latency_max_us = 900;
    net.params.stale_ppm = 100'000;  // 10 %
    net.params.stale_max_us = 2'000'000;
    Prng p(7);
    std::vector<NetworkModel::Copy> out;
    std::size_t held = 0, late = 0, copies = 0;
    for (int i = 0; i < 10000; ++i) {
        out.clear();
        net.route(p, 0, true, 0, out);
        for (const auto& c : out) {
            if (c.to == 0) {
                CHECK(!c.held_back);  // loopback is never held back
                continue;
            }
            ++copies;
            CHECK(c.latency_us >= 100);
            CHECK(c.latency_us <= 2'000'000);
            if (c.held_back) {
                ++held;
                CHECK(c.latency_us >= 900);
                late += c.latency_us > 1'000'000 ? 1 : 0;
            } else {
                CHECK(c.latency_us <= 900);
            }
        }
    }
    CHECK(copies == 20000);
    CHECK(held > 1800);  // 10 % of 20000
    CHECK(held < 2200);
    CHECK(net.delayed == held);
    CHECK(late > held / 3);  // uniform up to 2 s: about half beyond 1 s
}

TEST_CASE("network: partitions, heals and down nodes") {
    NetworkModel net(4);
    Prng p(2);
    std::vector<NetworkModel::Copy> out;
    net.partition({0, 0, 1, 1});
    CHECK(net.partitioned());
    CHECK(net.connected(0, 1));
    CHECK_FALSE(net.connected(1, 2));
    net.route(p, 1, true, 0, out);
    REQUIRE(out.size() == 2);
    CHECK(out[0].to == 0);
    CHECK(out[1].to == 1);
    out.clear();
    net.route(p, 0, false, 3, out);  // unicast across the cut
    CHECK(out.empty());
    net.heal();
    CHECK_FALSE(net.partitioned());
    net.set_up(2, false);
    out.clear();
    net.route(p, 0, true, 0, out);
    CHECK(out.size() == 3);
    for (const auto& c : out)
        CHECK(c.to != 2);
}

TEST_CASE("network: a one-way link failure cuts one direction until the heal") {
    NetworkModel net(3);
    Prng p(3);
    std::vector<NetworkModel::Copy> out;
    net.block(0, 1);
    CHECK_FALSE(net.connected(0, 1));
    CHECK(net.connected(1, 0));
    CHECK(net.partitioned());
    net.route(p, 0, true, 0, out);
    REQUIRE(out.size() == 2);
    CHECK(out[0].to == 0);
    CHECK(out[1].to == 2);
    out.clear();
    net.route(p, 1, false, 0, out);
    CHECK(out.size() == 1);
    net.heal();
    CHECK(net.connected(0, 1));
    CHECK_FALSE(net.partitioned());
}

TEST_CASE("network: the same seed routes the same way") {
    auto run = [](std::uint64_t seed) {
        NetworkModel net(5);
        net.params.loss_ppm = 300'000;
        net.params.dup_ppm = 50'000;
        Prng p(seed);
        std::vector<NetworkModel::Copy> out;
        Fnv64 h;
        for (int i = 0; i < 1000; ++i) {
            out.clear();
            net.route(p, static_cast<std::size_t>(i % 5), i % 3 != 0, (i * 7) % 5, out);
            for (const auto& c : out) {
                h.u64(c.to);
                h.u64(static_cast<std::uint64_t>(c.latency_us));
            }
        }
        return h.value();
    };
    CHECK(run(11) == run(11));
    CHECK(run(11) != run(12));
}

TEST_CASE("payload: round trip, and corruption is detected") {
    const MsgId id{3, 1, 77};
    for (std::size_t size : {std::size_t{0}, std::size_t{24}, std::size_t{25}, std::size_t{5000}}) {
        const Bytes b = make_payload(id, payload_flag_probe, size);
        CHECK(b.size() == std::max(size, payload_header_size));
        const auto d = decode_payload(ByteView(b));
        REQUIRE(d.has_value());
        CHECK(d->id == id);
        CHECK(d->flags == payload_flag_probe);
    }
    Bytes b = make_payload(id, 0, 300);
    Bytes truncated(b.begin(), b.end() - 1);
    CHECK_FALSE(decode_payload(ByteView(truncated)).has_value());
    b[200] ^= 1;
    CHECK_FALSE(decode_payload(ByteView(b)).has_value());
    b[200] ^= 1;
    b[4] = 9;  // another origin: the pattern no longer matches
    CHECK_FALSE(decode_payload(ByteView(b)).has_value());
}
