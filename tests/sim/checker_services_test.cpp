// The CPG and quorum properties of the checker on hand-made traces: a good history passes, and
// each violation planted into it is caught (checker_services.cpp).
//
// The story: nodes 1, 2, 3 form ring 1.4 and activate its cpg sync; clients A (node 1), B (node
// 2) and C (node 3) join group "g"; A sends m1, B sends m2 (CPG_TYPE_SAFE); node 3 is cut off
// (rings 1.8 {1,2} and 3.8 {3}): each side's activation reports the other side's process left
// with NODEDOWN; A sends m3; B leaves; C finalizes.
#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include "tests/sim/checker.hpp"

using namespace totem;
using namespace totem::sim;

namespace {

std::string explain(const CheckResult& r) {
    std::string s;
    for (const auto& f : r.findings)
        s += std::string(to_string(f.kind)) + ": " + f.detail + "\n";
    return s;
}

struct CpgStory {
    Trace t;
    std::size_t n1 = 0, n2 = 0, n3 = 0;  // incarnations
    std::size_t a = 0, b = 0, c = 0;     // clients
    RingId r4{1, 4}, r8{1, 8}, r8c{3, 8};
    MsgId m1{1, 0, 1}, m2{2, 0, 1}, m3{1, 0, 2};
    std::map<std::size_t, RingId> ring;  // incarnation → its regular ring

    std::size_t pos(std::size_t inc) const { return t.incarnations[inc].events.size(); }
    void record(std::size_t inc, TraceEvent e) {
        t.incarnations[inc].events.push_back(std::move(e));
    }
    void conf(std::size_t inc, bool regular, RingId r, NodeList members, NodeList left,
              NodeList joined) {
        TraceEvent e;
        e.kind = TraceEvent::Kind::confchg;
        e.confchg =
            ConfChgRecord{regular, std::move(members), std::move(left), std::move(joined), r};
        record(inc, std::move(e));
        if (regular)
            ring[inc] = r;
    }
    void activate(std::size_t inc) {
        t.incarnations[inc].cpg_activations.emplace_back(pos(inc), ring[inc]);
    }
    void exec(std::size_t inc, std::uint16_t fn, NodeId sender, std::uint32_t pid,
              std::uint32_t reason) {
        TraceEvent e;
        e.kind = TraceEvent::Kind::cpg_exec;
        e.cpg = CpgExecRecord{fn, sender, "g", pid, reason};
        record(inc, std::move(e));
    }
    void mcast(std::size_t inc, const MsgId& id, std::uint32_t pid, bool safe) {
        TraceEvent e;
        e.kind = TraceEvent::Kind::deliver;
        e.deliver.id = id;
        e.deliver.sender = id.origin;
        e.deliver.safe = safe;
        e.deliver.sent_ring = r4;
        e.deliver.cpg = true;
        e.deliver.group = "g";
        e.deliver.pid = pid;
        record(inc, std::move(e));
    }
    CpgEvent& ev(std::size_t client, CpgEvent::Kind kind, bool activation = false) {
        auto& cl = t.cpg_clients[client];
        CpgEvent e;
        e.kind = kind;
        e.totem_pos = pos(cl.inc);
        e.activation = activation;
        e.group = "g";
        cl.events.push_back(std::move(e));
        return cl.events.back();
    }
    void confchg(std::size_t client, std::vector<CpgMember> members, std::vector<CpgMember> left,
                 std::vector<CpgMember> joined, bool activation = false) {
        auto& e = ev(client, CpgEvent::Kind::confchg, activation);
        e.members = std::move(members);
        e.left = std::move(left);
        e.joined = std::move(joined);
    }
    void deliver(std::size_t client, const MsgId& id, std::uint32_t pid) {
        auto& e = ev(client, CpgEvent::Kind::deliver);
        e.nodeid = id.origin;
        e.pid = pid;
        e.id = id;
    }
    void totem_confchg(std::size_t client) {
        auto& e = ev(client, CpgEvent::Kind::totem_confchg, true);
        const auto inc = t.cpg_clients[client].inc;
        e.ring = ring[inc];
        for (const auto& x : t.incarnations[inc].events)
            if (x.kind == TraceEvent::Kind::confchg && x.confchg.regular)
                e.ring_members = x.confchg.members;
    }
    void send(std::size_t client, const MsgId& id, std::uint32_t pid, bool safe) {
        SubmitRecord r;
        r.size = 100;
        r.safe = safe;
        r.cpg_client = static_cast<std::uint32_t>(client);
        r.cpg_pid = pid;
        r.cpg_group = "g";
        t.submitted[id] = r;
        t.incarnations[t.cpg_clients[client].inc].submitted++;
        auto& e = ev(client, CpgEvent::Kind::send);
        e.id = id;
        e.pid = pid;
    }

