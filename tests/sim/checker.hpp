// The Extended Virtual Synchrony checker (shared/DESIGN.md rule 3): a pure function of a Trace.
//
// What it asserts, and why each holds in Totem (shared/spec/totem-wire.md §5.7, §5.13):
//
//  Safety — every run, whatever the faults:
//   delivered_unsent   every delivery is an intact payload of a message that mcast() accepted,
//                      with the stack's sender == the payload's origin and groups == {"a"}.
//   duplicate          no node id delivers a message twice (not even across a restart: a
//                      restarted node never re-delivers its old ring's messages, §5.7 step 2).
//   outside_config     nothing is delivered before the incarnation's first configuration.
//   self_delivery      a sender delivers its own messages in submission order, without gaps:
//                      its own messages are always in its own sort queue, so §5.7 step 3/7
//                      delivers them (it is in its own transitional list).
//   fifo               at every node the messages of one origin come in counter order.
//   total_order        one global order explains every node's sequence of deliveries and
//                      regular configurations (cycle check over consecutive pairs).
//   config_deliveries  within one regular configuration (ring id) every member's deliveries are
//                      a prefix of the same sequence (regular delivery stops at the first gap);
//                      within one transitional configuration — key (new ring, previous ring,
//                      members) — every member delivers the same sequence; a message is only
//                      delivered in a configuration that contains its origin (a transitional
//                      one: or its previous regular one — a departed member's message that
//                      waited for safe delivery, §5.13 and docs/protocol/deviations.md).
//   moved_together     members that go from regular ring R to the same transitional
//                      configuration delivered the same set in R (recovery gives them the
//                      union of what any of them had, §5.6–5.7 step 3).
//   ring_membership    a ring id always comes with the same member list, containing the node.
//   confchg_sequence   configurations come as (transitional, regular) pairs with the same ring
//                      id; a transitional one's joined list is empty and left = previous
//                      regular − transitional; a regular one's left is empty and joined =
//                      regular − transitional; ring seqs strictly increase per node id, across
//                      restarts too (the persisted ring seq).
//   trans_subset       transitional ⊆ previous regular (or ⊆ {self} at start-up) and ⊆ the
//                      regular configuration that follows.
//   trans_exact        EVS: the transitional configuration before regular C' is exactly the
//                      members of C' that come from the same regular configuration, and all of
//                      them report the same list — for every member that installed C' (one that
//                      crashed or failed recovery first leaves no trace of its origin); Totem
//                      builds it from the commit token's per-member old ring ids (§5.6).
//   sending_config     EVS: a message is delivered in the configuration it was sent in or in the
//                      transitional configuration after it — the delivery's sending ring (that
//                      of the MCAST completing it) is the regular configuration's ring, or the
//                      transitional one's previous ring; every node reports the same one.
//   guarantee          a message mcast() was asked to deliver safe is delivered with the safe
//                      guarantee everywhere (a totempg packet carries the strongest guarantee
//                      of what it packs).
//   safe_delivery      EVS: a message delivered safe in regular configuration C reached every
//                      member of C, and each member delivers it in C or in the transitional
//                      configuration after C unless it fails. Failing is crashing: a member cut
//                      off by a partition had it all the same and must deliver it. Exempt: a
//                      member that never installed C, one that crashed in C, one still in C when
//                      the run ended. Totem: delivered safe in C only once two tokens' aru show
//                      every member has it, or at the change if a member of the transitional
//                      configuration delivered it in C; what still waits goes to the
//                      transitional configuration.
//
//  Liveness — when the run had a liveness phase (faults stopped, every node up and connected):
//   liveness_ring      every node ends in one regular ring of all nodes, reached within the
//                      bound the simulator derived from the timeouts.
//   liveness_delivery  every message submitted by a surviving incarnation (never crashed) was
//                      delivered at its sender — corosync keeps the submit queue across
//                      configuration changes, so a message accepted by mcast() at a node that
//                      stays up is never dropped, only delivered later, in whatever
//                      configuration that node is in when it is sent; all survivors delivered
//                      the same sequence in the final ring, including every node's last probe
//                      (submitted once the final ring formed).
//   partition_progress inside the fault phase, for every stretch with an unchanged topology
//                      (no one-way link failure, no deaf node) and each component (running,
//                      unpaused nodes of one partition group), round = token + consensus +
//                      4 × join: at up to 10 % loss, when all members are OPERATIONAL in one
//                      ring of exactly the component for a round, each delivers a message sent
//                      in it; at up to 5 % loss, a stretch of 3 rounds sees such a ring formed
//                      within them (bounds measured: docs/sim.md).
//
//  Bounds: event_budget — the run hit the simulator's event cap (a packet storm or a livelock).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/sim/trace.hpp"

namespace totem::sim {

enum class Violation : std::uint8_t {
    delivered_unsent,
    duplicate,
    outside_config,
    self_delivery,
    fifo,
    total_order,
    config_deliveries,
    moved_together,
    ring_membership,
    confchg_sequence,
    trans_subset,
    trans_exact,
    sending_config,
    guarantee,
    safe_delivery,
    liveness_ring,
    liveness_delivery,
    partition_progress,
    sync_progress,
    cmap_sync,
    cpg_delivery,
    cpg_safe,
    cpg_self_delivery,
    cpg_config,
    cpg_virtual_synchrony,
    cpg_reasons,
    quorum_agreement,
    event_budget,
    count
};
inline constexpr std::size_t violation_count = static_cast<std::size_t>(Violation::count);
std::string_view to_string(Violation v);

struct Finding {
    Violation kind;
    std::string detail;
};

struct CheckResult {
    std::array<std::uint64_t, violation_count> checks{};      // assertions evaluated, per kind
    std::array<std::uint64_t, violation_count> violations{};  // failed, per kind
    std::vector<Finding> findings;                            // the first few, with details
    bool ok() const;
    std::uint64_t total_checks() const;
    bool has(Violation v) const { return violations[static_cast<std::size_t>(v)] != 0; }
};

CheckResult check_trace(const Trace& trace);

}  // namespace totem::sim
