// votequorum on the node core (spec A3.4, B2.2, B3.6): votes, expected votes, the quorum rule
// and its options across partitions, heals, kills and leaves — each scenario a script, the
// expectations what corosync 3.1.7 shows for the same script (tests/it/test_quorum.py runs the
// same scripts on both daemons).
#include <catch2/catch.hpp>

#include "services/votequorum.hpp"
#include "tests/unit/quorum/quorum_ring.hpp"

using namespace totem;
using namespace totem::test;

namespace {

constexpr std::uint32_t Q = pv::info_quorate;
constexpr std::uint32_t WFA = pv::info_wait_for_all;
constexpr std::uint32_t TWO = pv::info_twonode;
constexpr std::uint32_t LMS = pv::info_last_man_standing;
constexpr std::uint32_t ATB = pv::info_auto_tie_breaker;
constexpr std::uint32_t ADS = pv::info_allow_downscale;

NodeList ids(int n) {
    NodeList l;
    for (int i = 1; i <= n; ++i)
        l.push_back(static_cast<NodeId>(i));
    return l;
}

// Drops traffic between the groups (nodes in no group talk to nobody).
void partition(CoreRing& r, std::vector<NodeList> groups) {
    r.set_rule([groups](NodeId from, NodeId to) {
        for (const auto& g : groups) {
            const bool a = std::find(g.begin(), g.end(), from) != g.end();
            const bool b = std::find(g.begin(), g.end(), to) != g.end();
            if (a || b)
                return !(a && b);
        }
        return true;
    });
}

bool exited(CoreRing& r, NodeId n) {
    const auto& a = r.log(n).actions;
    return std::any_of(a.begin(), a.end(), [](const services::Action& x) {
        return std::holds_alternative<services::ExitAction>(x);
    });
}

// An orderly stop (SIGTERM): leave, run until the exit is asked for, then the process is gone.
void stop(CoreRing& r, NodeId n) {
    r.input(n, [&](core::NodeCore& c) { c.leave(r.now(), "Node was shut down by a signal"); });
    r.run_for(Duration::ms(3000), [&] { return exited(r, n); });
    REQUIRE(exited(r, n));
    r.run_for(Duration::ms(20));
    r.crash(n);
}

}  // namespace

TEST_CASE("votequorum: three nodes, one vote each; kills down to one node") {
    CoreRing r(3, vq_config(3));
    r.start_all();
    REQUIRE(r.run_until_synced(ids(3)));
    Clients c(r, ids(3));
    for (NodeId n : ids(3)) {
        INFO("node " << n);
        CHECK(view(c[n]) == VqView{3, 3, 3, 2, Q, true});
        CHECK(r.node(n).quorate());
        CHECK(r.log(n).count("This node is within the primary component and will provide "
                             "service.") == 1);
        CHECK(r.log(n).count("Members[3]: 1 2 3") >= 1);
        const auto& k = r.node(n).keys_view();
        CHECK(k.get_u32("runtime.votequorum.this_node_id") == std::optional<std::uint32_t>(n));
        CHECK(k.get_u32("runtime.votequorum.lowest_node_id") == std::optional<std::uint32_t>(1));
        CHECK(k.get_u32("runtime.votequorum.highest_node_id") == std::optional<std::uint32_t>(3));
        CHECK(k.get_u32("runtime.votequorum.ev_barrier") == std::optional<std::uint32_t>(3));
        CHECK(k.get_u8("runtime.votequorum.two_node") == std::optional<std::uint8_t>(0));
        CHECK_FALSE(k.contains("runtime.votequorum.wait_for_all_status"));
        // votequorum's read-only keys (votequorum_set_icmap_ro_keys)
        CHECK(k.is_read_only("quorum.wait_for_all"));
        CHECK(k.is_read_only("quorum.auto_tie_breaker_node"));
        CHECK_FALSE(k.is_read_only("quorum.expected_votes"));
    }
    r.crash(3);
    c.drop(3);
    REQUIRE(r.run_until_synced({1, 2}));
    for (NodeId n : {1u, 2u}) {
        CHECK(view(c[n]) == VqView{3, 3, 2, 2, Q, true});
        const auto dead = getinfo(c[n], 3);
        CHECK(dead.error == CsError::ok);
        CHECK(dead.state == pv::nodestate_dead);
        CHECK(dead.votes == 1);
    }
    r.crash(2);
    c.drop(2);
    REQUIRE(r.run_until_synced({1}));
    CHECK(view(c[1]) == VqView{3, 3, 1, 2, 0, false});
    CHECK_FALSE(r.node(1).quorate());
    CHECK(r.log(1).count("This node is within the non-primary component and will NOT provide "
                         "any services.") == 1);
    CHECK(r.log(1).count("Members[1]: 1") >= 1);
    CHECK(getinfo(c[1], 9).error == CsError::err_not_exist);
}

