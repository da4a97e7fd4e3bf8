// The EVS checker on hand-made traces: a good history passes, and each kind of violation,
// planted into it, is caught (a checker that cannot fail is a defect).
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <string>

#include "tests/sim/checker.hpp"

using namespace totem;
using namespace totem::sim;

namespace {

DeliverRecord delivery_of(const MsgId& id, NodeId sender, bool intact, bool safe, RingId sent) {
    DeliverRecord d;
    d.id = id;
    d.sender = sender;
    d.intact = intact;
    d.safe = safe;
    d.sent_ring = sent;
    return d;
}

SubmitRecord submit_of(std::int64_t time_us, std::uint32_t size, std::uint32_t flags, bool safe) {
    SubmitRecord r;
    r.time_us = time_us;
    r.size = size;
    r.flags = flags;
    r.safe = safe;
    return r;
}

TraceEvent delivery_event(const DeliverRecord& d) {
    TraceEvent e;
    e.kind = TraceEvent::Kind::deliver;
    e.deliver = d;
    return e;
}

struct TraceBuilder {
    Trace t;
    explicit TraceBuilder(NodeList nodes) { t.nodes = std::move(nodes); }

    std::size_t start(NodeId node, std::uint32_t incarnation = 0) {
        Incarnation i;
        i.node = node;
        i.incarnation = incarnation;
        t.incarnations.push_back(std::move(i));
        return t.incarnations.size() - 1;
    }
    // A message sent in the incarnation's current regular configuration.
    MsgId send(std::size_t inc, std::uint32_t flags = 0, bool safe = false) {
        auto& i = t.incarnations[inc];
        MsgId id{i.node, i.incarnation, static_cast<std::uint32_t>(++i.submitted)};
        t.submitted[id] = submit_of(0, 100, flags, safe);
        sent_in[id] = current[inc];
        return id;
    }
    void conf(std::size_t inc, bool regular, RingId ring, NodeList members, NodeList left,
              NodeList joined, std::int64_t time_us = 0) {
        TraceEvent e;
        e.kind = TraceEvent::Kind::confchg;
        e.time_us = time_us;
        e.confchg =
            ConfChgRecord{regular, std::move(members), std::move(left), std::move(joined), ring};
        t.incarnations[inc].events.push_back(std::move(e));
        if (regular)
            current[inc] = ring;
    }
    // A transitional + regular pair.
    void change(std::size_t inc, RingId ring, NodeList trans, NodeList left, NodeList regular,
                NodeList joined) {
        conf(inc, false, ring, std::move(trans), std::move(left), {});
        conf(inc, true, ring, std::move(regular), {}, std::move(joined));
    }
    // Delivered with the guarantee it was sent with, as sent in the ring send() noted.
    void deliver(std::size_t inc, const MsgId& id, std::int64_t time_us = 0) {
        TraceEvent e;
        e.kind = TraceEvent::Kind::deliver;
        e.time_us = time_us;
        const auto sub = t.submitted.find(id);
        e.deliver = delivery_of(id, id.origin, true, sub != t.submitted.end() && sub->second.safe,
                                sent_in[id]);
        t.incarnations[inc].events.push_back(std::move(e));
    }
    DeliverRecord& delivery(std::size_t inc, const MsgId& id) {
        for (auto& e : t.incarnations[inc].events) {
            if (e.kind == TraceEvent::Kind::deliver && e.deliver.id == id)
                return e.deliver;
        }
        FAIL("no such delivery");
        throw 0;
    }
    std::map<std::size_t, RingId> current;  // incarnation → its last regular ring
    std::map<MsgId, RingId> sent_in;
    void deliver_all(std::initializer_list<std::size_t> incs, std::initializer_list<MsgId> ids) {
        for (auto i : incs) {
            for (const auto& id : ids)
                deliver(i, id);
        }
    }
};

// Nodes 1, 2, 3 form ring 1.4; node 3 is cut off (rings 1.8 {1,2} and 3.8 {3}), crashes,
// restarts, and everyone merges into ring 1.c; each node's probe is delivered everywhere.
struct Story {
    TraceBuilder b{{1, 2, 3}};
    std::size_t n1, n2, n3, n3b;
    MsgId a1, a2, b1, c1, a3, b2, c2, c3, pa, pb, pc;
    RingId r4{1, 4}, r8{1, 8}, r8c{3, 8}, r12{1, 12};

