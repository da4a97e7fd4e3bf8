// engine/sync: corosync 3.1.7's service synchronisation (spec B2.6, B3; exec/sync.c).
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/sync/sync.hpp"

using namespace totem;
using namespace totem::sync;

namespace {

// Records every callback in one journal shared by a node's services.
struct Journal {
    std::vector<std::string> lines;
};

struct FakeService : Participant {
    FakeService(std::string name, Journal& j) : name_(std::move(name)), j_(j) {}
    void sync_init(const NodeList& trans, const NodeList& members, const RingId&) override {
        last_trans = trans;
        last_members = members;
        j_.lines.push_back(name_ + ".init");
    }
    bool sync_process() override {
        j_.lines.push_back(name_ + ".process");
        if (busy > 0) {
            --busy;
            return false;
        }
        return true;
    }
    void sync_activate() override { j_.lines.push_back(name_ + ".activate"); }
    void sync_abort() override { j_.lines.push_back(name_ + ".abort"); }
    int busy = 0;  // process calls that ask to be called again
    NodeList last_trans, last_members;
    std::string name_;
    Journal& j_;
};

// A node: its Sync, its services, and what it multicast.
struct Node : Host {
    explicit Node(NodeId nodeid) : id(nodeid), sync(*this) {}
    bool mcast_sync(ByteView m) override {
        if (refuse)
            return false;
        out.emplace_back(m.begin(), m.end());
        return true;
    }
    void sync_completed() override { journal.lines.push_back("completed"); }
    void sync_log(LogLevel, std::string) override {}
    FakeService& add(std::uint16_t sid, const std::string& name) {
        services.push_back(std::make_unique<FakeService>(name, journal));
        sync.add_service(sid, name, services.back().get());
        return *services.back();
    }
    NodeId id;
    Sync sync;
    Journal journal;
    std::vector<std::unique_ptr<FakeService>> services;
    std::vector<Bytes> out;
    bool refuse = false;
};

// Agreed order: every message multicast so far, delivered to every node in one order
// (node order within a round, as a token would collect them).
struct Ring {
    std::map<NodeId, std::unique_ptr<Node>> nodes;
    Node& add(NodeId id) { return *(nodes[id] = std::make_unique<Node>(id)); }
    Node& at(NodeId id) { return *nodes.at(id); }
    NodeList members() const {
        NodeList l;
        for (auto& [id, n] : nodes)
            l.push_back(id);
        return l;
    }
    void start(const RingId& ring) {
        for (auto& [id, n] : nodes) {
            n->sync.save_transitional({id});
            n->sync.start(members(), ring);
        }
    }
    // Delivers what is queued, then every node "sends a token"; `rounds` times.
    void run(int rounds = 20) {
        for (int r = 0; r < rounds; ++r) {
            deliver_all();
            for (auto& [id, n] : nodes)
                n->sync.token_sent();
        }
        deliver_all();
    }
    void deliver_all() {
        for (auto& [from, sender] : nodes) {
            auto msgs = std::exchange(sender->out, {});
            for (const Bytes& m : msgs)
                for (auto& [to, receiver] : nodes)
                    receiver->sync.deliver(from, m, false);
        }
    }
};

}  // namespace

TEST_CASE("sync: services are processed and activated one at a time in id order (B3.2)") {
    Ring ring;
    for (NodeId id : {1u, 2u, 3u}) {
        Node& n = ring.add(id);
        n.add(2, "cpg");
        n.add(0, "cmap");
    }
    ring.start(RingId{1, 8});
    for (auto& [id, n] : ring.nodes) {
        REQUIRE(n->out.size() == 1);  // SERVICE_BUILD
        CHECK(n->out[0].size() == 552);
        CHECK(n->sync.phase() == Sync::Phase::service_list_build);
    }
    ring.run();
    for (auto& [id, n] : ring.nodes) {
        INFO("node " << id);
        CHECK(n->journal.lines == std::vector<std::string>{"cmap.init", "cpg.init", "cmap.process",
                                                           "cmap.activate", "cpg.process",
                                                           "cpg.activate", "completed"});
        CHECK(n->sync.phase() == Sync::Phase::idle);
        CHECK(n->sync.stats().syncs_completed == 1);
        n->sync.check_invariants();
    }
}

TEST_CASE("sync: ids another node lists become no-op services, so a mixed ring completes") {
    Ring ring;
    Node& a = ring.add(1);  // corosync: cmap, cpg, quorum, votequorum
    a.add(0, "cmap");
    a.add(2, "cpg");
    a.add(3, "quorum");
    a.add(5, "votequorum");
    Node& b = ring.add(2);  // a node that knows only cmap
    b.add(0, "cmap");
    ring.start(RingId{1, 4});
    ring.deliver_all();
    CHECK(b.sync.service_ids() == std::vector<std::uint16_t>{0, 2, 3, 5});
    CHECK(b.sync.stats().unknown_services == 3);
    ring.run();
    CHECK(a.journal.lines.back() == "completed");
    CHECK(b.journal.lines.back() == "completed");
    CHECK(b.journal.lines ==
          std::vector<std::string>{"cmap.init", "cmap.process", "cmap.activate", "completed"});
}