TEST_CASE("votequorum: per-node votes from the nodelist; expected votes is their sum") {
    CoreRing r(3, vq_config(3, "", {{1, 3}, {2, 1}, {3, 1}}));
    r.start_all();
    REQUIRE(r.run_until_synced(ids(3)));
    Clients c(r, ids(3));
    CHECK(view(c[2]) == VqView{5, 5, 5, 3, Q, true});
    CHECK(getinfo(c[2], 1).votes == 3);
    // node 1 alone holds quorum (3 of 5); nodes 2 and 3 together do not
    partition(r, {{1}, {2, 3}});
    REQUIRE(r.run_until_synced({1}));
    REQUIRE(r.run_until_synced({2, 3}));
    CHECK(view(c[1]) == VqView{5, 5, 3, 3, Q, true});
    CHECK(view(c[2]) == VqView{5, 5, 2, 3, 0, false});
    r.set_rule({});
    REQUIRE(r.run_until_synced(ids(3)));
    for (NodeId n : ids(3))
        CHECK(view(c[n]) == VqView{5, 5, 5, 3, Q, true});
}

TEST_CASE("votequorum: quorum.expected_votes overrides the nodelist; highest seen wins") {
    // expected 2 on a 3-node cluster: the first two nodes are quorate, and once all three
    // count, expected votes rise to the total (recalculate_quorum keeps it at the highest)
    CoreRing r(3, vq_config(3, "expected_votes: 2\n"));
    r.start_all();
    REQUIRE(r.run_until_synced(ids(3)));
    Clients c(r, ids(3));
    for (NodeId n : ids(3))
        CHECK(view(c[n]) == VqView{3, 3, 3, 2, Q, true});
}

TEST_CASE("votequorum: a partition that leaves a minority; the heal restores quorum") {
    CoreRing r(5, vq_config(5));
    r.start_all();
    REQUIRE(r.run_until_synced(ids(5)));
    Clients c(r, ids(5));
    partition(r, {{1, 2, 3}, {4, 5}});
    REQUIRE(r.run_until_synced({1, 2, 3}));
    REQUIRE(r.run_until_synced({4, 5}));
    for (NodeId n : {1u, 2u, 3u})
        CHECK(view(c[n]) == VqView{5, 5, 3, 3, Q, true});
    for (NodeId n : {4u, 5u}) {
        CHECK(view(c[n]) == VqView{5, 5, 2, 3, 0, false});
        CHECK(r.log(n).count("This node is within the non-primary component") == 1);
    }
    r.set_rule({});
    REQUIRE(r.run_until_synced(ids(5)));
    for (NodeId n : ids(5))
        CHECK(view(c[n]) == VqView{5, 5, 5, 3, Q, true});
    for (NodeId n : {4u, 5u})
        CHECK(r.log(n).count("This node is within the primary component") == 2);
}