    Story() {
        n1 = b.start(1);
        n2 = b.start(2);
        n3 = b.start(3);
        b.change(n1, r4, {1}, {}, {1, 2, 3}, {2, 3});
        b.change(n2, r4, {2}, {}, {1, 2, 3}, {1, 3});
        b.change(n3, r4, {3}, {}, {1, 2, 3}, {1, 2});
        a1 = b.send(n1);
        b1 = b.send(n2, 0, true);  // safe: every member of ring 1.4 delivers it there
        c1 = b.send(n3);
        a2 = b.send(n1);
        b.deliver_all({n1, n2}, {a1, b1, c1, a2});
        b.deliver_all({n3}, {a1, b1});  // node 3 is behind when the cut happens
        // The cut: 1 and 2 keep ring 1.4's messages; node 3 gets its own c1 in its own
        // transitional configuration (origins outside it are skipped).
        b.change(n1, r8, {1, 2}, {3}, {1, 2}, {});
        b.change(n2, r8, {1, 2}, {3}, {1, 2}, {});
        b.conf(n3, false, r8c, {3}, {1, 2}, {});
        b.deliver(n3, c1);
        b.conf(n3, true, r8c, {3}, {}, {});
        a3 = b.send(n1);
        b2 = b.send(n2);
        c2 = b.send(n3);
        b.deliver_all({n1, n2}, {a3, b2});
        b.deliver(n3, c2);
        c3 = b.send(n3);
        b.deliver(n3, c3);  // and then node 3 crashes
        b.t.incarnations[n3].crashed = true;
        n3b = b.start(3, 1);
        b.change(n3b, r12, {3}, {}, {1, 2, 3}, {1, 2});
        b.change(n1, r12, {1, 2}, {}, {1, 2, 3}, {3});
        b.change(n2, r12, {1, 2}, {}, {1, 2, 3}, {3});
        pa = b.send(n1, payload_flag_probe);
        pb = b.send(n2, payload_flag_probe);
        pc = b.send(n3b, payload_flag_probe);
        b.deliver_all({n1, n2, n3b}, {pa, pb, pc});
        b.t.liveness_phase = true;
        b.t.liveness_reached = true;
        // cmap's sync left every node's config_version (0, the run's) at every node
        for (std::size_t i : {n1, n2, n3b})
            b.t.incarnations[i].config_versions = {{1, 0}, {2, 0}, {3, 0}};
    }
    // The incarnation's events with one delivery removed or replaced.
    void drop_delivery(std::size_t inc, const MsgId& id) {
        auto& ev = b.t.incarnations[inc].events;
        for (auto it = ev.begin(); it != ev.end(); ++it) {
            if (it->kind == TraceEvent::Kind::deliver && it->deliver.id == id) {
                ev.erase(it);
                return;
            }
        }
        FAIL("no such delivery");
    }
    TraceEvent& event(std::size_t inc, std::size_t k) { return b.t.incarnations[inc].events[k]; }
};

std::string explain(const CheckResult& r) {
    std::string s;
    for (const auto& f : r.findings)
        s += std::string(to_string(f.kind)) + ": " + f.detail + "\n";
    return s;
}

}  // namespace

TEST_CASE("checker: a correct history with a partition, a crash and a merge passes") {
    Story s;
    const auto r = check_trace(s.b.t);
    INFO(explain(r));
    CHECK(r.ok());
    CHECK(r.total_checks() > 50);
    for (auto v : {Violation::trans_exact, Violation::sending_config, Violation::guarantee,
                   Violation::safe_delivery})
        CHECK(r.checks[static_cast<std::size_t>(v)] > 0);
}

