// The EVS checker on hand-made traces: a good history passes, and each kind of violation,
// planted into it, is caught (a checker that cannot fail is a defect).
#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include "tests/sim/checker.hpp"

using namespace totem;
using namespace totem::sim;

namespace {

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
    MsgId send(std::size_t inc, std::uint32_t flags = 0) {
        auto& i = t.incarnations[inc];
        MsgId id{i.node, i.incarnation, static_cast<std::uint32_t>(++i.submitted)};
        t.submitted[id] = SubmitRecord{0, 100, flags};
        return id;
    }
    void conf(std::size_t inc, bool regular, RingId ring, NodeList members, NodeList left,
              NodeList joined) {
        TraceEvent e;
        e.kind = TraceEvent::Kind::confchg;
        e.confchg =
            ConfChgRecord{regular, std::move(members), std::move(left), std::move(joined), ring};
        t.incarnations[inc].events.push_back(std::move(e));
    }
    // A transitional + regular pair.
    void change(std::size_t inc, RingId ring, NodeList trans, NodeList left, NodeList regular,
                NodeList joined) {
        conf(inc, false, ring, std::move(trans), std::move(left), {});
        conf(inc, true, ring, std::move(regular), {}, std::move(joined));
    }
    void deliver(std::size_t inc, const MsgId& id) {
        TraceEvent e;
        e.kind = TraceEvent::Kind::deliver;
        e.deliver = DeliverRecord{id, id.origin, true};
        t.incarnations[inc].events.push_back(std::move(e));
    }
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
        b1 = b.send(n2);
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
             e.deliver = DeliverRecord{s.c1, 3, true};
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
                 TraceEvent{TraceEvent::Kind::deliver, 0, {}, DeliverRecord{s.a1, 1, true}});
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
        {"no liveness", Violation::liveness_ring, [](Story& s) { s.b.t.liveness_reached = false; }},
        {"a survivor outside the final ring", Violation::liveness_ring,
         [](Story& s) {
             s.b.change(s.n3b, RingId{3, 16}, {3}, {1, 2}, {3}, {});
         }},
        {"a survivor's message never delivered", Violation::liveness_delivery,
         [](Story& s) { s.b.send(s.n2); }},
        {"a probe missing somewhere", Violation::liveness_delivery,
         [](Story& s) { s.drop_delivery(s.n3b, s.pa); }},
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