TEST_CASE("votequorum: two_node implies wait_for_all; one node alone waits, then survives a kill") {
    CoreRing r(2, vq_config(2, "two_node: 1\n"));
    // node 1 starts alone: it waits for all
    partition(r, {{1}, {2}});
    r.start_all();
    REQUIRE(r.run_until_synced({1}));
    Clients c(r, {1, 2});
    CHECK(view(c[1]) == VqView{2, 2, 1, 1, TWO | WFA, false});
    CHECK(r.log(1).count("Waiting for all cluster members. Current votes: 1 expected_votes: 2") >=
          1);
    CHECK(r.node(1).keys_view().get_u8("runtime.votequorum.wait_for_all_status") ==
          std::optional<std::uint8_t>(1));
    // both
    r.set_rule({});
    REQUIRE(r.run_until_synced({1, 2}));
    for (NodeId n : {1u, 2u})
        CHECK(view(c[n]) == VqView{2, 2, 2, 1, TWO | WFA | Q, true});
    CHECK(r.node(1).keys_view().get_u8("runtime.votequorum.wait_for_all_status") ==
          std::optional<std::uint8_t>(0));
    // one killed: the other keeps quorum (quorum 1 with two_node)
    r.crash(2);
    c.drop(2);
    REQUIRE(r.run_until_synced({1}));
    CHECK(view(c[1]) == VqView{2, 2, 1, 1, TWO | WFA | Q, true});
}

TEST_CASE("votequorum: wait_for_all on three nodes; quorum.cancel_wait_for_all lifts it") {
    CoreRing r(3, vq_config(3, "wait_for_all: 1\n"));
    partition(r, {{1, 2}, {3}});
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2}));
    Clients c(r, {1, 2});
    // 2 of 3 votes would be a majority, but not every node was seen yet
    CHECK(view(c[1]) == VqView{3, 3, 2, 2, WFA, false});
    // an administrator cancels the wait on node 2 (corosync-cmapctl -s quorum.cancel_wait_for_all
    // u8 1): RECONFIGURE(CANCEL_WFA) reaches both
    REQUIRE(cmap_set(r, 2, "quorum.cancel_wait_for_all", 2, Bytes{1}) == CsError::ok);
    r.run_for(Duration::ms(500));
    CHECK(view(c[1]) == VqView{3, 3, 2, 2, WFA | Q, true});
    CHECK(view(c[2]) == VqView{3, 3, 2, 2, WFA | Q, true});
    CHECK(r.log(1).count("wait_for_all_status reset by user on node 2.") == 1);
    CHECK(r.node(2).keys_view().get_u8("quorum.cancel_wait_for_all") ==
          std::optional<std::uint8_t>(0));
}

TEST_CASE("votequorum: last_man_standing recounts expected votes after the window") {
    CoreRing r(4, vq_config(4, "last_man_standing: 1\nlast_man_standing_window: 2000\n"));
    r.start_all();
    REQUIRE(r.run_until_synced(ids(4)));
    Clients c(r, ids(4));
    CHECK(view(c[1]) == VqView{4, 4, 4, 3, LMS | Q, true});
    r.crash(4);
    c.drop(4);
    REQUIRE(r.run_until_synced({1, 2, 3}));
    CHECK(view(c[1]) == VqView{4, 4, 3, 3, LMS | Q, true});  // within the window
    r.run_for(Duration::ms(2500));
    CHECK(view(c[1]) == VqView{3, 3, 3, 2, LMS | Q, true});  // recounted
    r.crash(3);
    c.drop(3);
    REQUIRE(r.run_until_synced({1, 2}));
    CHECK(view(c[1]) == VqView{3, 3, 2, 2, LMS | Q, true});
    r.run_for(Duration::ms(2500));
    CHECK(view(c[1]) == VqView{2, 2, 2, 2, LMS | Q, true});
    CHECK(view(c[2]) == VqView{2, 2, 2, 2, LMS | Q, true});
    // the last but one: no recount below two without auto_tie_breaker
    r.crash(2);
    c.drop(2);
    REQUIRE(r.run_until_synced({1}));
    r.run_for(Duration::ms(2500));
    CHECK(view(c[1]) == VqView{2, 2, 1, 2, LMS, false});
}