TEST_CASE("sync: a process that asks again runs at the next token; nobody activates before") {
    Ring ring;
    for (NodeId id : {1u, 2u})
        ring.add(id).add(0, "cmap");
    ring.at(2).services[0]->busy = 2;
    ring.start(RingId{1, 4});
    ring.deliver_all();
    ring.at(1).sync.token_sent();
    ring.at(2).sync.token_sent();  // busy
    ring.deliver_all();
    CHECK(ring.at(1).sync.phase() == Sync::Phase::barrier);
    CHECK(ring.at(2).sync.phase() == Sync::Phase::process);
    CHECK(std::count(ring.at(1).journal.lines.begin(), ring.at(1).journal.lines.end(),
                     "cmap.activate") == 0);
    ring.run();
    const auto& j2 = ring.at(2).journal.lines;
    CHECK(std::count(j2.begin(), j2.end(), "cmap.process") == 3);
    CHECK(j2.back() == "completed");
    CHECK(ring.at(1).journal.lines.back() == "completed");
}

TEST_CASE("sync: abort calls the current service's abort in the process phase only (B3.7)") {
    Ring ring;
    for (NodeId id : {1u, 2u}) {
        Node& n = ring.add(id);
        n.add(0, "cmap");
        n.add(2, "cpg");
    }
    ring.at(2).services[0]->busy = 100;  // node 2 stays in cmap's process
    ring.start(RingId{1, 4});
    ring.run(3);
    CHECK(ring.at(1).sync.phase() == Sync::Phase::barrier);
    CHECK(ring.at(2).sync.phase() == Sync::Phase::process);
    ring.at(1).sync.abort();
    ring.at(2).sync.abort();
    const auto& j1 = ring.at(1).journal.lines;
    const auto& j2 = ring.at(2).journal.lines;
    CHECK(std::count(j1.begin(), j1.end(), "cmap.abort") == 0);  // barrier phase
    CHECK(std::count(j2.begin(), j2.end(), "cmap.abort") == 1);
    CHECK(ring.at(1).sync.stats().syncs_aborted == 1);
    // A second abort (corosync's transitional and regular confchg both abort) does nothing.
    ring.at(2).sync.abort();
    CHECK(std::count(j2.begin(), j2.end(), "cmap.abort") == 1);
}

TEST_CASE("sync: messages of an older ring are dropped, after an abort too") {
    Ring ring;
    for (NodeId id : {1u, 2u})
        ring.add(id).add(0, "cmap");
    ring.start(RingId{1, 4});
    // node 1's SERVICE_BUILD of ring 1.4 is delivered late, after node 2 started ring 1.8
    const Bytes old_build = ring.at(1).out.at(0);
    ring.at(2).out.clear();
    ring.at(1).out.clear();
    ring.at(2).sync.abort();
    ring.at(2).sync.deliver(1, old_build, false);
    CHECK(ring.at(2).sync.stats().old_ring_dropped == 1);
    ring.start(RingId{1, 8});
    ring.at(2).sync.deliver(1, old_build, false);
    CHECK(ring.at(2).sync.stats().old_ring_dropped == 2);
    ring.run();
    CHECK(ring.at(1).journal.lines.back() == "completed");
    CHECK(ring.at(2).journal.lines.back() == "completed");
}

TEST_CASE("sync: malformed and other-endian messages are counted and dropped") {
    Ring ring;
    Node& n = ring.add(1);
    n.add(0, "cmap");
    ring.start(RingId{1, 4});
    const Bytes good = n.out.at(0);
    n.sync.deliver(1, good, true);
    CHECK(n.sync.stats().other_endian == 1);
    Bytes short_one(good.begin(), good.begin() + 20);
    n.sync.deliver(1, short_one, false);
    Bytes wrong_size = good;
    wrong_size[8] = 0x30;  // header size 560 vs 552 bytes
    wrong_size[9] = 0x02;
    n.sync.deliver(1, wrong_size, false);
    Bytes bad_count = good;
    bad_count[32] = 200;  // service_list_entries > 128
    n.sync.deliver(1, bad_count, false);
    Bytes unknown_id = good;
    unknown_id[0] = 7;
    n.sync.deliver(1, unknown_id, false);
    CHECK(n.sync.stats().malformed == 4);
    CHECK(n.sync.phase() == Sync::Phase::service_list_build);  // nothing counted as received
    n.sync.deliver(1, good, false);
    CHECK(n.sync.phase() == Sync::Phase::process);
}

