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
//                      delivered in a configuration that contains its origin.
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