TEST_CASE("votequorum: last_man_standing is disabled when a node has more than one vote") {
    CoreRing r(3, vq_config(3, "last_man_standing: 1\n", {{2, 2}}));
    r.start_all();
    REQUIRE(r.run_until_synced(ids(3)));
    Clients c(r, {1});
    CHECK((view(c[1]).flags & LMS) == 0);
    CHECK(r.log(1).count("Last Man Standing feature is supported only when all") >= 1);
}

TEST_CASE("votequorum: auto_tie_breaker across a 2|2 partition and its heal") {
    struct Case {
        const char* atb_node;
        NodeList winners, losers;
    };
    for (const Case& k : {Case{"lowest", {1, 2}, {3, 4}}, Case{"highest", {3, 4}, {1, 2}},
                          Case{"3 1", {3, 4}, {1, 2}}, Case{"", {1, 2}, {3, 4}}}) {
        const std::string atb =
            std::string("auto_tie_breaker: 1\n") +
            (*k.atb_node ? "auto_tie_breaker_node: " + std::string(k.atb_node) + "\n" : "");
        INFO("auto_tie_breaker_node: " << k.atb_node);
        CoreRing r(4, vq_config(4, atb));
        r.start_all();
        REQUIRE(r.run_until_synced(ids(4)));
        Clients c(r, ids(4));
        CHECK(view(c[1]) == VqView{4, 4, 4, 3, ATB | Q, true});
        partition(r, {{1, 2}, {3, 4}});
        REQUIRE(r.run_until_synced({1, 2}));
        REQUIRE(r.run_until_synced({3, 4}));
        for (NodeId n : k.winners)
            CHECK(view(c[n]) == VqView{4, 4, 2, 3, ATB | Q, true});
        for (NodeId n : k.losers)
            CHECK(view(c[n]) == VqView{4, 4, 2, 3, ATB, false});
        r.set_rule({});
        REQUIRE(r.run_until_synced(ids(4)));
        for (NodeId n : ids(4))
            CHECK(view(c[n]) == VqView{4, 4, 4, 3, ATB | Q, true});
    }
}

TEST_CASE("votequorum: auto_tie_breaker on an odd cluster without wait_for_all is disabled") {
    CoreRing r(3, vq_config(3, "auto_tie_breaker: 1\n"));
    r.start_all();
    REQUIRE(r.run_until_synced(ids(3)));
    Clients c(r, {1});
    CHECK((view(c[1]).flags & ATB) == 0);
    CHECK(r.log(1).count("Therefore auto_tie_breaker has been disabled") == 1);
    CHECK(r.node(1).keys_view().get_u32("runtime.votequorum.atb_type") ==
          std::optional<std::uint32_t>(0));
}

TEST_CASE("votequorum: allow_downscale: a node that leaves is counted out, down to ev_barrier") {
    CoreRing r(3, vq_config(3, "allow_downscale: 1\n"));
    r.start_all();
    REQUIRE(r.run_until_synced(ids(3)));
    Clients c(r, ids(3));
    CHECK(view(c[1]) == VqView{3, 3, 3, 2, ADS | Q, true});
    // expected_votes_tracking comes with it: the barrier is stored
    const auto& acts = r.log(1).actions;
    CHECK(std::any_of(acts.begin(), acts.end(), [](const services::Action& a) {
        return std::holds_alternative<services::PersistEvTrackingAction>(a) &&
               std::get<services::PersistEvTrackingAction>(a).barrier == 3;
    }));
    c.drop(3);
    stop(r, 3);
    CHECK(r.log(3).count("Unloading all Corosync service engines.") == 1);
    CHECK(r.log(3).count("Service engine unloaded: corosync vote quorum service v1.0") == 1);
    REQUIRE(r.run_until_synced({1, 2}));
    CHECK(view(c[1]) == VqView{2, 2, 2, 2, ADS | Q, true});
    CHECK(getinfo(c[1], 3).state == pv::nodestate_dead);
    c.drop(2);
    stop(r, 2);
    REQUIRE(r.run_until_synced({1}));
    CHECK(view(c[1]) == VqView{1, 1, 1, 2, ADS, false});
}