TEST_CASE("sync: without services the sync completes once every SERVICE_BUILD is in") {
    Ring ring;
    ring.add(1);
    ring.add(2);
    ring.start(RingId{1, 4});
    ring.deliver_all();
    CHECK(ring.at(1).journal.lines == std::vector<std::string>{"completed"});
    CHECK(ring.at(2).journal.lines == std::vector<std::string>{"completed"});
}

TEST_CASE("sync: init gets the transitional members that are in the new ring") {
    Ring ring;
    Node& n = ring.add(2);
    FakeService& s = n.add(0, "cmap");
    n.sync.save_transitional({1, 2, 4});
    n.sync.start({2, 3, 4}, RingId{2, 12});
    CHECK(s.last_trans == NodeList{2, 4});
    CHECK(s.last_members == NodeList{2, 3, 4});
}

TEST_CASE("sync: SERVICE_BUILD and BARRIER layouts (B2.6)") {
    Ring ring;
    Node& n = ring.add(1);
    n.add(5, "votequorum");
    n.add(0, "cmap");
    n.sync.save_transitional({1});
    n.sync.start({1}, RingId{0x01020304, 0x1122334455667788ull});
    REQUIRE(n.out.size() == 1);
    const Bytes& b = n.out[0];
    REQUIRE(b.size() == 552);
    CHECK(b[0] == 1);                  // id SERVICE_BUILD
    CHECK((b[8] | b[9] << 8) == 552);  // size
    CHECK(b[16] == 0x04);              // rep, packed at 16
    CHECK(b[20] == 0x88);              // seq, packed at 20
    CHECK(b[27] == 0x11);
    CHECK(b[32] == 2);  // entries
    CHECK(b[40] == 0);  // cmap
    CHECK(b[44] == 5);  // votequorum
    n.sync.deliver(1, b, false);
    n.sync.token_sent();
    REQUIRE(n.out.size() == 2);
    const Bytes& barrier = n.out[1];
    CHECK(barrier.size() == 32);
    CHECK(barrier[0] == 0);
    CHECK(barrier[8] == 32);
    CHECK(barrier[16] == 0x04);
}

TEST_CASE(
    "sync: a SERVICE_BUILD or BARRIER the queue refuses is sent again after the next "
    "tokens (corosync's sync waits for ever)") {
    Ring ring;
    for (NodeId id : {1u, 2u})
        ring.add(id).add(0, "cmap");
    ring.at(2).refuse = true;  // node 2's queue is full when the ring forms
    ring.start(RingId{1, 4});
    ring.run(3);
    CHECK(ring.at(2).sync.stats().mcast_refused == 1 + 3);  // the build, then once per token
    CHECK(ring.at(1).sync.phase() == Sync::Phase::service_list_build);
    CHECK(ring.at(2).journal.lines.back() != "completed");
    ring.at(2).refuse = false;
    ring.run();
    CHECK(ring.at(1).journal.lines.back() == "completed");
    CHECK(ring.at(2).journal.lines.back() == "completed");

    // the barrier: refused once, then sent at the next token, and the sync completes
    Ring again;
    for (NodeId id : {1u, 2u})
        again.add(id).add(0, "cmap");
    again.start(RingId{1, 8});
    again.deliver_all();  // every SERVICE_BUILD: process phase
    again.at(1).refuse = true;
    again.at(1).sync.token_sent();  // cmap.process done, the BARRIER refused
    CHECK(again.at(1).sync.phase() == Sync::Phase::barrier);
    CHECK(again.at(1).sync.stats().mcast_refused == 1);
    again.at(1).refuse = false;
    again.run();
    CHECK(again.at(1).journal.lines.back() == "completed");
    CHECK(again.at(2).journal.lines.back() == "completed");
    CHECK(std::count(again.at(1).journal.lines.begin(), again.at(1).journal.lines.end(),
                     "cmap.process") == 1);
}

TEST_CASE("sync: a message refused in one ring is not sent in the next") {
    Ring ring;
    for (NodeId id : {1u, 2u})
        ring.add(id).add(0, "cmap");
    ring.at(2).refuse = true;
    ring.start(RingId{1, 4});
    for (auto& [id, n] : ring.nodes)
        n->sync.abort();
    ring.at(2).refuse = false;
    ring.start(RingId{1, 8});
    ring.run();
    // node 1's SERVICE_BUILD of 1.4 arrives in 1.8 and is dropped; node 2 sends only 1.8's
    CHECK(ring.at(1).sync.stats().old_ring_dropped == 1);
    CHECK(ring.at(2).sync.stats().old_ring_dropped == 1);
    CHECK(ring.at(1).journal.lines.back() == "completed");
    CHECK(ring.at(2).journal.lines.back() == "completed");
}