    static constexpr std::uint32_t pa = 101, pb = 201, pc = 301;
    CpgMember A{1, pa, 0}, B{2, pb, 0}, C{3, pc, 0};
    static CpgMember with(CpgMember m, std::uint32_t reason) {
        m.reason = reason;
        return m;
    }

    CpgStory() {
        t.nodes = {1, 2, 3};
        for (NodeId n : {1u, 2u, 3u}) {
            Incarnation i;
            i.node = n;
            t.incarnations.push_back(i);
        }
        n1 = 0, n2 = 1, n3 = 2;
        for (std::size_t n : {n1, n2, n3}) {
            const NodeId id = t.incarnations[n].node;
            conf(n, false, r4, {id}, {}, {});
            NodeList others;
            for (NodeId o : {1u, 2u, 3u})
                if (o != id)
                    others.push_back(o);
            conf(n, true, r4, {1, 2, 3}, {}, others);
            activate(n);
        }
        for (std::size_t n : {n1, n2, n3}) {
            CpgClient cl;
            cl.id = static_cast<std::uint32_t>(t.cpg_clients.size());
            cl.node = t.incarnations[n].node;
            cl.inc = n;
            t.cpg_clients.push_back(cl);
        }
        a = 0, b = 1, c = 2;
        const auto J = [](CpgMember m) { return with(m, cpg_reason::join); };
        // the joins, in the agreed order
        ev(a, CpgEvent::Kind::join).pid = pa;
        for (std::size_t n : {n1, n2, n3})
            exec(n, cpg_fn_procjoin, 1, pa, cpg_reason::join);
        confchg(a, {A}, {}, {J(A)});
        ev(b, CpgEvent::Kind::join).pid = pb;
        for (std::size_t n : {n1, n2, n3})
            exec(n, cpg_fn_procjoin, 2, pb, cpg_reason::join);
        confchg(a, {A, B}, {}, {J(B)});
        confchg(b, {A, B}, {}, {J(B)});
        ev(c, CpgEvent::Kind::join).pid = pc;
        for (std::size_t n : {n1, n2, n3})
            exec(n, cpg_fn_procjoin, 3, pc, cpg_reason::join);
        for (std::size_t k : {a, b, c})
            confchg(k, {A, B, C}, {}, {J(C)});
        // m1 from A, m2 (safe) from B, delivered everywhere
        send(a, m1, pa, false);
        for (std::size_t n : {n1, n2, n3})
            mcast(n, m1, pa, false);
        for (std::size_t k : {a, b, c})
            deliver(k, m1, pa);
        send(b, m2, pb, true);
        for (std::size_t n : {n1, n2, n3})
            mcast(n, m2, pb, true);
        for (std::size_t k : {a, b, c})
            deliver(k, m2, pb);
        // the cut: {1,2} and {3}
        for (std::size_t n : {n1, n2}) {
            conf(n, false, r8, {1, 2}, {3}, {});
            conf(n, true, r8, {1, 2}, {}, {});
            activate(n);
        }
        conf(n3, false, r8c, {3}, {1, 2}, {});
        conf(n3, true, r8c, {3}, {}, {});
        activate(n3);
        for (std::size_t k : {a, b}) {
            confchg(k, {A, B}, {with(C, cpg_reason::nodedown)}, {}, true);
            totem_confchg(k);
        }
        confchg(c, {C}, {with(A, cpg_reason::nodedown), with(B, cpg_reason::nodedown)}, {}, true);
        totem_confchg(c);
        // m3 from A in ring 1.8
        send(a, m3, pa, false);
        for (std::size_t n : {n1, n2}) {
            mcast(n, m3, pa, false);
            t.incarnations[n].events.back().deliver.sent_ring = r8;
        }
        for (std::size_t k : {a, b})
            deliver(k, m3, pa);
        // B leaves; C finalizes
        ev(b, CpgEvent::Kind::leave).pid = pb;
        for (std::size_t n : {n1, n2})
            exec(n, cpg_fn_procleave, 2, pb, cpg_reason::leave);
        for (std::size_t k : {a, b})
            confchg(k, {A}, {with(B, cpg_reason::leave)}, {});
        ev(c, CpgEvent::Kind::finalize);
        t.liveness_reached = true;
    }

    CpgEvent& client_event(std::size_t client, CpgEvent::Kind kind, std::size_t nth = 0) {
        for (auto& e : t.cpg_clients[client].events)
            if (e.kind == kind && nth-- == 0)
                return e;
        FAIL("no such event");
        throw 0;
    }
    void erase_event(std::size_t client, CpgEvent::Kind kind, std::size_t nth = 0) {
        auto& l = t.cpg_clients[client].events;
        for (auto it = l.begin(); it != l.end(); ++it)
            if (it->kind == kind && nth-- == 0) {
                l.erase(it);
                return;
            }
        FAIL("no such event");
    }
};

}  // namespace