TEST_CASE("checker: every violation kind is caught") {
    struct Case {
        const char* name;
        Violation expected;
        std::function<void(Story&)> plant;
    };
    const std::vector<Case> cases = {
        {"a delivery of a message nobody sent", Violation::delivered_unsent,
         [](Story& s) {
             s.b.deliver(s.n1, MsgId{2, 0, 99});
         }},
        {"a corrupt payload", Violation::delivered_unsent,
         [](Story& s) { s.event(s.n2, 2).deliver.intact = false; }},
        {"a wrong sender", Violation::delivered_unsent,
         [](Story& s) { s.event(s.n2, 2).deliver.sender = 3; }},
        {"a duplicate", Violation::duplicate, [](Story& s) { s.b.deliver(s.n2, s.a1); }},
        {"a duplicate across a restart", Violation::duplicate,
         [](Story& s) { s.b.deliver(s.n3b, s.c1); }},
        {"a delivery before the first configuration", Violation::outside_config,
         [](Story& s) {
             auto& ev = s.b.t.incarnations[s.n3b].events;
             TraceEvent e;
             e.kind = TraceEvent::Kind::deliver;
             e.deliver = delivery_of(s.c1, 3, true, false, s.r4);
             ev.insert(ev.begin(), e);
         }},
        {"a sender skipping its own message", Violation::self_delivery,
         [](Story& s) { s.drop_delivery(s.n3, s.c2); }},
        {"one origin out of order", Violation::fifo,
         [](Story& s) {
             // node 3 delivers c3 before c2
             auto& ev = s.b.t.incarnations[s.n3].events;
             std::swap(ev[ev.size() - 1], ev[ev.size() - 2]);
         }},
        {"two nodes in different orders across configurations", Violation::total_order,
         [](Story& s) {
             // node 1 moves a1 after ring 1.8's regular configuration: 1.8 < a1 at node 1,
             // a1 < 1.8 at node 2
             s.drop_delivery(s.n1, s.a1);
             s.b.t.incarnations[s.n1].events.insert(
                 s.b.t.incarnations[s.n1].events.begin() + 7,
                 delivery_event(delivery_of(s.a1, 1, true, false, s.r4)));
         }},
        {"diverging deliveries in one regular configuration", Violation::config_deliveries,
         [](Story& s) { s.drop_delivery(s.n2, s.a1); }},
        {"a delivery in a configuration without its origin", Violation::config_deliveries,
         [](Story& s) {
             const MsgId x = s.b.send(s.n1);
             s.b.deliver(s.n3, x);  // after node 3's 3.8 {3}: origin 1 is not a member
             s.b.deliver(s.n1, x);
         }},
        {"members moving together with different sets", Violation::moved_together,
         [](Story& s) { s.drop_delivery(s.n2, s.a2); }},
        {"one ring id with two member lists", Violation::ring_membership,
         [](Story& s) {
             s.event(s.n3, 4).confchg.ring_id = RingId{1, 8};
             s.event(s.n3, 6).confchg.ring_id = RingId{1, 8};
         }},
        {"a wrong left list", Violation::confchg_sequence,
         [](Story& s) { s.event(s.n1, 6).confchg.left = {}; }},
        {"a regular configuration without its transitional one", Violation::confchg_sequence,
         [](Story& s) {
             auto& ev = s.b.t.incarnations[s.n3b].events;
             ev.erase(ev.begin());
         }},
        {"a ring seq going back after a restart", Violation::confchg_sequence,
         [](Story& s) {
             for (auto& ev : s.b.t.incarnations[s.n3b].events) {
                 if (ev.kind == TraceEvent::Kind::confchg)
                     ev.confchg.ring_id = RingId{3, 2};
             }
         }},
        {"a transitional configuration outside the next regular one", Violation::trans_subset,
         [](Story& s) {
             s.event(s.n1, 6).confchg.members = {1, 2, 3};
             s.event(s.n1, 6).confchg.left = {};
         }},
        {"a transitional configuration missing a member that came from the same ring",
         Violation::trans_exact,
         [](Story& s) {
             s.event(s.n1, 6).confchg.members = {1};
             s.event(s.n1, 6).confchg.left = {2, 3};
         }},
        {"a transitional configuration listing a member that came from elsewhere",
         Violation::trans_exact,
         [](Story& s) {
             s.event(s.n1, 10).confchg.members = {1, 2, 3};  // node 3/1 came from its start
         }},
        {"a delivery reported as sent in another ring", Violation::sending_config,
         [](Story& s) { s.b.delivery(s.n2, s.a3).sent_ring = s.r4; }},
        {"a transitional delivery of a message sent after the old ring", Violation::sending_config,
         [](Story& s) { s.b.delivery(s.n3, s.c1).sent_ring = s.r8c; }},
        {"a safe message delivered as agreed", Violation::guarantee,
         [](Story& s) { s.b.delivery(s.n2, s.b1).safe = false; }},
        {"a safe delivery that a cut-off member never makes", Violation::safe_delivery,
         [](Story& s) {
             // a2 delivered safe in ring 1.4 although node 3, a member that did not crash there,
             // never had it (it moved to its own ring without it)
             s.b.t.submitted[s.a2].safe = true;
             s.b.delivery(s.n1, s.a2).safe = true;
             s.b.delivery(s.n2, s.a2).safe = true;
         }},
        {"no liveness", Violation::liveness_ring, [](Story& s) { s.b.t.liveness_reached = false; }},
        {"a survivor outside the final ring", Violation::liveness_ring,
         [](Story& s) {
             s.b.change(s.n3b, RingId{3, 16}, {3}, {1, 2}, {3}, {});
         }},
        {"a survivor's message never delivered", Violation::liveness_delivery,
         [](Story& s) { s.b.send(s.n2); }},
        {"a probe missing somewhere", Violation::liveness_delivery,
         [](Story& s) { s.drop_delivery(s.n3b, s.pa); }},
        {"a node without another's config_version", Violation::cmap_sync,
         [](Story& s) { s.b.t.incarnations[s.n2].config_versions.erase(3); }},
        {"a node with a stale config_version", Violation::cmap_sync,
         [](Story& s) { s.b.t.incarnations[s.n3b].config_versions[1] = 7; }},
        {"the event budget", Violation::event_budget,
         [](Story& s) { s.b.t.budget_exhausted = true; }},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            Story s;
            c.plant(s);
            const auto r = check_trace(s.b.t);
            INFO(c.name << "\n" << explain(r));
            CHECK(!r.ok());
            CHECK(r.has(c.expected));
        }
    }
}

