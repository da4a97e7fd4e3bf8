// Counters of the Totem core, published as stats.srp.* cmap keys by the node.
#pragma once

#include <array>
#include <cstdint>

namespace totem {

struct SrpStats {
    std::uint64_t orf_token_tx = 0, orf_token_rx = 0;
    std::uint64_t memb_merge_detect_tx = 0, memb_merge_detect_rx = 0;
    std::uint64_t memb_join_tx = 0, memb_join_rx = 0;
    std::uint64_t mcast_tx = 0, mcast_retx = 0, mcast_rx = 0;
    std::uint64_t memb_commit_token_tx = 0, memb_commit_token_rx = 0;
    std::uint64_t token_hold_cancel_tx = 0, token_hold_cancel_rx = 0;
    std::uint64_t operational_entered = 0, operational_token_lost = 0;
    std::uint64_t gather_entered = 0, gather_token_lost = 0;
    std::uint64_t commit_entered = 0, commit_token_lost = 0;
    std::uint64_t recovery_entered = 0, recovery_token_lost = 0;
    std::uint64_t consensus_timeouts = 0;
    std::uint64_t rx_msg_dropped = 0;  // malformed or refused datagrams
    std::uint64_t continuous_gather = 0;
    std::uint64_t continuous_sendmsg_failures = 0;
    std::uint64_t firewall_enabled_or_nic_failure = 0;
    std::uint64_t token_retransmits = 0;    // token re-sent by the retransmit timer
    std::uint64_t late_token_not_held = 0;  // the representative sent a late token on unheld
    std::uint64_t rtr_requested = 0;        // seqs this node put on the rtr list
    std::uint64_t pauses_detected = 0;
    std::uint64_t send_queue_full = 0;
    std::uint64_t rx_from_excluded = 0;  // JOIN/MERGE_DETECT/MCAST of a refused node
    std::uint64_t rx_join_stale = 0;  // JOINs older than what their sender is known to have reached
    std::uint64_t failures_forgotten = 0;  // failed-list entries of an interrupted round dropped
    std::uint64_t recovery_resend_left_to_other = 0;  // old messages another member re-sends
    std::array<std::uint64_t, 6> decode_errors{};     // by wire::DecodeError
    std::array<std::uint64_t, 14> gather_reasons{};   // by GatherReason
    std::uint32_t mtt_rx_token = 0;  // mean token rotation, ms (corosync: mtt_rx_token)
    std::uint32_t avg_token_workload = 0;
    std::uint32_t avg_backlog_calc = 0;
};

}  // namespace totem