TEST_CASE("checker, CPG: a correct history with joins, a cut, a leave and a finalize passes") {
    CpgStory s;
    const auto r = check_trace(s.t);
    INFO(explain(r));
    CHECK(r.ok());
    for (auto v : {Violation::cpg_delivery, Violation::cpg_safe, Violation::cpg_self_delivery,
                   Violation::cpg_config, Violation::cpg_virtual_synchrony, Violation::cpg_reasons})
        CHECK(r.checks[static_cast<std::size_t>(v)] > 0);
}

TEST_CASE("checker, CPG: a process of a node that left and came back rejoins with NODEUP") {
    // Node 3 is back in ring 1.12 before nodes 1 and 2 had synchronised without it: its old
    // process goes with NODEDOWN (node 3 is in their downlist), its joinlist brings it back.
    CpgStory s;
    const RingId r12{1, 12};
    for (std::size_t n : {s.n1, s.n2}) {
        s.conf(n, false, r12, {1, 2}, {}, {});
        s.conf(n, true, r12, {1, 2, 3}, {}, {3});
    }
    // Only nodes 1 and 2 activate (node 3 is not part of this history beyond its crash).
    s.t.incarnations[s.n3].crashed = true;
    for (std::size_t n : {s.n1, s.n2})
        s.activate(n);
    s.confchg(s.a, {s.A, s.C}, {}, {CpgStory::with(s.C, cpg_reason::nodeup)}, true);
    s.totem_confchg(s.a);
    const auto r = check_trace(s.t);
    INFO(explain(r));
    CHECK(r.ok());
}

TEST_CASE("checker, CPG: every violation kind is caught") {
    struct Case {
        const char* name;
        Violation expected;
        std::function<void(CpgStory&)> plant;
    };
    using K = CpgEvent::Kind;
    const std::vector<Case> cases = {
        {"a delivery of a message no client sent", Violation::cpg_delivery,
         [](CpgStory& s) {
             s.client_event(s.b, K::deliver).id = MsgId{1, 0, 9};
         }},
        {"a delivery naming another sender pid", Violation::cpg_delivery,
         [](CpgStory& s) { s.client_event(s.b, K::deliver).pid = 7; }},
        {"a delivery its node had not delivered just before", Violation::cpg_delivery,
         [](CpgStory& s) { s.client_event(s.c, K::deliver, 1).totem_pos--; }},
        {"a delivery twice", Violation::cpg_delivery,
         [](CpgStory& s) { s.deliver(s.a, s.m3, CpgStory::pa); }},
        {"a safe message delivered at an agreed delivery", Violation::cpg_safe,
         [](CpgStory& s) {
             for (auto& e : s.t.incarnations[s.n3].events)
                 if (e.kind == TraceEvent::Kind::deliver && e.deliver.id == s.m2)
                     e.deliver.safe = false;
         }},
        {"a sender missing its own message before its own leave", Violation::cpg_self_delivery,
         [](CpgStory& s) { s.erase_event(s.b, K::deliver, 1); }},
        {"a CONFCHG before the client's own join", Violation::cpg_config,
         [](CpgStory& s) {
             auto& l = s.t.cpg_clients[s.c].events;
             CpgEvent e = l[2];  // a DELIVER
             l.insert(l.begin() + 1, e);
         }},
        {"two members with different lists at one name", Violation::cpg_config,
         [](CpgStory& s) {
             auto& e = s.client_event(s.c, K::confchg);  // C's own join
             e.members = {s.A, s.C};
         }},
        {"members after the activation that differ", Violation::cpg_config,
         [](CpgStory& s) { s.erase_event(s.b, K::confchg, 2); }},
        {"a TOTEM_CONFCHG naming another ring", Violation::cpg_config,
         [](CpgStory& s) { s.client_event(s.a, K::totem_confchg).ring = s.r4; }},
        {"a member missing an event its group had", Violation::cpg_virtual_synchrony,
         [](CpgStory& s) { s.erase_event(s.b, K::deliver, 0); }},
        {"a departed node's process reported PROCDOWN at the activation", Violation::cpg_reasons,
         [](CpgStory& s) {
             s.client_event(s.a, K::confchg, 3).left[0].reason = cpg_reason::procdown;
         }},
        {"a departed node's process kept at the activation", Violation::cpg_reasons,
         [](CpgStory& s) {
             auto& e = s.client_event(s.c, K::confchg, 1);
             e.members = {s.B, s.C};
             e.left = {CpgStory::with(s.A, cpg_reason::nodedown)};
         }},
        {"a LEAVE for a process that never asked to leave", Violation::cpg_reasons,
         [](CpgStory& s) { s.erase_event(s.b, K::leave); }},
        {"a CONFCHG that follows no PROCJOIN or PROCLEAVE", Violation::cpg_reasons,
         [](CpgStory& s) { s.client_event(s.c, K::confchg).totem_pos++; }},
    };
    for (const auto& c : cases) {
        CpgStory s;
        c.plant(s);
        const auto r = check_trace(s.t);
        INFO(c.name << "\n" << explain(r));
        CHECK(r.has(c.expected));
    }
}