TEST_CASE("checker: safe delivery exempts a member that crashed in the configuration") {
    // nodes 1 and 2 in ring 1.4; node 1 delivers a safe message there
    auto build = [](bool crashed, bool moves_on) {
        TraceBuilder b{{1, 2}};
        const auto n1 = b.start(1), n2 = b.start(2);
        const RingId r4{1, 4};
        b.change(n1, r4, {1}, {}, {1, 2}, {2});
        b.change(n2, r4, {2}, {}, {1, 2}, {1});
        const MsgId m = b.send(n1, 0, true);
        b.deliver(n1, m);
        if (moves_on)  // node 2 goes on to a ring of its own without it
            b.change(n2, RingId{2, 8}, {2}, {1}, {2}, {});
        b.t.incarnations[n2].crashed = crashed;
        return check_trace(b.t);
    };
    const auto crashed = build(true, false);
    INFO(explain(crashed));
    CHECK(!crashed.has(Violation::safe_delivery));
    CHECK(crashed.checks[static_cast<std::size_t>(Violation::safe_delivery)] == 0);
    // still in the ring when the run ended: it may yet deliver
    CHECK(!build(false, false).has(Violation::safe_delivery));
    // cut off but alive: it had the message (it was safe) and must deliver it
    const auto cut = build(false, true);
    CHECK(cut.has(Violation::safe_delivery));
}