TEST_CASE("votequorum: a kill is not a leave under allow_downscale") {
    CoreRing r(3, vq_config(3, "allow_downscale: 1\n"));
    r.start_all();
    REQUIRE(r.run_until_synced(ids(3)));
    Clients c(r, {1});
    r.crash(3);
    REQUIRE(r.run_until_synced({1, 2}));
    CHECK(view(c[1]) == VqView{3, 3, 2, 2, ADS | Q, true});
}

TEST_CASE("votequorum: expected votes and votes changed at run time (-e, -v -n)") {
    CoreRing r(3, vq_config(3));
    r.start_all();
    REQUIRE(r.run_until_synced(ids(3)));
    Clients c(r, ids(3));
    // -e 2 is below the total: refused
    CHECK(status_of(c[1].call(pv::encode(pv::ReqSetExpected{2}))) == CsError::err_invalid_param);
    // -e 5: raises quorum to 3, which the 3 votes still meet
    CHECK(status_of(c[1].call(pv::encode(pv::ReqSetExpected{5}))) == CsError::ok);
    r.run_for(Duration::ms(300));
    for (NodeId n : ids(3))
        CHECK(view(c[n]) == VqView{5, 5, 3, 3, Q, true});
    // -e 7 would leave the quorate cluster inquorate (quorum 4 > 3 votes): refused
    CHECK(status_of(c[2].call(pv::encode(pv::ReqSetExpected{7}))) == CsError::err_invalid_param);
    // -e 3 brings it back
    CHECK(status_of(c[2].call(pv::encode(pv::ReqSetExpected{3}))) == CsError::ok);
    r.run_for(Duration::ms(300));
    for (NodeId n : ids(3))
        CHECK(view(c[n]) == VqView{3, 3, 3, 2, Q, true});
    CHECK(r.node(3).keys_view().get_u32("runtime.votequorum.ev_barrier") ==
          std::optional<std::uint32_t>(3));
    // -v 3 -n 2: node 2 gets 3 votes, everybody sees it; expected rises to the total
    CHECK(status_of(c[1].call(pv::encode(pv::ReqSetVotes{3, 2}))) == CsError::ok);
    r.run_for(Duration::ms(300));
    for (NodeId n : ids(3)) {
        CHECK(getinfo(c[n], 2).votes == 3);
        CHECK(view(c[n]) == VqView{5, 5, 5, 3, Q, true});
    }
    // unknown node; a vote count that breaks the rule (quorum above the total)
    CHECK(status_of(c[1].call(pv::encode(pv::ReqSetVotes{1, 9}))) == CsError::err_name_not_found);
    CHECK(status_of(c[1].call(pv::encode(pv::ReqSetVotes{0, 2}))) == CsError::err_invalid_param);
    CHECK(getinfo(c[1], 2).votes == 3);  // restored
}

TEST_CASE("votequorum: quorum.expected_votes set at run time (cmapctl) reconfigures the ring") {
    CoreRing r(3, vq_config(3));
    r.start_all();
    REQUIRE(r.run_until_synced(ids(3)));
    Clients c(r, ids(3));
    REQUIRE(cmap_set(r, 1, "quorum.expected_votes", 6, le32(4)) == CsError::ok);
    r.run_for(Duration::ms(300));
    for (NodeId n : ids(3))
        CHECK(view(c[n]) == VqView{4, 4, 3, 3, Q, true});
}