TEST_CASE("checker, quorum: agreement after a sync, and the exemptions") {
    Trace t;
    t.nodes = {1, 2, 3};
    t.votequorum = true;
    for (NodeId n : {1u, 2u, 3u}) {
        Incarnation i;
        i.node = n;
        t.incarnations.push_back(i);
    }
    const RingId r{1, 4};
    for (auto& i : t.incarnations)
        i.quorum.push_back(QuorumRecord{0, r, true, 3, 3, 2, false, 3});
    CHECK(check_trace(t).ok());
    CHECK(check_trace(t).checks[static_cast<std::size_t>(Violation::quorum_agreement)] >= 5);

    Trace twice = t;  // a node counting its own vote twice
    twice.incarnations[1].quorum[0].total_votes = 4;
    CHECK(check_trace(twice).has(Violation::quorum_agreement));

    Trace expected = t;  // expected votes not taken from the highest NODEINFO
    expected.incarnations[2].quorum[0].expected_votes = 2;
    CHECK(check_trace(expected).has(Violation::quorum_agreement));

    Trace quorate = t;
    quorate.incarnations[0].quorum[0].quorate = false;
    CHECK(check_trace(quorate).has(Violation::quorum_agreement));

    // last_man_standing: each node's window lowers its own expected votes; only the total
    // votes are compared.
    Trace lms = expected;
    lms.vq_last_man_standing = true;
    CHECK(check_trace(lms).ok());
    Trace lms_twice = twice;
    lms_twice.vq_last_man_standing = true;
    CHECK(check_trace(lms_twice).has(Violation::quorum_agreement));
    Trace low = quorate;
    low.vq_expected_votes = 2;
    CHECK(check_trace(low).ok());

    // wait_for_all (corosync's guarantee): in a ring of two of the three nodes, a restarted
    // node still waiting for all is inquorate while the other member is quorate.
    Trace wfa;
    wfa.nodes = {1, 2, 3};
    wfa.votequorum = true;
    const RingId r2{1, 8};
    for (NodeId n : {1u, 2u}) {
        Incarnation i;
        i.node = n;
        i.quorum.push_back(QuorumRecord{0, r2, n == 2, 2, 3, 2, n == 1, 2});
        wfa.incarnations.push_back(i);
    }
    CHECK(check_trace(wfa).ok());
    Trace wfa_flip = wfa;  // the order of the records does not matter
    std::swap(wfa_flip.incarnations[0], wfa_flip.incarnations[1]);
    CHECK(check_trace(wfa_flip).ok());
    Trace wfa_quorate = wfa;  // waiting for all, yet quorate
    wfa_quorate.incarnations[0].quorum[0].quorate = true;
    CHECK(check_trace(wfa_quorate).has(Violation::quorum_agreement));
    Trace wfa_all = t;  // waiting for all with every expected vote present
    wfa_all.incarnations[0].quorum[0].wait_for_all_status = true;
    wfa_all.incarnations[0].quorum[0].quorate = false;
    CHECK(check_trace(wfa_all).has(Violation::quorum_agreement));
    Trace wfa_expected = wfa;  // waiting does not excuse different expected votes
    wfa_expected.incarnations[0].quorum[0].expected_votes = 4;
    CHECK(check_trace(wfa_expected).has(Violation::quorum_agreement));
    Trace wfa_lms = wfa_all;  // last_man_standing moves expected votes per node
    wfa_lms.vq_last_man_standing = true;
    CHECK(check_trace(wfa_lms).ok());
    Trace wfa_lms_quorate = wfa_quorate;  // but waiting for all is never quorate
    wfa_lms_quorate.vq_last_man_standing = true;
    CHECK(check_trace(wfa_lms_quorate).has(Violation::quorum_agreement));
    Trace both = wfa;  // two members not waiting must still agree
    both.incarnations[0].quorum[0].wait_for_all_status = false;
    CHECK(check_trace(both).has(Violation::quorum_agreement));
}