namespace {

// Nodes 1 and 2, round = token + consensus + 4 × join = 420 ms; the fault phase lasts until
// 3000 ms. Both form ring 1.4 at 10 ms and deliver a message sent in it at 50 ms.
struct Progress {
    TraceBuilder b{{1, 2}};
    std::size_t n1, n2;
    RingId r4{1, 4};
    MsgId m;
    Progress() {
        b.t.token_us = 100'000;
        b.t.consensus_us = 120'000;
        b.t.join_us = 50'000;
        b.t.liveness_phase = true;
        b.t.liveness_reached = true;
        b.t.heal_time_us = 3'000'000;
        b.t.topology.push_back(TopologyRecord{0, {0, 0}, {true, true}, {false, false}, false});
        n1 = b.start(1);
        n2 = b.start(2);
        b.conf(n1, false, r4, {1}, {}, {}, 10'000);
        b.conf(n1, true, r4, {1, 2}, {}, {2}, 10'000);
        b.conf(n2, false, r4, {2}, {}, {}, 10'000);
        b.conf(n2, true, r4, {1, 2}, {}, {1}, 10'000);
        b.t.incarnations[n1].operational = {{10'000, true}};
        b.t.incarnations[n2].operational = {{10'000, true}};
        m = b.send(n1);
        b.deliver(n1, m, 50'000);
        b.deliver(n2, m, 50'000);
    }
    void drop_deliveries() {
        for (auto inc : {n1, n2})
            std::erase_if(b.t.incarnations[inc].events,
                          [](const TraceEvent& e) { return e.kind == TraceEvent::Kind::deliver; });
    }
    void singletons() {  // each node alone in its own ring instead
        for (auto inc : {n1, n2}) {
            const NodeId id = b.t.incarnations[inc].node;
            for (auto& e : b.t.incarnations[inc].events) {
                if (e.kind == TraceEvent::Kind::confchg) {
                    e.confchg.ring_id = RingId{id, 4};
                    e.confchg.members = {id};
                    e.confchg.joined = {};
                }
            }
        }
        drop_deliveries();
    }
    bool fails() {
        const auto r = check_trace(b.t);
        INFO(explain(r));
        return r.has(Violation::partition_progress);
    }
};

}  // namespace

TEST_CASE("checker: progress inside partitions") {
    SECTION("a ring of the component that delivers passes") {
        Progress p;
        const auto r = check_trace(p.b.t);
        CHECK(!r.has(Violation::partition_progress));
        CHECK(r.checks[static_cast<std::size_t>(Violation::partition_progress)] >= 2);
    }
    SECTION("a ring that delivers nothing though every member is OPERATIONAL") {
        Progress p;
        p.drop_deliveries();
        CHECK(p.fails());
    }
    SECTION("nothing is asked of a ring whose members were not OPERATIONAL for a round") {
        Progress p;
        p.drop_deliveries();
        p.b.t.incarnations[p.n2].operational = {{10'000, true}, {300'000, false}};
        CHECK(!p.fails());
    }
    SECTION("with services, delivery is asked only of a ring that outlasted the sync bound") {
        // sync_base = 2 × token + consensus + 4 × join = 520 ms with votequorum.
        Progress p;
        p.drop_deliveries();
        p.b.t.votequorum = true;
        p.b.t.incarnations[p.n2].operational = {{10'000, true}, {500'000, false}};
        CHECK(!p.fails());
        p.b.t.incarnations[p.n2].operational = {{10'000, true}, {540'000, false}};
        CHECK(p.fails());
    }
    SECTION("nothing is asked of a ring that a reordering burst slowed") {
        Progress p;
        p.drop_deliveries();
        p.b.t.bursts.emplace_back(1'000'000, 1'020'000);
        CHECK(!p.fails());
    }
    SECTION("connected nodes that never form one ring") {
        Progress p;
        p.singletons();
        CHECK(p.fails());
    }
    SECTION("formation is not asked above 5 % loss") {
        Progress p;
        p.singletons();
        p.b.t.loss_pct = 6;
        CHECK(!p.fails());
    }
    SECTION("nothing is asked above 10 % loss") {
        Progress p;
        p.drop_deliveries();
        p.b.t.loss_pct = 11;
        CHECK(!p.fails());
    }
    SECTION("a partition nobody notices: each side must form its own ring") {
        Progress p;
        p.b.t.topology.push_back(
            TopologyRecord{1'000'000, {0, 1}, {true, true}, {false, false}, false});
        CHECK(p.fails());
        // and it passes once both sides do
        p.b.conf(p.n1, false, RingId{1, 8}, {1}, {2}, {}, 1'500'000);
        p.b.conf(p.n1, true, RingId{1, 8}, {1}, {}, {}, 1'500'000);
        p.b.conf(p.n2, false, RingId{2, 8}, {2}, {1}, {}, 1'500'000);
        p.b.conf(p.n2, true, RingId{2, 8}, {2}, {}, {}, 1'500'000);
        const MsgId a = p.b.send(p.n1), c = p.b.send(p.n2);
        p.b.deliver(p.n1, a, 1'600'000);
        p.b.deliver(p.n2, c, 1'600'000);
        CHECK(!p.fails());
    }
    SECTION("a stretch with a one-way link failure is not checked") {
        Progress p;
        p.singletons();
        p.b.t.topology[0].asymmetric = true;
        CHECK(!p.fails());
    }
}

// sync_progress on a two-node ring 1.4 installed at 100 ms (node 1) and 300 ms (node 2), both
// OPERATIONAL from then on, the network quiet: B = token + consensus + 4 × join = 1000 ms from
// the last installation (300 ms), so a node whose next change comes after 1300 ms must have
// completed the sync of 1.4 before it.
TEST_CASE("checker: sync_progress") {
    auto build = [](std::int64_t next_change_us) {
        TraceBuilder b{{1, 2}};
        b.t.token_us = 400'000;
        b.t.consensus_us = 480'000;
        b.t.join_us = 30'000;
        b.t.end_us = 5'000'000;
        TopologyRecord top;
        top.group = {0, 0};
        top.up = {true, true};
        top.paused = {false, false};
        b.t.topology.push_back(top);
        const RingId r4{1, 4}, r8{1, 8};
        for (NodeId n : {1u, 2u}) {
            const std::size_t i = b.start(n);
            const std::int64_t at = n == 1 ? 100'000 : 300'000;
            b.conf(i, false, r4, {n}, {}, {}, at);
            b.conf(i, true, r4, {1, 2}, {}, {n == 1 ? 2u : 1u}, at);
            b.t.incarnations[i].operational.push_back({at, true});
            if (next_change_us) {
                b.t.incarnations[i].operational.push_back({next_change_us - 50'000, false});
                b.conf(i, false, r8, {1, 2}, {}, {}, next_change_us);
                b.conf(i, true, r8, {1, 2}, {}, {}, next_change_us);
            }
        }
        return b;
    };
    SECTION("a ring that stays and synchronises passes") {
        auto b = build(0);
        for (auto& inc : b.t.incarnations)
            inc.syncs.push_back({900'000, RingId{1, 4}});
        const auto r = check_trace(b.t);
        INFO(explain(r));
        CHECK(!r.has(Violation::sync_progress));
        CHECK(r.checks[static_cast<std::size_t>(Violation::sync_progress)] >= 2);
    }
    SECTION("a ring that stays without a sync at node 2 is caught") {
        auto b = build(0);
        b.t.incarnations[0].syncs.push_back({900'000, RingId{1, 4}});
        const auto r = check_trace(b.t);
        INFO(explain(r));
        CHECK(r.has(Violation::sync_progress));
        CHECK(r.violations[static_cast<std::size_t>(Violation::sync_progress)] == 1);
    }
    SECTION("a sync of another ring does not count") {
        auto b = build(0);
        for (auto& inc : b.t.incarnations)
            inc.syncs.push_back({900'000, RingId{2, 4}});
        CHECK(check_trace(b.t).has(Violation::sync_progress));
    }
    SECTION("the bound runs from the last member's installation") {
        // the next change at 1250 ms: within 300 + 1000 ms, so nothing is asked of 1.4
        auto b = build(1'250'000);
        const auto r = check_trace(b.t);
        INFO(explain(r));
        CHECK(!r.has(Violation::sync_progress));
        // at 1400 ms it is asked, at both nodes (1.8 is not: neither is OPERATIONAL in it)
        auto late = build(1'400'000);
        CHECK(check_trace(late.t).violations[static_cast<std::size_t>(Violation::sync_progress)] ==
              2);
    }
    SECTION("votequorum adds a token to the bound") {
        // B = 2 × 400 + 480 + 120 = 1400 ms from 300 ms: a change at 1600 ms asks nothing,
        // one at 1800 ms asks the sync at both nodes
        auto b = build(1'600'000);
        b.t.votequorum = true;
        CHECK(check_trace(b.t).violations[static_cast<std::size_t>(Violation::sync_progress)] == 0);
        auto late = build(1'800'000);
        late.t.votequorum = true;
        CHECK(check_trace(late.t).violations[static_cast<std::size_t>(Violation::sync_progress)] ==
              2);
    }
    SECTION("a backlog delivered in the ring extends the bound") {
        // 400 KB submitted before 1.4 and delivered in it at each node: B grows by 800 ms
        auto b = build(1'400'000);
        const MsgId big{1, 0, 1};
        b.t.submitted[big] = submit_of(50'000, 400'000, 0, false);
        for (std::size_t i = 0; i < 2; ++i) {
            auto& ev = b.t.incarnations[i].events;
            TraceEvent d;
            d.kind = TraceEvent::Kind::deliver;
            d.time_us = 1'000'000;
            d.deliver = delivery_of(big, 1, true, false, RingId{1, 4});
            ev.insert(ev.begin() + 2, d);
        }
        const auto r = check_trace(b.t);
        INFO(explain(r));
        // without it 1.4 is asked (the section above); with it 1.4 + B reaches past 1.8
        CHECK(r.violations[static_cast<std::size_t>(Violation::sync_progress)] == 0);
    }
    SECTION("above 15 % loss the bound is 2 B, and above 20 % nothing is asked") {
        // the next change at 2000 ms, no sync: asked at 15 % (300 + 1000 ms), not at 16 %
        // (300 + 2000 ms); at 2400 ms asked at 16 % and 20 %, not at 21 %
        auto at15 = build(2'000'000);
        at15.t.loss_pct = 15;
        CHECK(check_trace(at15.t).has(Violation::sync_progress));
        auto at16 = build(2'000'000);
        at16.t.loss_pct = 16;
        CHECK(!check_trace(at16.t).has(Violation::sync_progress));
        for (std::uint32_t loss : {16u, 20u}) {
            auto late = build(2'400'000);
            late.t.loss_pct = loss;
            CHECK(check_trace(late.t)
                      .violations[static_cast<std::size_t>(Violation::sync_progress)] == 2);
        }
        auto at21 = build(2'400'000);
        at21.t.loss_pct = 21;
        CHECK(check_trace(at21.t).checks[static_cast<std::size_t>(Violation::sync_progress)] == 0);
    }
}
